"""``make demo``: the main job end to end, on this machine, with nothing to set up.

Serves the project's own sample articles (``demo/pages``) from a loopback web server,
imports them in local mode — parse, enrich with the offline provider, publish as Markdown —
with live progress, and ends with a summary of what was made and where it is.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGES = Path(__file__).resolve().parent / "pages"
OUTPUT = Path("demo-output")


class QuietHandler(SimpleHTTPRequestHandler):
    """Serve the sample pages without logging every request."""

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the progress display is the output."""


def main() -> int:
    """Run the demo; return the process exit code."""
    handler = functools.partial(QuietHandler, directory=str(PAGES))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    urls = [f"{base}/{page.name}" for page in sorted(PAGES.glob("*.html"))]

    # Local mode, self-contained under demo-output/: SQLite, offline AI, Markdown files.
    OUTPUT.mkdir(exist_ok=True)
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite:///{OUTPUT}/kbm.sqlite3",
            "EXPORT_DIR": str(OUTPUT / "export"),
            "FETCH_ALLOW_PRIVATE": "1",  # the sample site is on loopback
            "AI_PROVIDER": os.environ.get("AI_PROVIDER", "local"),
            "PUBLISHER": os.environ.get("PUBLISHER", "markdown"),
        }
    )
    from services.cli import progress
    from services.cli.local import LocalRun
    from shared.settings import Settings

    print(f"Notion KB Manager demo: importing {len(urls)} sample articles from {base}\n")
    started = time.monotonic()
    with LocalRun(Settings.from_env(), threads=4) as pipeline:
        task_id = pipeline.submit(urls)
        task = progress.follow(lambda: pipeline.status(task_id), interval=0.2)
        failures = pipeline.failures(task_id)
    server.shutdown()
    progress.summary(task, failures)
    files = sorted((OUTPUT / "export").glob("*.md"))
    print(f"\n{len(files)} Markdown pages in {(OUTPUT / 'export').resolve()}:")
    for path in files:
        print(f"  {path.name}")
    print(f"Database: {(OUTPUT / 'kbm.sqlite3').resolve()}  ({time.monotonic() - started:.1f} s)")
    print("Next: read one of the pages above, or run the services with `make up`.")
    return 0 if task["status"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
