"""What a person types wrong gets one clear line: a missing URL file, a time that passed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from wsgiref.simple_server import make_server

import click
import pytest
from pydantic import SecretStr

from services.cli.client import GatewayClient, GatewayError
from services.cli.output import created_text, items_text
from services.cli.times import refuse_past
from shared.settings import Settings
from tests.conftest import _QuietHandler, _ThreadedWSGIServer

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _kbm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{cwd}/kbm.db"}
    # Nothing answers here: the input must be refused before anything is reached.
    env |= {"API_URL": "http://127.0.0.1:1", "REDIS_URL": "redis://127.0.0.1:1/0"}
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", [["run", "--local"], ["submit"]])
def test_a_missing_url_file_is_one_line_naming_it(command: list[str], tmp_path: Path) -> None:
    result = _kbm(*command, "-f", "reading-list.txt", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr == "Error: cannot read reading-list.txt: No such file or directory\n"
    assert not (tmp_path / "kbm.db").exists()  # nothing was started


def test_a_url_file_that_is_not_text_is_one_line_too(tmp_path: Path) -> None:
    (tmp_path / "links.txt").write_bytes(b"\xff\xfe\x00binary")

    result = _kbm("submit", "-f", "links.txt", cwd=tmp_path)

    assert (result.returncode, result.stderr) == (
        1,
        "Error: cannot read links.txt: it is not UTF-8 text\n",
    )


def test_a_time_that_has_passed_is_refused_with_what_to_do() -> None:
    with pytest.raises(click.BadParameter, match=r"'2020-01-01T00:00' is in the past .*--now"):
        refuse_past("2020-01-01T00:00:00Z", "2020-01-01T00:00", now=NOW)
    refuse_past("2026-12-01T10:00:00Z", "+0m", now=NOW)  # now is not the past
    refuse_past("2026-12-24T08:00:00Z", "2026-12-24T08:00", now=NOW)


def test_submit_at_a_past_time_is_refused_unless_now_is_given(tmp_path: Path) -> None:
    refused = _kbm("submit", "--at", "2020-01-01T00:00", "https://example.com/a", cwd=tmp_path)
    assert refused.returncode == 2
    assert "'2020-01-01T00:00' is in the past" in refused.stderr
    assert "add --now to start the task at once" in refused.stderr

    # With --now it goes on to submit (here: to a gateway that is not running)
    accepted = _kbm(
        "submit", "--at", "2020-01-01T00:00", "--now", "https://example.com/a", cwd=tmp_path
    )
    assert accepted.returncode == 1
    assert "cannot reach the gateway" in accepted.stderr


def test_an_items_error_is_shown_whole_with_its_cause() -> None:
    error = (
        "parse: FetchError: GET https://example.com/a/rather/long/path/to/an/article.html "
        "failed: ConnectError: [Errno 111] Connection refused"
    )
    items = [
        {"id": 1, "link_id": 1, "stage": "publish", "status": "completed", "attempts": 1},
        {
            "id": 2,
            "link_id": 2,
            "stage": "parse",
            "status": "failed",
            "attempts": 4,
            "url": "https://example.com/a/rather/long/path/to/an/article.html",
            "error": error,
        },
    ]

    text = items_text(items, width=80)

    lines = text.splitlines()
    assert lines[0].split() == ["item", "link", "stage", "status", "attempts", "url"]
    assert lines[3].split()[:5] == ["2", "2", "parse", "failed", "4"]
    assert all(len(line) <= 80 for line in lines[4:])
    assert lines[4].startswith("      error: parse: FetchError")
    assert " ".join(line.strip() for line in lines[4:]) == f"error: {error}"


def test_the_created_line_counts_links_and_says_which_urls_were_one() -> None:
    created = {"task_id": 44, "total_items": 1, "status": "queued"}
    assert created_text(created, 1) == "task 44 queued with 1 item"
    assert created_text(created, 4) == (
        "task 44 queued with 1 item; 3 of the 4 URLs given are a link given before "
        "(the same once normalised)"
    )
    later = {"task_id": 9, "total_items": 2, "status": "pending", "run_at": None}
    assert created_text(later, 2) == "task 9 scheduled for - with 2 items (kbm cancel 9 to drop it)"


@pytest.mark.parametrize("command", [["run", "--local"], ["submit"]])
def test_urls_that_cannot_be_submitted_are_named_with_their_line(
    command: list[str], tmp_path: Path
) -> None:
    (tmp_path / "reading-list.txt").write_text(
        "# my list\nhttps://example.com/a\n\nnot a url\nexample.org/page\n"
    )

    result = _kbm(*command, "ftp://example.net/x", "-f", "reading-list.txt", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: not a URL to submit, nothing was sent:",
        "  argument 1: 'ftp://example.net/x' scheme must be http or https, got 'ftp'",
        "  reading-list.txt line 4: 'not a url' contains whitespace or control characters",
        "  reading-list.txt line 5: 'example.org/page' has no scheme: write it with https:// "
        "(or http://)",
    ]
    assert not (tmp_path / "kbm.db").exists()  # nothing was started


def test_a_token_the_gateway_refuses_says_which_setting_to_fix(settings: Settings) -> None:
    from services.api.app import create_app

    secured = settings.model_copy(
        update={"api_allowed_hosts": ("127.0.0.1",), "api_token": SecretStr("the-right-one")}
    )
    server = make_server(
        "127.0.0.1",
        0,
        create_app(secured),
        server_class=_ThreadedWSGIServer,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        for token in (None, "a-wrong-one"):
            with pytest.raises(GatewayError) as refused:
                GatewayClient(url, token).task(1)
            assert str(refused.value) == (
                f"the gateway at {url} refused the token: set API_TOKEN to the gateway's "
                "(or to a read token for commands that only read)"
            )
    finally:
        server.shutdown()
        server.server_close()
