"""``--at`` as a person writes it, and API times shown in the person's zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import click
import pytest

from services.cli.output import task_text
from services.cli.times import local, parse_at

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def paris(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import time

    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


def test_delays_times_of_day_and_iso_times_become_utc() -> None:
    assert parse_at("+10m", now=NOW) == "2026-12-01T10:10:00Z"
    assert parse_at("+2h", now=NOW) == "2026-12-01T12:00:00Z"
    # 08:30 in Paris has passed at 11:00 Paris time: the next one, tomorrow
    assert parse_at("08:30", now=NOW) == "2026-12-02T07:30:00Z"
    assert parse_at("12:15", now=NOW) == "2026-12-01T11:15:00Z"
    # Without a zone: the local one; with a zone: that one
    assert parse_at("2026-12-24T08:00", now=NOW) == "2026-12-24T07:00:00Z"
    assert parse_at("2026-12-24T08:00:00-05:00", now=NOW) == "2026-12-24T13:00:00Z"


@pytest.mark.parametrize("text", ["tomorrow", "25:00", "+10 weeks", ""])
def test_what_is_no_time_is_refused_with_examples(text: str) -> None:
    with pytest.raises(
        click.BadParameter, match=r"give 2026-12-24T08:00, 08:30 or \+10m|not a time of day"
    ):
        parse_at(text, now=NOW)


def test_api_times_are_shown_in_the_local_zone_with_its_name() -> None:
    assert local("2026-12-24T07:00:00.000Z") == "2026-12-24 08:00:00 CET"
    assert local(None) == "-"


def test_a_task_report_shows_its_times_in_the_local_zone() -> None:
    task = {
        "id": 5,
        "type": "pipeline",
        "status": "completed",
        "progress": 100.0,
        "total_items": 1,
        "completed_items": 1,
        "failed_items": 0,
        "cancelled_items": 0,
        "created_at": "2026-12-05T01:34:22.104Z",
        "started_at": "2026-12-05T01:34:22.139Z",
        "finished_at": None,
    }
    assert (
        "  created 2026-12-05 02:34:22 CET, started 2026-12-05 02:34:22 CET, finished -"
        in task_text(task).splitlines()
    )
