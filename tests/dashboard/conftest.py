"""Fixtures of the dashboard tests: the real stack, a page site and headless Chromium.

The browser is Debian's ``chromium`` driven by Playwright (its own browser download does
not work here). The stack is the end-to-end one: gunicorn gateway, parser, ai and notion
worker processes, the local AI provider and the Markdown publisher.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import REDIS_URL
from tests.stack import (
    KBM,
    Stack,
    running_stack,
    stack_env,
    worker_argv,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TOKEN = "dashboard-test-token"
#: How long the page may take to show what the stack did (the pipeline is quick here).
UI_TIMEOUT_MS = 45_000


# The stacks live as long as the module: workers left running would take the messages
# of later suites (same Redis db) and handle them with this stack's settings.
@pytest.fixture(scope="module")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start the gateway (no token) and parser, ai and notion worker processes."""
    root = tmp_path_factory.mktemp("dashboard-stack")
    commands = {
        "api": [*KBM, "api"],
        "parser": worker_argv("parser", 1, 4),
        "ai": worker_argv("ai", 1, 2),
        "notion": worker_argv("notion", 1, 2),
    }
    with running_stack(stack_env(database_url, REDIS_URL, root), commands, root) as running:
        yield running


@pytest.fixture(scope="module")
def guarded_stack(
    stack: Stack, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Start a second gateway that requires ``TOKEN``; ``stack``'s workers do the work."""
    root = tmp_path_factory.mktemp("dashboard-guarded")
    env = stack_env(database_url, REDIS_URL, root)
    env["API_TOKEN"] = TOKEN  # stack_env drops any token it is given: set it afterwards
    with running_stack(env, {"api": [*KBM, "api"]}, root) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Launch Debian's headless Chromium, or skip when it is not installed."""
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


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Return the folder the dashboard tests leave their screenshots in."""
    folder = Path(os.environ.get("DASHBOARD_SCREENSHOTS", "/tmp/kbm-dashboard-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
