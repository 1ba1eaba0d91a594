"""kbm doctor: each check says what it saw and, when it fails, how to fix it."""

from __future__ import annotations

import time
from pathlib import Path

import redis
from pydantic import SecretStr

from services.cli.doctor import Doctor, _redacted
from shared.settings import Settings
from tests.stack import running_stack, stack_env, worker_argv


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
    # The test stack allows private addresses: the doctor says so.
    assert checks["Fetch guard"][0] is False


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

    # Then the worker checks pass, and the probe left no dead letter behind
    assert checks["Worker availability"][0], checks["Worker availability"]
    assert checks["Job enqueueing"][:2] == (True, "a default worker took a ping within 15 s")
    assert client.zcard("dramatiq:default.XQ") == 0


def _by_name_within(settings: Settings, probe_seconds: float) -> dict[str, tuple[bool, str, str]]:
    checks = Doctor(settings, probe_seconds=probe_seconds).run()
    return {check.name: (check.ok, check.detail, check.fix) for check in checks}
