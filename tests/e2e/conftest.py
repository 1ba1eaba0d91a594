"""The whole stack as real processes: gunicorn gateway and one Dramatiq command per service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import REDIS_URL
from tests.stack import (
    KBM,
    Stack,
    running_stack,
    stack_env,
    worker_argv,
)

#: Admission control of the end-to-end stack: 20 parse messages in flight at most.
FEEDING = {"QUEUE_MAX_IN_FLIGHT": "20", "TASK_MAX_IN_FLIGHT": "20", "API_MAX_URLS": "5000"}


# The stack lives as long as this package's tests: its workers, left running, would take
# the messages of later suites (same Redis db) and hold the database they truncate.
@pytest.fixture(scope="package")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start the gateway under gunicorn and parser, ai and notion worker processes."""
    root = tmp_path_factory.mktemp("stack")
    commands = {
        "api": [*KBM, "api"],
        "parser": worker_argv("parser", 1, 4),
        "ai": worker_argv("ai", 1, 2),
        "notion": worker_argv("notion", 1, 2),
    }
    # Small feeding caps, so that tasks of a few dozen items are fed in several batches.
    env = stack_env(database_url, REDIS_URL, root, **FEEDING)
    with running_stack(env, commands, root) as running:
        yield running
