"""The original launcher's ``--stats``: queue depths and the worker processes alive."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from services.cli.doctor import Doctor
from shared.monitoring import Monitor
from shared.settings import Settings
from tests.stack import running_stack, stack_env, worker_argv

ROOT = Path(__file__).resolve().parents[2]


def _registered_workers(redis_url: str, count: int, timeout: float = 60.0) -> list[str]:
    """Wait until ``count`` worker processes are alive and registered; return their ids."""
    monitor = Monitor(redis.Redis.from_url(redis_url))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = [worker["id"] for worker in monitor.worker_processes()]
        if len(ids) == count:
            return ids
        time.sleep(0.2)
    pytest.fail(f"{count} worker processes did not register within {timeout:g} s")


def test_stats_count_the_worker_processes_not_the_doctors_client_heartbeat(
    settings: Settings, tmp_path: Path
) -> None:
    # Given one housekeeping worker process, and `kbm doctor` run against the same Redis
    env = stack_env(settings.database_url, settings.redis_url, tmp_path)
    with running_stack(env, {"default": worker_argv("default", 1, 1)}, tmp_path):
        (worker_id,) = _registered_workers(settings.redis_url, 1)
        checks = {check.name: check for check in Doctor(settings, probe_seconds=15).run()}
        assert checks["Job enqueueing"].ok, checks["Job enqueueing"]
        # The doctor's probe broker sent heartbeats too: two brokers, one of them a client
        brokers = Monitor(redis.Redis.from_url(settings.redis_url)).workers()["workers"]
        assert sorted(broker["kind"] for broker in brokers) == ["client", "worker"]

        # When the original script shows its statistics
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "start_workers.py"), "--stats"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    # Then it counts and lists the worker process alone
    assert result.returncode == 0, result.stderr
    assert "1 workers with a heartbeat in the last minute" in result.stdout
    listed = [line.split()[0] for line in result.stdout.split("last minute\n", 1)[1].splitlines()]
    assert listed == [worker_id]
    # And the doctor counted the same one
    assert checks["Worker availability"].detail == "1 worker processes alive"
