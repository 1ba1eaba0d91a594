"""The original launcher's ``--stats``: queue depths and the worker processes alive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

import pytest
import redis

from scripts import start_workers
from services.cli import launch
from services.cli.doctor import Doctor
from services.cli.launch import Command
from shared.monitoring import Monitor
from shared.pipeline import QUEUES
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

    # Then it counts and lists the worker process alone, with the queue it consumes
    assert result.returncode == 0, result.stderr
    assert "1 workers with a heartbeat in the last minute" in result.stdout
    lines = result.stdout.split("last minute\n", 1)[1].splitlines()
    assert lines[0].split()[:2] == [worker_id, "default"]
    # And it names the queues no worker consumes
    assert lines[1:] == [f"no worker consumes {queue}" for queue in ("parsing", "ai", "notion")]
    # And the doctor counted the same one
    assert checks["Worker availability"].detail == (
        "1 worker processes alive, but no worker consumes parsing, ai, notion"
    )


def test_stats_without_redis_is_one_line() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "start_workers.py"), "--stats"],
        env={**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: Redis at redis://127.0.0.1:1/0: ")


def test_each_queue_serves_its_metrics_on_its_own_port(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The original setups run one unit per queue on one host: no two may share a port
    started: list[Command] = []

    def replace_the_process(command: Command) -> NoReturn:
        started.append(command)
        raise SystemExit(0)

    monkeypatch.setattr(launch, "exec_command", replace_the_process)
    monkeypatch.setenv("DATABASE_URL", db)
    monkeypatch.setenv("WORKER_METRICS_PORT", "9300")
    for argv in (
        *(["--queue", queue] for queue in QUEUES),
        ["--queue", "ai", "--metrics-port", "9400"],
    ):
        with pytest.raises(SystemExit):
            start_workers.main(argv)
    ports = [command.env["dramatiq_prom_port"] for command in started]
    assert ports == ["9300", "9301", "9302", "9303", "9400"]


def test_the_original_test_script_runs_the_doctors_checks(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "test_async_system.py"), "--json"],
        env={
            **os.environ,
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "DATABASE_URL": f"sqlite:///{tmp_path}/kbm.db",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)}
    # The original six, under their names, and Redis's failure named with its fix
    assert {
        "Redis connection",
        "Queue creation",
        "Worker availability",
        "Job enqueueing",
        "Task service",
        "Queue statistics",
    } <= set(checks)
    assert not checks["Redis connection"]["ok"]
    assert "REDIS_URL" in checks["Redis connection"]["fix"]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--workers", "3"], "--workers needs --queue"),
        (["--queue", "parsing", "--workers", "0"], "expected 1 or more, got 0"),
    ],
)
def test_options_that_would_be_ignored_are_refused(argv: list[str], said: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "start_workers.py"), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert said in result.stderr
