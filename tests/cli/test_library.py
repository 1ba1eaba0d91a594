"""``kbm links`` and ``kbm show`` against the real gateway served over HTTP."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from services.cli.main import cli, main
from shared.models import StageRun, Status, Task, TaskItem
from tests.shared.search_fixtures import LIBRARY, add_library


@pytest.fixture()
def library(db: str) -> dict[str, int]:
    """Store four links in English, German and Russian; return their ids by slug."""
    return add_library(**LIBRARY)


def _kbm(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _table_ids(text: str) -> list[int]:
    rows = text.splitlines()[2:-1]  # headers, rule, ..., the count
    return [int(row.split()[0]) for row in rows]


def test_kbm_links_lists_ids_titles_categories_and_tags(
    served_gateway: str, library: dict[str, int]
) -> None:
    code, text = _kbm("links")

    assert code == 0, text
    assert text.splitlines()[0].split() == ["id", "title", "category", "tags"]
    assert _table_ids(text) == sorted(library.values(), reverse=True)
    assert "Rooftop solar panels keep getting cheaper  Science" in text
    assert "energy, solar" in text
    assert text.splitlines()[-1] == "1-4 of 4 links"


def test_kbm_links_searches_and_filters(served_gateway: str, library: dict[str, int]) -> None:
    code, text = _kbm("links", "Haus")
    assert code == 0, text
    assert _table_ids(text) == [library["haeuser"]]

    code, text = _kbm("links", "--tag", "ENERGY", "--category", "science")
    assert _table_ids(text) == [library["solar"]]

    code, text = _kbm("links", "--status", "published", "--json")
    page = json.loads(text)
    assert [link["id"] for link in page["links"]] == [library["solar"]]
    assert page["links"][0]["page"] == "export/solar.md"

    code, text = _kbm("links", "--limit", "1", "--offset", "1")
    assert _table_ids(text) == [library["haeuser"]]
    assert text.splitlines()[-1] == "2-2 of 4 links"

    code, text = _kbm("links", "no", "such", "words")
    assert text.splitlines()[-1] == "0-0 of 0 links"


def test_kbm_links_refuses_an_unknown_status(served_gateway: str) -> None:
    code, text = _kbm("links", "--status", "archived")
    assert code == 2
    assert "'archived' is not one of" in text


def test_kbm_show_reports_a_link_and_each_stage(
    served_gateway: str, library: dict[str, int]
) -> None:
    link_id = library["solar"]
    task = Task.create(type="pipeline", stages=["parse", "enrich", "publish"], total_items=1)
    item = TaskItem.create(task=task, link=link_id, stage="publish", status=Status.COMPLETED)
    for stage, attempts in (("parse", 2), ("enrich", 1), ("publish", 1)):
        StageRun.create(item=item, stage=stage, status=Status.COMPLETED, attempts=attempts)

    code, text = _kbm("show", str(link_id))

    assert code == 0, text
    lines = text.splitlines()
    assert lines[0] == f"Link {link_id} (published): Rooftop solar panels keep getting cheaper"
    assert "  category:  Science" in lines
    assert "  tags:      energy, solar" in lines
    assert "  sentiment: neutral (+0.00)" in lines
    assert "  page:      export/solar.md (markdown)" in lines
    assert "    Solar panel prices fell again." in lines
    assert f"  parse    completed, 2 attempts (task {task.id})" in lines
    assert f"  publish  completed, 1 attempt (task {task.id})" in lines

    code, text = _kbm("show", str(link_id), "--json")
    assert json.loads(text)["stages"]["enrich"]["status"] == "completed"


def test_kbm_show_of_a_link_never_run_says_so(served_gateway: str, library: dict[str, int]) -> None:
    code, text = _kbm("show", str(library["chess"]))
    assert code == 0, text
    assert "  page:      not published" in text
    assert text.rstrip().endswith("stages:\n  none run yet")


def test_kbm_show_of_an_unknown_link_is_one_line(
    served_gateway: str,
    db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "argv", ["kbm", "show", "999"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: GET /api/links/999: 404 Not Found: link 999 does not exist"
    ]
