"""LOG_LEVEL reaches every process's logging: workers, the scheduler, gunicorn, ``kbm``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from services.cli import launch
from services.cli.launch import Command, api_command, scheduler_command
from services.cli.main import cli
from shared.settings import Settings
from tests.stack import KBM, Stack, free_port, running_stack, stack_env

READY = "Worker process is ready for action."


@pytest.fixture()
def logging_restored() -> Iterator[None]:
    """Put back the root and httpx loggers' levels that a ``kbm`` invocation changes."""
    root, httpx = logging.getLogger(), logging.getLogger("httpx")
    levels = root.level, httpx.level
    yield
    root.setLevel(levels[0])
    httpx.setLevel(levels[1])


def _wait_for_line(stack: Stack, name: str, line: str, timeout: float = 60.0) -> str:
    """Return the log of command ``name`` once ``line`` appears in it."""
    log = stack.logs / f"{name}.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if line in text:
            return text
        if stack.processes[name].poll() is not None:
            pytest.fail(f"{name} exited\n{stack.tail_logs()}")
        time.sleep(0.2)
    pytest.fail(f"no {line!r} from {name} within {timeout:g} s\n{stack.tail_logs()}")


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_a_worker_started_with_log_level_debug_logs_debug_lines_and_info_does_not(
    settings: Settings, tmp_path: Path, level: str
) -> None:
    # Given `kbm worker default` started with LOG_LEVEL
    env = stack_env(settings.database_url, settings.redis_url, tmp_path, LOG_LEVEL=level)
    env["TMPDIR"] = str(tmp_path)
    argv = [*KBM, "worker", "default", "-p", "1", "-t", "1", "--metrics-port", str(free_port())]
    with running_stack(env, {"default": argv}, tmp_path) as stack:
        # When its worker process is ready
        text = _wait_for_line(stack, "default", READY)

    # Then it logged debug lines (its worker process's own among them) only at DEBUG
    assert ("[DEBUG]" in text) == (level == "DEBUG"), text
    assert ("[dramatiq.WorkerProcess(0)] [DEBUG] Starting worker threads" in text) == (
        level == "DEBUG"
    )


def test_the_setup_callable_applies_the_level_to_a_worker_started_without_kbm(
    settings: Settings, tmp_path: Path
) -> None:
    # Given Dramatiq's own command, as a unit file may run it: no -v, LOG_LEVEL=DEBUG
    env = stack_env(settings.database_url, settings.redis_url, tmp_path, LOG_LEVEL="DEBUG")
    env |= {
        "dramatiq_prom_host": "127.0.0.1",
        "dramatiq_prom_port": str(free_port()),
        "dramatiq_prom_db": str(tmp_path / "metrics"),
    }
    argv = [sys.executable, "-m", "dramatiq", "shared.broker:setup", "services.scheduler.actors"]
    argv += ["--queues", "default", "-p", "1", "-t", "1"]
    with running_stack(env, {"default": argv}, tmp_path) as stack:
        text = _wait_for_line(stack, "default", READY)

    # Then the launcher logged at INFO, the worker process at DEBUG from the setup on
    assert "[dramatiq.MainProcess] [DEBUG]" not in text
    assert "[dramatiq.WorkerProcess(0)] [DEBUG] Starting worker threads" in text


@pytest.mark.parametrize(
    "argv",
    [["-v", "worker", "parser"], ["worker", "parser", "-v"], ["worker", "parser", "--verbose"]],
)
def test_kbm_verbose_hands_debug_to_the_worker_command_wherever_it_stands(
    monkeypatch: pytest.MonkeyPatch, logging_restored: None, argv: list[str], db: str
) -> None:
    started: list[Command] = []
    monkeypatch.setattr(launch, "exec_command", started.append)
    result = CliRunner().invoke(cli, argv, env={"LOG_LEVEL": "WARNING", "DATABASE_URL": db})
    assert result.exit_code == 0, result.output
    (command,) = started
    assert command.env["LOG_LEVEL"] == "DEBUG"
    assert "-v" in command.argv
    assert logging.getLogger().level == logging.DEBUG


def test_without_verbose_the_commands_started_take_log_level(
    monkeypatch: pytest.MonkeyPatch, logging_restored: None, db: str
) -> None:
    started: list[Command] = []
    monkeypatch.setattr(launch, "exec_command", started.append)
    for argv in (["worker", "ai"], ["scheduler"], ["api"]):
        result = CliRunner().invoke(cli, argv, env={"LOG_LEVEL": "warning", "DATABASE_URL": db})
        assert result.exit_code == 0, result.output
    assert [command.env["LOG_LEVEL"] for command in started] == ["WARNING"] * 3
    assert not any("-v" in command.argv for command in started)
    assert logging.getLogger().level == logging.WARNING


def test_the_launchers_pass_the_level_to_periodiq_and_gunicorn() -> None:
    debug = Settings.from_env(_env_file=None, log_level="DEBUG")
    scheduler = scheduler_command(debug)
    assert (scheduler.argv[-1], scheduler.env) == ("-v", {"LOG_LEVEL": "DEBUG"})
    api = api_command(Settings.from_env(_env_file=None, log_level="ERROR")).argv
    assert api[api.index("--log-level") + 1] == "error"


def _kbm(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "LOG_LEVEL"}
    environment |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'kbm.sqlite3'}", **env}
    return subprocess.run(
        [*KBM, *argv],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_kbm_command_logs_at_log_level_and_at_debug_with_verbose(tmp_path: Path) -> None:
    # Given a fresh SQLite database, migrated at the default level: INFO lines, no DEBUG
    info = _kbm(tmp_path, "migrate")
    assert info.returncode == 0, info.stderr
    assert "[shared.migrations] [INFO] applied migration 1" in info.stderr
    assert "[DEBUG]" not in info.stderr
    # When migrated again with -v: the statements peewee logs at DEBUG show
    debug = _kbm(tmp_path, "migrate", "-v")
    assert debug.returncode == 0, debug.stderr
    assert "[peewee] [DEBUG]" in debug.stderr
    # And at WARNING neither shows, while the command still prints its answer
    quiet = _kbm(tmp_path, "migrate", LOG_LEVEL="WARNING")
    assert (quiet.returncode, quiet.stderr) == (0, "")
    assert "up to date" in quiet.stdout


def test_a_bad_log_level_stops_kbm_naming_the_variable(tmp_path: Path) -> None:
    result = _kbm(tmp_path, "migrate", LOG_LEVEL="loud")
    assert result.returncode == 1
    assert "error: invalid setting LOG_LEVEL" in result.stderr
    assert "'loud'" in result.stderr
