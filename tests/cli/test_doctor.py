"""kbm doctor: each check says what it saw and, when it fails, how to fix it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from click.testing import CliRunner
from pydantic import SecretStr

from services.cli.doctor import FIXES, Check, Doctor, _redacted
from services.cli.main import cli
from shared.middleware.registry import FETCH_GUARD
from shared.monitoring import RECONCILER_LAST_RUN, RECONCILER_LATE_S, Monitor
from shared.settings import Settings
from tests.stack import Stack, running_stack, stack_env, worker_argv


def _by_name(settings: Settings) -> dict[str, tuple[bool, str, str]]:
    checks = Doctor(settings, probe_seconds=0.5).run()
    return {check.name: (check.ok, check.detail, check.fix) for check in checks}


def test_a_stack_without_workers_fails_the_worker_checks_with_their_fixes(
    settings: Settings,
) -> None:
    checks = _by_name(settings)
    assert checks["Redis connection"][0]
    assert checks["Queue creation"][0]
    assert checks["Database and migrations"][0]
    assert checks["Task service"][0]
    assert checks["Queue statistics"][0]
    assert checks["AI provider"][0]
    ok, _, fix = checks["Worker availability"]
    assert (ok, "kbm worker" in fix) == (False, True)
    ok, _, fix = checks["Job enqueueing"]
    assert (ok, fix) == (False, "start the housekeeping worker: `kbm worker default`")
    # No parser runs: the doctor says so, and shows its own (test) environment, labelled;
    # private addresses open outside production are a warning
    ok, detail, fix = checks["Fetch guard"]
    assert (ok, fix) == (True, FIXES["Fetch guard (development)"])
    assert detail.startswith(
        "no parser worker is running; this doctor's environment: FETCH_ALLOW_PRIVATE=1"
    )


def test_an_unreachable_redis_fails_its_checks_without_hiding_the_others(
    settings: Settings,
) -> None:
    checks = _by_name(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    ok, detail, fix = checks["Redis connection"]
    assert (ok, fix) == (False, "start Redis or set REDIS_URL (e.g. redis://localhost:6379/0)")
    assert "ConnectionError" in detail
    assert checks["Database and migrations"][0]


def test_no_secret_appears_in_any_check(settings: Settings) -> None:
    secret = "s3cr3t-value"
    secured = settings.model_copy(
        update={
            "api_token": SecretStr(secret),
            "notion_token": None,
            "openai_api_key": None,
            "redis_url": f"redis://:{secret}@127.0.0.1:1/0",
        }
    )
    text = repr(Doctor(secured, probe_seconds=0.2).run())
    assert secret not in text


def test_passwords_are_taken_out_of_urls() -> None:
    assert _redacted("postgresql://kbm:pw@db:5432/kbm") == "postgresql://kbm:***@db:5432/kbm"
    assert _redacted("redis://localhost:6379/0") == "redis://localhost:6379/0"


def test_a_running_housekeeping_worker_takes_the_ping_and_nothing_is_dead_lettered(
    settings: Settings, tmp_path: Path
) -> None:
    # Given a real `kbm worker default` on the test Redis and database
    env = stack_env(settings.database_url, settings.redis_url, tmp_path)
    with running_stack(env, {"default": worker_argv("default", 1, 1)}, tmp_path):
        client = redis.Redis.from_url(settings.redis_url)
        deadline = time.monotonic() + 30
        while not client.zcard("dramatiq:__heartbeats__") and time.monotonic() < deadline:
            time.sleep(0.2)
        # When the doctor runs its checks
        checks = _by_name_within(settings, probe_seconds=15)

    # Then the ping was taken, and the probe left no dead letter behind
    assert checks["Job enqueueing"][:2] == (True, "a default worker took a ping within 15 s")
    # And the queues no worker consumes are named, with the commands that consume them
    assert checks["Worker availability"] == (
        False,
        "1 worker processes alive, but no worker consumes parsing, ai, notion",
        "start the missing workers: `kbm worker parser`, `kbm worker ai`, `kbm worker notion`",
    )
    assert client.zcard("dramatiq:default.XQ") == 0


def _by_name_within(settings: Settings, probe_seconds: float) -> dict[str, tuple[bool, str, str]]:
    checks = Doctor(settings, probe_seconds=probe_seconds).run()
    return {check.name: (check.ok, check.detail, check.fix) for check in checks}


def _parsers_reporting(
    redis_url: str, count: int, stacks: list[Stack], timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Wait until exactly ``count`` live parser processes report their fetch guard."""
    monitor = Monitor(redis.Redis.from_url(redis_url))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = [e for e in monitor.worker_entries("parsing") if FETCH_GUARD in e]
        if len(entries) == count:
            return entries
        for stack in stacks:
            if any(process.poll() is not None for process in stack.processes.values()):
                pytest.fail(f"a parser command exited\n{stack.tail_logs()}")
        time.sleep(0.2)
    pytest.fail(
        f"{count} parser processes did not report\n" + "".join(s.tail_logs() for s in stacks)
    )


def _pids_of(stack: Stack) -> set[int]:
    """Return the pids of a stack's worker processes (children of its commands)."""
    return {
        child.pid
        for process in stack.processes.values()
        for child in psutil.Process(process.pid).children(recursive=True)
    }


def test_the_doctor_reports_the_fetch_guard_of_the_running_parsers_not_its_own(
    settings: Settings, tmp_path: Path
) -> None:
    # Given two parser processes started with FETCH_ALLOW_PRIVATE=1
    env = stack_env(settings.database_url, settings.redis_url, tmp_path, FETCH_ALLOW_PRIVATE="1")
    with running_stack(env, {"parser": worker_argv("parser", 2, 1)}, tmp_path) as stack:
        _parsers_reporting(settings.redis_url, 2, [stack])
        # When a doctor whose own environment blocks private addresses checks
        own = settings.model_copy(
            update={"fetch_allow_private": False, "kbm_environment": "production"}
        )
        check = Doctor(own).fetch_guard()

    # Then it reports what the workers apply: private addresses reachable
    assert (check.ok, check.fix) == (False, FIXES["Fetch guard"])
    assert check.detail.startswith("2 parser workers: FETCH_ALLOW_PRIVATE=1, private")
    assert "FETCH_MAX_BYTES=10485760" in check.detail
    assert "doctor's environment" not in check.detail


@pytest.mark.parametrize(
    ("environment", "ok", "warning", "fix"),
    [
        ("development", True, True, FIXES["Fetch guard (development)"]),
        ("production", False, False, FIXES["Fetch guard"]),
    ],
)
def test_private_addresses_open_warn_in_development_and_fail_in_production(
    settings: Settings, environment: str, ok: bool, warning: bool, fix: str
) -> None:
    # Given FETCH_ALLOW_PRIVATE=1 (as local pages need) and no parser worker running
    own = settings.model_copy(update={"fetch_allow_private": True, "kbm_environment": environment})

    check = Doctor(own).fetch_guard()

    assert (check.ok, check.warning, check.fix) == (ok, warning, fix)
    assert "FETCH_ALLOW_PRIVATE=1, private and loopback addresses can be reached" in check.detail


def test_a_guard_that_refuses_private_addresses_passes_without_a_warning(
    settings: Settings,
) -> None:
    own = settings.model_copy(update={"fetch_allow_private": False})

    check = Doctor(own).fetch_guard()

    assert (check.ok, check.warning, check.fix) == (True, False, "")


def test_parser_workers_that_disagree_are_named_with_their_values(
    settings: Settings, tmp_path: Path
) -> None:
    # Given one parser process allowing private addresses and one refusing them
    (tmp_path / "allowing").mkdir()
    (tmp_path / "refusing").mkdir()
    allowing_env = stack_env(
        settings.database_url, settings.redis_url, tmp_path, FETCH_ALLOW_PRIVATE="1"
    )
    refusing_env = stack_env(
        settings.database_url, settings.redis_url, tmp_path, FETCH_ALLOW_PRIVATE="0"
    )
    parser = {"parser": worker_argv("parser", 1, 1)}
    with (
        running_stack(allowing_env, parser, tmp_path / "allowing") as allowing,
        running_stack(refusing_env, parser, tmp_path / "refusing") as refusing,
    ):
        entries = _parsers_reporting(settings.redis_url, 2, [allowing, refusing])
        names = {e["pid"]: f"{e['host']}:{e['pid']}" for e in entries}
        (allowing_pid,) = _pids_of(allowing) & set(names)
        (refusing_pid,) = _pids_of(refusing) & set(names)

        # When the doctor checks the fetch guard
        disagreeing = Doctor(settings).fetch_guard()
        # And again once the allowing one has stopped (SIGTERM to its main process only,
        # as an orchestrator sends it: a second one to the worker would kill it at once)
        main = allowing.processes["parser"]
        os.kill(main.pid, signal.SIGTERM)
        main.wait(timeout=30)
        _parsers_reporting(settings.redis_url, 1, [refusing])
        agreeing = Doctor(settings).fetch_guard()

    # Then it says they disagree, naming each value and the workers using it
    assert (disagreeing.ok, disagreeing.fix) == (False, FIXES["Fetch guard (workers disagree)"])
    assert disagreeing.detail.startswith("2 parser workers disagree: FETCH_ALLOW_PRIVATE=")
    assert f"1 on {names[allowing_pid]}" in disagreeing.detail
    assert f"0 on {names[refusing_pid]}" in disagreeing.detail
    assert "FETCH_MAX_BYTES" not in disagreeing.detail  # only what differs
    # And with only the refusing worker left, the guard is on
    assert agreeing.ok, agreeing
    assert agreeing.detail.startswith("1 parser worker: on, private, loopback and metadata")


def test_kbm_doctor_marks_a_warning_shows_its_fix_and_still_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks = [
        Check("Redis connection", True, "redis://127.0.0.1:6379/0 (1.0 ms)"),
        Check("Fetch guard", True, "FETCH_ALLOW_PRIVATE=1", "unset it", warning=True),
    ]
    monkeypatch.setattr(Doctor, "run", lambda self: checks)

    result = CliRunner().invoke(cli, ["doctor"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "ok   Redis connection: redis://127.0.0.1:6379/0 (1.0 ms)",
        "warn Fetch guard: FETCH_ALLOW_PRIVATE=1",
        "     fix: unset it",
        "",
        "2 of 2 checks passed (1 with a warning)",
    ]


def test_the_scheduler_check_reads_when_the_reconciler_last_ran(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    doctor = Doctor(settings)
    # A stack younger than a minute has not ticked: a warning, with the fix
    never = doctor.scheduler()
    assert (never.ok, never.warning, never.fix) == (True, True, FIXES["Scheduler"])
    assert never.detail.startswith("the reconciler has not run yet")
    client.set(RECONCILER_LAST_RUN, f"{time.time() - 42:.3f}")
    assert doctor.scheduler() == Check("Scheduler", True, "the reconciler last ran 42 s ago")
    client.set(RECONCILER_LAST_RUN, f"{time.time() - RECONCILER_LATE_S - 60:.3f}")
    late = doctor.scheduler()
    assert (late.ok, late.fix) == (False, FIXES["Scheduler"])
    assert late.detail == (
        f"the reconciler last ran {RECONCILER_LATE_S + 60} s ago; it runs every minute"
    )
