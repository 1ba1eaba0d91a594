"""Local mode with a dead link: short retries, one line per retry, bars that keep their total."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from services.cli.local import local_settings
from services.cli.progress import stage_progress
from shared.settings import Settings
from tests.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "demo" / "pages"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Say nothing."""


@pytest.fixture()
def sample_site() -> Iterator[str]:
    """Serve the demo's sample pages on loopback; yield the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(PAGES)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_local_mode_retries_every_stage_after_the_local_delays() -> None:
    services = Settings.from_env(
        retry_delays=(0.0, 30.0, 300.0), parsing_retry_delays=(60.0,), local_retry_delays=(2.0,)
    )

    local = local_settings(services)

    assert [local.retry_delay(queue, 1) for queue in ("parsing", "ai", "notion")] == [2.0] * 3
    assert local_settings(Settings.from_env()).retry_delays == (1.0, 5.0)


def test_a_dead_link_fails_in_seconds_with_one_line_per_retry_and_no_traceback(
    sample_site: str, tmp_path: Path
) -> None:
    # Given five sample pages and one link whose port answers nothing
    dead = f"http://127.0.0.1:{free_port()}/gone.html"
    links = [f"{sample_site}/{page.name}" for page in sorted(PAGES.glob("*.html"))] + [dead]
    (tmp_path / "links.txt").write_text("\n".join(links) + "\n")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path}/kbm.sqlite3",
        "EXPORT_DIR": str(tmp_path / "export"),
        "FETCH_ALLOW_PRIVATE": "1",
        "AI_PROVIDER": "local",
        "PUBLISHER": "markdown",
        "LOCAL_RETRY_DELAYS": "0.2,0.4",
        "LOG_LEVEL": "INFO",
        "REDIS_URL": "redis://127.0.0.1:1/0",  # local mode needs no Redis
        "PYTHONPATH": str(ROOT),
    }
    started = time.monotonic()

    # When they run in local mode
    result = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "run", "--local", "-f", "links.txt"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Then the dead link failed after its retries, in seconds, each retry told in one line
    took = time.monotonic() - started
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Task 1 failed: 5 completed, 1 failed" in out
    assert took < 60, f"took {took:.0f} s"
    assert "Traceback" not in out
    retries = [line for line in out.splitlines() if "retrying in" in line]
    assert len(retries) == 3, out
    for line in retries:
        # Dramatiq waits between half the delay and the delay: 0.1 to 0.4 s here
        assert re.fullmatch(rf"parse {dead}: retrying in 0\.[1-4] s: connection refused", line)
    assert f"parse {dead}: gave up after attempt 4: connection refused" in out
    # And the bars kept the task's six items as their total
    assert "5/6" in out and "1 ended earlier" in out


def test_a_finished_stage_is_done_with_every_item_and_keeps_the_total() -> None:
    task = {
        "total_items": 6,
        "finished_at": None,
        "stage_counts": {
            "parse": {"completed": 4, "failed": 1, "running": 1},
            "enrich": {"completed": 3, "ended_before": 1},
        },
    }

    assert stage_progress(task, "parse") == (5, 4, "1 running, 1 failed")
    assert stage_progress(task, "enrich") == (4, 3, "1 ended earlier")
    assert stage_progress(task | {"finished_at": "2026-12-04T10:00:00Z"}, "enrich")[0] == 6
