"""The chaos suite's stack: every service as real processes, tuned for quick recovery.

Time limits of 15 s, a 5 s heartbeat timeout with frequent maintenance, a 2 s reconciler
grace and at most 4 deliveries per stage keep each scenario within a minute or two.
"""

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

CHAOS_SETTINGS = {
    "PARSING_TIMEOUT": "15",
    "AI_TIMEOUT": "15",
    "NOTION_TIMEOUT": "15",
    "RETRY_DELAYS": "0,0.5,1",
    "RECONCILE_GRACE": "2",
    "HEARTBEAT_TIMEOUT_MS": "5000",
    "MAINTENANCE_CHANCE": "200000",
    "MAX_DELIVERIES": "4",
}


@pytest.fixture(scope="module")
def chaos_stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start the gateway, every service's workers and the scheduler."""
    root = tmp_path_factory.mktemp("chaos")
    commands = {
        "api": [*KBM, "api"],
        "parser": worker_argv("parser", 2, 4),
        "ai": worker_argv("ai", 1, 4),
        "notion": worker_argv("notion", 1, 4),
        "default": worker_argv("default", 1, 2),
        "scheduler": [*KBM, "scheduler"],
    }
    env = stack_env(database_url, REDIS_URL, root, **CHAOS_SETTINGS)
    with running_stack(env, commands, root) as running:
        yield running
