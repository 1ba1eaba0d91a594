"""The process launchers: the commands `kbm worker` and `kbm api` run."""

from __future__ import annotations

import contextlib
import socket
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from services.cli.launch import api_command, service_name, worker_command
from shared.settings import Settings
from tests.stack import KBM, free_port, running_stack, stack_env


def test_a_worker_command_runs_dramatiq_with_the_setup_callable_on_its_queue() -> None:
    settings = Settings.from_env(_env_file=None, worker_count_parsing=5, worker_poll_ms=50)
    command = worker_command("parser", settings, threads=2)
    assert command.argv[:5] == [
        sys.executable,
        "-m",
        "dramatiq",
        "shared.broker:setup",
        "services.parser.actors",
    ]
    assert command.argv[command.argv.index("--queues") + 1] == "parsing"
    assert command.argv[command.argv.index("--processes") + 1] == "5"
    # Two threads for the prefetched messages, one spare for a message moved to the head
    assert command.argv[command.argv.index("--threads") + 1] == "3"
    assert command.env["dramatiq_queue_prefetch"] == "2"
    assert command.env["dramatiq_worker_timeout"] == "50"
    assert command.env["dramatiq_prom_port"] == "9191"
    assert command.env["dramatiq_prom_db"] == command.env["PROMETHEUS_MULTIPROC_DIR"]
    assert command.fresh_dirs == (command.env["dramatiq_prom_db"],)


def test_worker_commands_on_one_host_get_their_own_metrics_port_and_folder() -> None:
    settings = Settings.from_env(_env_file=None)
    parser = worker_command("parser", settings, metrics_port=9191)
    notion = worker_command("notion", settings, metrics_port=9193)
    assert parser.env["dramatiq_prom_port"] != notion.env["dramatiq_prom_port"]
    assert parser.env["dramatiq_prom_db"] != notion.env["dramatiq_prom_db"]


def test_queue_names_are_accepted_like_the_original_start_workers_script() -> None:
    assert service_name("parsing") == "parser"
    assert service_name("default") == "default"
    with pytest.raises(ValueError, match="unknown service or queue 'images'"):
        service_name("images")


def test_the_api_command_serves_the_configured_app_under_gunicorn() -> None:
    settings = Settings.from_env(_env_file=None, api_host="127.0.0.1", api_port=5055)
    command = api_command(settings)
    # The app is gunicorn.conf.py's: no second name of it on the command line.
    assert not any("create_app" in arg for arg in command.argv)
    assert command.argv[-2:] == ["--bind", "127.0.0.1:5055"]


def test_running_together_restarts_a_command_that_exits_and_gives_up_on_one_that_keeps_exiting(
    tmp_path: Path,
) -> None:
    from services.cli.launch import Command, run_together

    # Given a command that appends a line to a file on every start and exits with 3
    starts = tmp_path / "starts"
    quitter = Command(
        "quitter",
        [
            sys.executable,
            "-c",
            f"open({str(starts)!r}, 'a').write('start\\n'); raise SystemExit(3)",
        ],
        {},
    )
    sleeper = Command("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], {})
    # When it runs beside a long-lived one
    code = run_together([sleeper, quitter], grace=5, max_restarts=2, backoff=0.05)
    # Then it was started again twice, and on its third exit everything stopped with its code
    assert code == 3
    assert starts.read_text().splitlines() == ["start"] * 3


def test_a_worker_command_serves_its_metrics_on_the_configured_host() -> None:
    settings = Settings.from_env(_env_file=None, worker_metrics_host="0.0.0.0")
    assert worker_command("ai", settings).env["dramatiq_prom_host"] == "0.0.0.0"
    default = Settings.from_env(_env_file=None)
    assert worker_command("ai", default).env["dramatiq_prom_host"] == "127.0.0.1"


def _listening_address(pid: int, port: int) -> str | None:
    """Return the address a process or one of its children listens on at ``port``."""
    process = psutil.Process(pid)
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            for connection in member.net_connections(kind="tcp"):
                if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                    return str(connection.laddr.ip)
    return None


def _other_local_address() -> str | None:
    """Return an IPv4 address of this machine beyond loopback, if it has one."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return str(address.address)
    return None


@pytest.mark.parametrize(("configured", "bound"), [(None, "127.0.0.1"), ("0.0.0.0", "0.0.0.0")])
def test_a_real_worker_serves_metrics_on_loopback_only_unless_told_otherwise(
    settings: Settings, tmp_path: Path, configured: str | None, bound: str
) -> None:
    # Given `kbm worker default` with WORKER_METRICS_HOST unset (or set for containers)
    port = free_port()
    env = stack_env(settings.database_url, settings.redis_url, tmp_path)
    for name in ("WORKER_METRICS_HOST", "dramatiq_prom_host", "dramatiq_prom_db"):
        env.pop(name, None)
    if configured:
        env["WORKER_METRICS_HOST"] = configured
    argv = [*KBM, "worker", "default", "-p", "1", "-t", "1", "--metrics-port", str(port)]
    with running_stack(env, {"default": argv}, tmp_path) as stack:
        # When its metrics endpoint answers on loopback
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                if stack.processes["default"].poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"no metrics on 127.0.0.1:{port}\n{stack.tail_logs()}")
                time.sleep(0.2)
        assert answer.status_code == 200

        # Then it listens on that address alone (or on every one, when told to)
        assert _listening_address(stack.processes["default"].pid, port) == bound
        other = _other_local_address()
        if other is not None:
            with socket.socket() as sock:
                sock.settimeout(2)
                reached = sock.connect_ex((other, port)) == 0
            assert reached == (bound == "0.0.0.0"), other
