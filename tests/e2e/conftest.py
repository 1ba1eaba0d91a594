"""The whole stack as real processes: gunicorn gateway and one Dramatiq command per service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import REDIS_URL
from tests.stack import KBM, PageSite, Stack, load_expected, running_stack, serve_pages, stack_env


@pytest.fixture(scope="session")
def expected_pages() -> dict[str, dict[str, str]]:
    """Return the benchmark's expected article text per page id."""
    return load_expected()


@pytest.fixture(scope="session")
def site(expected_pages: dict[str, dict[str, str]]) -> Iterator[PageSite]:
    """Serve every article page at ``/page/<id>`` on 127.0.0.1."""
    with serve_pages(expected_pages) as served:
        yield served


@pytest.fixture(scope="session")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start the gateway under gunicorn and parser, ai and notion worker processes."""
    root = tmp_path_factory.mktemp("stack")
    commands = {
        "api": [*KBM, "api"],
        "parser": [*KBM, "worker", "parser", "--processes", "1", "--threads", "4"],
        "ai": [*KBM, "worker", "ai", "--processes", "1", "--threads", "2"],
        "notion": [*KBM, "worker", "notion", "--processes", "1", "--threads", "2"],
    }
    with running_stack(stack_env(database_url, REDIS_URL, root), commands, root) as running:
        yield running
