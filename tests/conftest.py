"""Fixtures on the real stack: a PostgreSQL database and a Redis db of the test run's own.

PostgreSQL: a fresh database per test session (dropped at the end), tables truncated
before each test. Redis: db 15 (``TEST_REDIS_URL`` overrides), flushed before each test.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import falcon.testing
import psycopg2
import pytest
import redis
from psycopg2 import sql

from shared.db import bind_database, database
from shared.migrations import migrate
from shared.models import ALL_MODELS
from shared.settings import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.stack import PageSite

ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _admin() -> psycopg2.extensions.connection:
    connection = psycopg2.connect(ADMIN_URL)
    connection.autocommit = True
    return connection


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """Create a PostgreSQL database for this test session; drop it afterwards."""
    name = f"kbm_test_{uuid.uuid4().hex[:10]}"
    connection = _admin()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()
    base = ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    bind_database(url)
    migrate()
    yield url
    database.obj.close_all()
    connection = _admin()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    connection.close()


@pytest.fixture()
def db(database_url: str) -> Iterator[str]:
    """Bind the models to the session database with every table emptied."""
    bind_database(database_url)
    tables = ", ".join(model._meta.table_name for model in ALL_MODELS)
    with database.connection_context():
        database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    yield database_url
    if not database.is_closed():
        database.close()


@pytest.fixture()
def redis_url() -> Iterator[str]:
    """Return the test Redis URL with its db flushed."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as ex:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {ex}")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture()
def settings(db: str, redis_url: str, tmp_path: Path) -> Settings:
    """Return settings for the test stack: loopback fetching, short retry delays."""
    return Settings.from_env(
        database_url=db,
        redis_url=redis_url,
        fetch_allow_private=True,
        retry_delays=(0.0, 0.2, 0.4),
        export_dir=tmp_path / "export",
        ai_provider="local",
        publisher="markdown",
        api_token=None,
        # Falcon's test client sends this Host; without a token only loopback names and
        # the allowed ones are served.
        api_allowed_hosts=(falcon.testing.helpers.DEFAULT_HOST,),
    )


@pytest.fixture()
def pages_dir() -> Path:
    """Return the folder of real article pages, or skip when it is absent."""
    folder = SHARED_DATA / "pages"
    if not (folder / "expected.json").exists():
        pytest.skip(f"article pages not found at {folder}")
    return folder


# The whole stack's suites (e2e, chaos, dashboard) share one page site per session.
@pytest.fixture(scope="session")
def expected_pages() -> dict[str, dict[str, str]]:
    """Return the benchmark's expected article text per page id."""
    from tests.stack import load_expected  # tests.stack imports this module

    return load_expected()


@pytest.fixture(scope="session")
def site(expected_pages: dict[str, dict[str, str]]) -> Iterator[PageSite]:
    """Serve every article page at ``/page/<id>`` on 127.0.0.1."""
    from tests.stack import serve_pages

    with serve_pages(expected_pages) as served:
        yield served


#: Debian's Chromium, driven by Playwright (its own browser download does not work here).
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: How long a page may take to show what the stack did (the pipeline is quick here).
UI_TIMEOUT_MS = 45_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Launch Debian's headless Chromium, or skip when it is not installed.

    One per module: Playwright's synchronous API runs an event loop on the main thread
    while it is open, and a later test's ``asyncio.run`` would find it running.
    """
    if not CHROMIUM.exists():
        missing = f"no Chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; .ci/run must install it")
        pytest.skip(missing)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """Open a desktop-sized page whose script errors and CSP refusals fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    opened = context.new_page()
    problems: list[str] = []

    def on_console(message: Any) -> None:
        # Chromium logs every error answer; the API's (401, 400) are expected and shown
        # in the page, the page's own files are checked by ``on_response``. Anything
        # else logged as an error (a script error, a CSP refusal) is a bug of the page.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def on_response(response: Any) -> None:
        if response.status >= 400 and "/api/" not in response.url:
            problems.append(f"{response.status} for {response.url}")

    opened.on("console", on_console)
    opened.on("response", on_response)
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield opened
    context.close()
    assert problems == [], problems


class _ThreadedWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


@pytest.fixture()
def served_gateway(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Serve the gateway (no token) on a loopback port; point ``kbm`` at it (``API_URL``)."""
    from services.api.app import create_app

    app = create_app(settings.model_copy(update={"api_allowed_hosts": ("127.0.0.1",)}))
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadedWSGIServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("API_URL", url)
    monkeypatch.delenv("API_TOKEN", raising=False)
    yield url
    server.shutdown()
    server.server_close()
