"""Import: a 100,000-row library export through the real gateway, timed, with its memory.

The gateway runs under gunicorn with its production configuration (one process). An
export of ``BENCH_IMPORT_ROWS`` links (default 100,000) in ``BENCH_IMPORT_FORMAT``
(default ``pocket-csv``; any of ``tests/imports/make_fixtures.py``: ``netscape``,
``karakeep``, ``omnivore``…, with quotes, commas, non-ASCII titles, tags, duplicate and
refused rows) is posted to ``POST /api/imports`` as ``kbm import`` posts it. The
figures: the time until the report is answered (every link and item written, the
task fed), rows per second, and the gateway process's peak resident set (``VmHWM``)
before and after. The same file is then imported again (nothing new: idempotent).

``BENCH_REDIS_URL`` (default db 14) and ``TEST_POSTGRES_ADMIN_URL`` say where; a fresh
database is created and dropped.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from bench.harness import REDIS_URL, bench_env, flush_redis, fresh_database, gateway, report
from tests.imports.make_fixtures import WRITERS, library

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
#: Any format of ``tests/imports/make_fixtures.py`` (pocket-csv, netscape, karakeep…).
FORMAT = os.environ.get("BENCH_IMPORT_FORMAT", "pocket-csv")


def peak_rss_mb(pid: int) -> float:
    """Return a process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def gateway_workers(url: str) -> list[int]:
    """Return the pids of gunicorn's worker processes (the children of the arbiter)."""
    port = url.rsplit(":", 1)[1]
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "gunicorn" in cmdline and port in cmdline:
            return [child.pid for child in process.children()]
    raise RuntimeError("gunicorn's arbiter not found")


def post(url: str, path: Path) -> tuple[float, dict[str, object]]:
    """Post an export as ``kbm import`` does; return the seconds taken and the report."""
    size = path.stat().st_size
    with path.open("rb") as body:
        start = time.perf_counter()
        response = httpx.post(
            f"{url}/api/imports",
            content=body,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            timeout=900,
        )
        elapsed = time.perf_counter() - start
    response.raise_for_status()
    data: dict[str, object] = response.json()["data"]
    return elapsed, data


def main() -> None:
    """Run the benchmark and print its figures."""
    with tempfile.TemporaryDirectory() as folder:
        file_name, writer = WRITERS[FORMAT]
        export = Path(folder) / file_name
        export.write_bytes(writer(library(ROWS)))
        size_mb = export.stat().st_size / 1_048_576
        flush_redis()
        with fresh_database() as database_url:
            env = bench_env(database_url, REDIS_URL=REDIS_URL)
            with gateway(env, processes=1) as url:
                (pid,) = gateway_workers(url)
                idle = peak_rss_mb(pid)
                first_s, first = post(url, export)
                after_first = peak_rss_mb(pid)
                again_s, again = post(url, export)
                after_again = peak_rss_mb(pid)
        flush_redis()
    rows = int(first["rows_read"])  # type: ignore[call-overload]
    known = f"{again['already_known']:,}"
    report(
        f"import of a {ROWS:,}-link {first['format_label']} ({size_mb:.1f} MB) through the gateway",
        [
            ("rows read", f"{rows:,}"),
            ("links new / refused", f"{first['links_new']:,} / {first['refused']}"),
            ("items in the one task", f"{first['items_queued']:,} (task {first['task_id']})"),
            ("time to the report", f"{first_s:.1f} s"),
            ("rows per second", f"{rows / first_s:,.0f}"),
            ("gateway peak RSS idle", f"{idle:.0f} MB"),
            ("gateway peak RSS after import", f"{after_first:.0f} MB"),
            ("same file again", f"{again_s:.1f} s, {again['links_new']} new, {known} known"),
            ("task of the second import", str(again["task_id"])),
            ("gateway peak RSS after both", f"{after_again:.0f} MB"),
        ],
    )


if __name__ == "__main__":
    main()
