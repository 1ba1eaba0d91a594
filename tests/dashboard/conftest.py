"""Fixtures of the dashboard tests: the real stack, a page site and headless Chromium.

The browser is Debian's ``chromium`` driven by Playwright (its own browser download does
not work here). The stack is the end-to-end one: gunicorn gateway, parser, ai and notion
worker processes, the local AI provider and the Markdown publisher.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

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
    pass

TOKEN = "dashboard-test-token"


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
def screenshots() -> Path:
    """Return the folder the dashboard tests leave their screenshots in."""
    folder = Path(os.environ.get("DASHBOARD_SCREENSHOTS", "/tmp/kbm-dashboard-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
