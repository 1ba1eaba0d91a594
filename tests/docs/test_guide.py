"""The guide's runnable snippets, run against a real stack.

A snippet is a fenced block whose info string is ``bash test`` or ``python test`` in
``docs/guide.md`` or ``docs/guide/*.md`` (the guide's "How the examples are tested"
explains the convention). Every snippet runs in document order against one stack of the
module's own: PostgreSQL and Redis, the gateway under gunicorn and real parser, ai,
notion and default worker processes, with pages and one RSS feed ($FEED_URL) served
from loopback; no scheduler runs, so a snippet that needs the minute tick sends its actor
by hand. Shell snippets run with ``bash -euo pipefail``, Python snippets with the
virtualenv's interpreter; both see the stack's environment and ``.venv/bin`` on
``PATH``, in the project's root folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import REDIS_URL
from tests.feeds.site import Entry, feed_site, rss
from tests.stack import (
    KBM,
    PageSite,
    Stack,
    load_expected,
    running_stack,
    serve_pages,
    stack_env,
    worker_argv,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide.md"
GUIDE_FILES = [GUIDE, *sorted((ROOT / "docs" / "guide").glob("*.md"))]
#: A runnable snippet: a fence whose info string is the language and the word ``test``.
FENCE = re.compile(
    r"^```(?P<language>bash|python) test[ \t]*\n(?P<code>.*?)^```[ \t]*$", re.M | re.S
)
#: One snippet may take this long; the whole module stays well under two minutes.
SNIPPET_TIMEOUT_S = 45.0
#: Worker commands the stack runs, each sending heartbeats once its process has booted.
#: ``default`` takes doctor's ping and starts tasks scheduled for later (``--at``).
WORKER_SERVICES = ("parser", "ai", "notion", "default")
#: Where the feed server serves the guide's feed ($FEED_URL).
FEED_PATH = "/feed.xml"


@dataclass(frozen=True)
class Snippet:
    """One runnable block of the guide."""

    path: Path
    line: int
    language: str
    code: str

    @property
    def name(self) -> str:
        """Return where the snippet is, as ``file:line``."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def find_snippets(paths: list[Path]) -> list[Snippet]:
    """Return every marked snippet of ``paths``, in document order."""
    found = []
    for path in paths:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Snippet(path, line, match["language"], match["code"]))
    return found


SNIPPETS = find_snippets(GUIDE_FILES)


def test_the_guide_has_runnable_snippets() -> None:
    # A guide whose markers were lost would otherwise pass with nothing tested.
    assert GUIDE.exists(), f"{GUIDE} is missing"
    assert SNIPPETS, f"no ```bash test or ```python test block in {GUIDE_FILES}"


def _wait_for_workers(stack: Stack, timeout: float = 30.0) -> None:
    """Wait until every worker command sends heartbeats (doctor's checks need them)."""
    deadline = time.monotonic() + timeout
    alive = 0
    with stack.http() as client:
        while time.monotonic() < deadline:
            workers = client.get("/api/monitoring/workers").json()["data"]["workers"]
            alive = sum(1 for worker in workers if not worker["gateway"])
            if alive >= len(WORKER_SERVICES):
                return
            time.sleep(0.2)
    pytest.fail(f"{alive} of {len(WORKER_SERVICES)} workers alive\n{stack.tail_logs()}")


def guide_feed(site: PageSite, page_ids: list[str]) -> bytes:
    """Return the RSS document of $FEED_URL: two entries linking to served article pages."""
    return rss(
        [
            Entry(site.url(f"/page/{page_ids[3]}"), "First entry", guid="urn:guide:1"),
            Entry(site.url(f"/page/{page_ids[4]}"), "Second entry", guid="urn:guide:2"),
        ],
        title="The guide's feed",
    )


def snippet_env(
    env: dict[str, str], site: PageSite, page_ids: list[str], feed_url: str
) -> dict[str, str]:
    """Return the snippets' environment: the stack's, the virtualenv first, page URLs."""
    return {
        **env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "ARTICLE_URL": site.url(f"/page/{page_ids[0]}"),
        "OTHER_ARTICLE_URL": site.url(f"/page/{page_ids[1]}"),
        "SLOW_ARTICLE_URL": site.url(f"/slow/page/{page_ids[2]}"),
        "BROKEN_URL": site.url("/fail500/always"),
        "FEED_URL": feed_url,
    }


@pytest.fixture(scope="module")
def guide_env(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, dict[str, str]]]:
    """Start the stack the snippets run against; return it and the snippets' environment."""
    expected = load_expected()
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    root = tmp_path_factory.mktemp("guide")
    commands = {"api": [*KBM, "api"]} | {
        service: worker_argv(service, 1, 2) for service in WORKER_SERVICES
    }
    # Scheduled tasks are started by the housekeeping worker: the stack must run one.
    assert commands["default"][len(KBM) : len(KBM) + 2] == ["worker", "default"]
    page_ids = sorted(expected)
    try:
        with (
            serve_pages(expected) as site,
            feed_site() as feeds,
            running_stack(stack_env(database_url, REDIS_URL, root), commands, root) as stack,
        ):
            feed_url = feeds.serve(FEED_PATH, guide_feed(site, page_ids))
            _wait_for_workers(stack)
            yield stack, snippet_env(stack.env, site, page_ids, feed_url)
    finally:
        client.flushdb()
        client.close()


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[snippet.name for snippet in SNIPPETS])
def test_snippet_runs(
    snippet: Snippet, guide_env: tuple[Stack, dict[str, str]], tmp_path: Path
) -> None:
    stack, env = guide_env
    if snippet.language == "python":
        script = tmp_path / "snippet.py"
        script.write_text(snippet.code, encoding="utf-8")
        argv = [sys.executable, str(script)]
    else:
        argv = ["bash", "-euo", "pipefail", "-c", snippet.code]
    try:
        done = subprocess.run(
            argv,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=SNIPPET_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as ex:
        pytest.fail(f"{snippet.name} ran past {SNIPPET_TIMEOUT_S:g} s: {ex.output}")
    assert done.returncode == 0, (
        f"{snippet.name} exited with {done.returncode}\n{snippet.code}\n"
        f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}\n{stack.tail_logs(20)}"
    )


def test_every_snippet_left_the_stack_healthy(guide_env: tuple[Stack, dict[str, str]]) -> None:
    stack, _ = guide_env
    response = httpx.get(f"{stack.api_url}/api/monitoring/health", timeout=5)
    assert response.status_code == 200, response.text
