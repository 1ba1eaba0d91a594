"""``make demo``: the main job end to end, on this machine, with nothing to set up.

Serves the project's own sample articles (``demo/pages``) from a loopback web server on
a fixed port (``DEMO_PORT``, 8765: the same links on every run), imports them in local
mode — parse, enrich with the offline provider, publish as Markdown — with live
progress, and ends with a summary of what was made and where it is.
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
#: The sample site's port, the same on every run so that its links stay the same.
DEFAULT_PORT = 8765
PORT_VARIABLE = "DEMO_PORT"


class QuietHandler(SimpleHTTPRequestHandler):
    """Serve the sample pages without logging every request."""

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the progress display is the output."""


def serve_pages(port: int) -> ThreadingHTTPServer:
    """Serve the sample pages on loopback ``port``, or on a free port if it is taken.

    The port is part of each sample link's URL, and a URL is a link's identity: on the
    same port, every run imports the same five links again instead of five new ones.
    """
    handler = functools.partial(QuietHandler, directory=str(PAGES))
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as ex:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        print(
            f"note: port {port} is taken ({ex.strerror}); serving the samples on port "
            f"{server.server_address[1]}, so they are new links in {OUTPUT}/ "
            f"(set {PORT_VARIABLE} to choose another port)"
        )
        return server


def main() -> int:
    """Run the demo; return the process exit code."""
    try:
        port = int(os.environ.get(PORT_VARIABLE) or DEFAULT_PORT)
    except ValueError:
        print(f"error: {PORT_VARIABLE} must be a port number (got {os.environ[PORT_VARIABLE]!r})")
        return 2
    server = serve_pages(port)
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
    from rich.console import Console

    from services.cli import progress
    from services.cli.local import LocalRun
    from shared.settings import Settings

    print(f"Notion KB Manager demo: importing {len(urls)} sample articles from {base}\n")
    started = time.monotonic()
    console = Console()
    notify = progress.notifier(console)
    with LocalRun(Settings.from_env(), threads=4, notify=notify) as pipeline:
        task_id = pipeline.submit(urls)
        task = progress.follow(lambda: pipeline.status(task_id), interval=0.2, console=console)
        failures = pipeline.failures(task_id)
    server.shutdown()
    progress.summary(task, failures, console)
    files = sorted((OUTPUT / "export").glob("*.md"))
    print(f"\n{len(files)} Markdown pages in {(OUTPUT / 'export').resolve()}:")
    for path in files:
        print(f"  {path.name}")
    print(f"Database: {(OUTPUT / 'kbm.sqlite3').resolve()}  ({time.monotonic() - started:.1f} s)")
    print("Next: read one of the pages above, or run the services with `make up`.")
    return 0 if task["status"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
