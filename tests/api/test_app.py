from __future__ import annotations

import logging
import os
import runpy
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from pydantic import SecretStr

from services.api.app import create_app, is_loopback
from shared.errors import ConfigurationError
from shared.settings import Settings

CONF = Path(__file__).resolve().parents[2] / "services" / "api" / "gunicorn.conf.py"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "gateway.internal"])
def test_the_app_refuses_to_bind_beyond_loopback_without_a_token(
    settings: Settings, host: str
) -> None:
    with pytest.raises(ConfigurationError, match=r"API_TOKEN is not set: refusing to bind"):
        create_app(settings.model_copy(update={"api_host": host}))


def test_the_app_binds_anywhere_with_a_token(settings: Settings) -> None:
    create_app(settings.model_copy(update={"api_host": "0.0.0.0", "api_token": SecretStr("t")}))


def test_a_blank_token_counts_as_no_token(settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match="API_TOKEN is not set"):
        create_app(settings.model_copy(update={"api_host": "0.0.0.0", "api_token": SecretStr(" ")}))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.5", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_no_token(host: str) -> None:
    assert is_loopback(host)


def test_building_the_app_connects_to_nothing(settings: Settings) -> None:
    # Both ports are closed: building must still succeed, only requests reach out.
    create_app(
        settings.model_copy(
            update={
                "redis_url": "redis://127.0.0.1:1/0",
                "database_url": "postgresql://postgres@127.0.0.1:1/nothing",
            }
        )
    )


def _conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    monkeypatch.delenv("API_TOKEN", raising=False)
    # The config points prometheus_client at a multiprocess folder: keep it to this test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(Path(tempfile.mkdtemp())))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_gunicorn_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _conf(monkeypatch, API_HOST="127.0.0.1", API_PORT="5123", GUNICORN_WORKERS="5")

    assert conf["bind"] == ["127.0.0.1:5123"]
    assert conf["workers"] == 5
    assert (conf["worker_class"], conf["timeout"], conf["graceful_timeout"]) == (
        "services.api.worker.GatedASGIWorker",
        30,
        30,
    )
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (20000, 2000)
    assert conf["accesslog"] == "-"
    assert conf["wsgi_app"] == "services.api.asgi:create_asgi_app()"


def test_gunicorn_defaults_to_two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)

    assert _conf(monkeypatch)["workers"] == 2


def test_gunicorn_refuses_an_open_bind_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _conf(monkeypatch, API_HOST="127.0.0.1")
    on_starting = conf["on_starting"]
    assert callable(on_starting)

    on_starting(SimpleNamespace(cfg=SimpleNamespace(bind=["127.0.0.1:5000", "[::1]:5000"])))
    with pytest.raises(SystemExit, match="API_TOKEN is not set"):
        on_starting(SimpleNamespace(cfg=SimpleNamespace(bind=["0.0.0.0:5000"])))


def test_gunicorn_accepts_an_open_bind_with_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _conf(monkeypatch, API_HOST="0.0.0.0", API_TOKEN="t")
    on_starting = conf["on_starting"]
    assert callable(on_starting)

    on_starting(SimpleNamespace(cfg=SimpleNamespace(bind=["0.0.0.0:5000"])))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gunicorn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONF)],
        env={**{k: v for k, v in os.environ.items() if k != "API_TOKEN"}, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_gunicorn_will_not_start_open_to_the_network_without_a_token() -> None:
    process = _gunicorn({"API_HOST": "0.0.0.0", "API_PORT": str(_free_port())})

    output, _ = process.communicate(timeout=30)

    assert process.returncode != 0
    assert b"API_TOKEN is not set: refusing to bind" in output


def test_gunicorn_serves_the_app_with_its_config(settings: Settings) -> None:
    port = _free_port()
    process = _gunicorn(
        {
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
            "GUNICORN_WORKERS": "1",
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
        }
    )
    try:
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/api/monitoring/health").status_code
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert status == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=40)
    assert b"GET /api/monitoring/health" in output


def test_the_gateway_logs_at_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    before = root.level
    try:
        _conf(monkeypatch, LOG_LEVEL="DEBUG")
        assert root.level == logging.DEBUG
        _conf(monkeypatch, LOG_LEVEL="warning")
        assert root.level == logging.WARNING
    finally:
        root.setLevel(before)
