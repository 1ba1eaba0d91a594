"""The housekeeping actors on ``default``: their time limits come from DEFAULT_TIMEOUT."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Declares the actors as a worker process does (the setup callable, then the module) and
# prints each one's options: in a process of its own, since declaring them changes the
# global broker, and periodiq's middleware must be on it first.
DECLARE = """
import json
import dramatiq
from shared.broker import setup
setup(stub=True)
import services.scheduler.actors  # noqa: F401
actors = dramatiq.get_broker().actors.values()
print(json.dumps({
    actor.actor_name: [actor.queue_name, actor.options.get("time_limit"),
                       actor.options.get("max_retries")]
    for actor in actors if actor.queue_name == "default"
}))
"""


def _default_actors(**env: str) -> dict[str, list[object]]:
    """Return each ``default`` actor's [queue, time limit, retries], as a worker declares it."""
    inherited = {name: value for name, value in os.environ.items() if name != "DEFAULT_TIMEOUT"}
    result = subprocess.run(
        [sys.executable, "-c", DECLARE],
        env={**inherited, "DATABASE_URL": "sqlite:///:memory:", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    declared: dict[str, list[object]] = json.loads(result.stdout.splitlines()[-1])
    return declared


@pytest.mark.parametrize(("setting", "limit_ms"), [(None, 180_000), ("42", 42_000)])
def test_every_housekeeping_job_runs_within_the_default_timeout(
    setting: str | None, limit_ms: int
) -> None:
    # Given DEFAULT_TIMEOUT unset (180 s) or set, when a worker declares the actors
    declared = _default_actors(**({"DEFAULT_TIMEOUT": setting} if setting else {}))
    # Then every job, the periodic tick included, has that time limit
    jobs = {
        "tick",
        "reconcile_items",
        "start_scheduled_task",
        "poll_due_feeds",
        "run_recurring_jobs",
        "cleanup_old",
    }
    assert jobs <= set(declared)
    assert {name: declared[name][1] for name in jobs} == dict.fromkeys(jobs, limit_ms)
    # The doctor's probe is no job: it keeps its short limit whatever the setting
    assert declared["ping"][1] == 10_000
    # And the housekeeping actors keep their own retries
    assert declared["start_scheduled_task"][2] == 3
    assert declared["reconcile_items"][2] == 0
