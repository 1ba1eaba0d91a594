"""Recurring jobs: parsed from settings, due at their time in their zone, caught up once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.errors import ConfigurationError
from shared.schedule import RecurringJob, Schedule
from shared.settings import Settings

PARIS = ZoneInfo("Europe/Paris")


def test_jobs_and_zone_are_read_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECURRING_JOBS", "republish_failed=0 3 * * *;  export = 30  3 * * 1 ")
    monkeypatch.setenv("SCHEDULER_TZ", "Europe/Paris")

    schedule = Settings.from_env().schedule()

    assert schedule.jobs == (
        RecurringJob("republish_failed", "0 3 * * *"),
        RecurringJob("export", "30 3 * * 1"),
    )
    assert schedule.zone == PARIS
    assert Settings.from_env(recurring_jobs="", scheduler_tz="UTC").schedule() == Schedule()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("republish_failed", "expected kind=cron"),
        ("nap=0 3 * * *", "unknown job 'nap' (known: export, republish_failed)"),
        ("export=0 3 * *", "not a cron expression of five fields"),
        ("export=61 3 * * *", "not a cron expression"),
        ("export=0 3 * * *;export=0 4 * * *", "export is listed twice"),
    ],
)
def test_a_bad_job_list_stops_the_settings_naming_the_variable_and_the_problem(
    text: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match="RECURRING_JOBS") as raised:
        Settings.from_env(recurring_jobs=text)
    assert message in str(raised.value)


def test_an_unknown_zone_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match=r"SCHEDULER_TZ: .*expected an IANA time zone"):
        Settings.from_env(scheduler_tz="Mars/Olympus")


def test_a_job_is_due_at_its_local_time_and_stored_in_utc() -> None:
    job = RecurringJob("export", "0 3 * * *")
    # 03:00 in Paris in December is 02:00 UTC
    before = datetime(2026, 12, 2, 1, 59, tzinfo=UTC)
    at = datetime(2026, 12, 2, 2, 0, 20, tzinfo=UTC)
    ran_yesterday = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

    assert job.due(before, ran_yesterday, PARIS) is None
    assert job.due(at, ran_yesterday, PARIS) == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert job.due(at, datetime(2026, 12, 2, 2, 0, tzinfo=UTC), PARIS) is None


def test_ticks_missed_while_the_scheduler_was_down_are_caught_up_once() -> None:
    job = RecurringJob("republish_failed", "0 * * * *")  # hourly
    last_run = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    back_up = datetime(2026, 12, 1, 13, 17, tzinfo=UTC)  # five runs were missed

    due = job.due(back_up, last_run, ZoneInfo("UTC"))

    assert due == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert due is not None
    assert job.due(back_up + timedelta(minutes=1), due, ZoneInfo("UTC")) is None


def test_a_job_never_run_waits_for_its_next_time_instead_of_running_at_the_first_tick() -> None:
    job = RecurringJob("export", "30 3 * * *")
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert job.due(now, None, ZoneInfo("UTC")) is None
    assert job.latest_time(now, ZoneInfo("UTC")) == datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
