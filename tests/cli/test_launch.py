"""The process launchers: the commands `kbm worker` and `kbm api` run."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dramatiq
import httpx
import psutil
import pytest
from click.testing import CliRunner

from services.cli import launch
from services.cli.launch import (
    SERVICES,
    Command,
    api_command,
    run_together,
    service_name,
    worker_command,
    worker_commands,
)
from services.cli.main import cli
from shared.broker import build_broker
from shared.errors import ConfigurationError
from shared.settings import Settings
from tests.stack import KBM, Stack, free_port, running_stack, stack_env


def test_a_malloc_arena_setting_of_the_operator_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    command = worker_command("parser", Settings.from_env(_env_file=None))
    assert "MALLOC_ARENA_MAX" not in command.env  # the process inherits the operator's 4
    assert "MALLOC_ARENA_MAX" not in worker_command("ai", Settings.from_env(_env_file=None)).env


def test_a_worker_command_runs_dramatiq_with_the_setup_callable_on_its_queue() -> None:
    settings = Settings.from_env(_env_file=None, worker_count_parsing=5, worker_poll_ms=50)
    command = worker_command("parser", settings, threads=2)
    assert command.argv[:5] == [
        sys.executable,
        "-m",
        "dramatiq",
        "services.parser.worker:setup",
        "services.parser.actors",
    ]
    # The parser's processes use one malloc arena (they extract one page at a time)
    assert command.env["MALLOC_ARENA_MAX"] == "1"
    # A service without middleware of its own runs the shared setup
    assert worker_command("ai", settings).argv[3:5] == ["shared.broker:setup", "services.ai.actors"]
    assert command.argv[command.argv.index("--queues") + 1] == "parsing"
    assert command.argv[command.argv.index("--processes") + 1] == "5"
    # Two threads for the prefetched messages, one spare for a message moved to the head
    assert command.argv[command.argv.index("--threads") + 1] == "3"
    assert command.env["dramatiq_queue_prefetch"] == "2"
    assert command.env["dramatiq_worker_timeout"] == "50"
    assert command.env["dramatiq_prom_port"] == "9191"
    assert command.metrics_address == "127.0.0.1:9191"
    # The metrics folder is made when the command starts, not when it is built.
    assert "dramatiq_prom_db" not in command.env
    env = command.prepare()
    try:
        assert env["dramatiq_prom_db"] == env["PROMETHEUS_MULTIPROC_DIR"]
        assert Path(env["dramatiq_prom_db"]).name.startswith("kbm-metrics-parser-")
    finally:
        command.cleanup()
    assert not Path(env["dramatiq_prom_db"]).exists()


def test_the_metrics_port_comes_from_the_setting_unless_the_option_gives_one() -> None:
    settings = Settings.from_env(_env_file=None, worker_metrics_port=9300)
    assert worker_command("ai", settings).env["dramatiq_prom_port"] == "9300"
    # `kbm worker --metrics-port` wins for that one command
    chosen = worker_command("ai", settings, metrics_port=9400)
    assert chosen.env["dramatiq_prom_port"] == "9400"
    assert chosen.metrics_address == "127.0.0.1:9400"


def test_kbm_up_gives_its_worker_commands_the_setting_and_the_next_ports() -> None:
    settings = Settings.from_env(_env_file=None, worker_metrics_port=9300)
    commands = worker_commands(settings)
    assert [command.name for command in commands] == [f"worker-{name}" for name in SERVICES]
    assert [command.env["dramatiq_prom_port"] for command in commands] == [
        "9300",
        "9301",
        "9302",
        "9303",
    ]


def test_two_stacks_on_one_host_get_distinct_ports_and_folders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # Given two `kbm up`-style launches with different WORKER_METRICS_PORT
    first = worker_commands(Settings.from_env(_env_file=None, worker_metrics_port=9191))
    second = worker_commands(Settings.from_env(_env_file=None, worker_metrics_port=9291))
    commands = [*first, *second]
    # When every worker command starts
    envs = [command.prepare() for command in commands]
    try:
        # Then no two share a port or a metrics folder, and each folder starts empty
        assert len({env["dramatiq_prom_port"] for env in envs}) == len(commands)
        folders = [Path(env["dramatiq_prom_db"]) for env in envs]
        assert len(set(folders)) == len(commands)
        assert all(folder.parent == tmp_path and not any(folder.iterdir()) for folder in folders)
    finally:
        for command in commands:
            command.cleanup()
    # And stopping removes exactly the folders made for them
    assert list(tmp_path.iterdir()) == []


def test_a_metrics_port_range_beyond_the_last_port_names_the_setting() -> None:
    settings = Settings.from_env(_env_file=None, worker_metrics_port=65534)
    with pytest.raises(ConfigurationError, match="WORKER_METRICS_PORT"):
        worker_commands(settings)


def test_a_launch_never_removes_a_folder_it_did_not_make_and_restarts_with_an_empty_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # Given the folders an older launcher (or another stack) left, one named by the environment
    others = [tmp_path / "kbm-metrics" / "parser-9191", tmp_path / "dramatiq-prometheus"]
    for folder in others:
        folder.mkdir(parents=True)
        (folder / "counter_123.db").write_bytes(b"another stack's metrics")
    monkeypatch.setenv("dramatiq_prom_db", str(others[1]))
    # And a worker command that notes what its folder holds, leaves a file there and exits
    starts = tmp_path / "starts.log"
    script = (
        "import os, sys; folder = os.environ['dramatiq_prom_db']; "
        f"open({str(starts)!r}, 'a').write(f'{{folder}} {{len(os.listdir(folder))}}\\n'); "
        "open(os.path.join(folder, f'counter_{os.getpid()}.db'), 'w').write('x'); "
        "sys.exit(3)"
    )
    worker = worker_command("parser", Settings.from_env(_env_file=None))
    worker = dataclasses.replace(worker, argv=[sys.executable, "-c", script])
    # When it runs under the launcher, which starts it again twice
    code = run_together([worker], grace=5, max_restarts=2, backoff=0.05)
    # Then every start had a new, empty folder of its own, and none is left
    assert code == 3
    seen = [line.split() for line in starts.read_text().splitlines()]
    assert len(seen) == 3
    assert [count for _, count in seen] == ["0", "0", "0"]
    assert len({folder for folder, _ in seen}) == 3
    assert not any(Path(folder).exists() for folder, _ in seen)
    # And the folders it did not make are untouched
    for folder in others:
        assert (folder / "counter_123.db").read_bytes() == b"another stack's metrics"


def test_kbm_up_prints_where_each_worker_command_serves_its_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[Command] = []

    def run(commands: list[Command]) -> int:
        started.extend(commands)
        return 0

    monkeypatch.setattr(launch, "run_together", run)
    runner = CliRunner()
    env = {"WORKER_METRICS_PORT": "9300", "WORKER_METRICS_HOST": "127.0.0.1"}
    result = runner.invoke(cli, ["up", "--no-migrate"], env=env)
    assert result.exit_code == 0, result.output
    for n, service in enumerate(SERVICES):
        assert f"worker-{service} metrics on http://127.0.0.1:{9300 + n}/metrics" in result.output
    ports = {c.name: c.env.get("dramatiq_prom_port") for c in started}
    assert ports["worker-parser"] == "9300"
    assert ports["worker-default"] == "9303"


def test_kbm_worker_metrics_port_option_wins_over_the_setting(
    monkeypatch: pytest.MonkeyPatch, db: str
) -> None:
    started: list[Command] = []
    monkeypatch.setattr(launch, "exec_command", started.append)
    runner = CliRunner()
    env = {"WORKER_METRICS_PORT": "9300", "DATABASE_URL": db}
    assert runner.invoke(cli, ["worker", "parser"], env=env).exit_code == 0
    assert (
        runner.invoke(cli, ["worker", "parser", "--metrics-port", "9400"], env=env).exit_code == 0
    )
    assert [command.env["dramatiq_prom_port"] for command in started] == ["9300", "9400"]
    assert runner.invoke(cli, ["worker", "parser", "--metrics-port", "0"]).exit_code == 2


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


def _wait_for_metrics(stack: Stack, name: str, port: int) -> httpx.Response:
    """Return the first answer of a worker command's metrics endpoint on loopback."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        except httpx.TransportError:
            if stack.processes[name].poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no metrics on 127.0.0.1:{port}\n{stack.tail_logs()}")
            time.sleep(0.2)


def _send_ping(settings: Settings) -> None:
    """Send ``kbm doctor``'s ping to the default queue (a message any default worker takes)."""
    broker = build_broker(settings)
    try:
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name="default", actor_name="ping", args=("metrics",), kwargs={}, options={}
        )
        broker.enqueue(message)
    finally:
        broker.close()


def _wait_for_sample(stack: Stack, port: int, sample: str) -> str:
    """Return a worker's metrics once they hold ``sample``; fail after 20 s."""
    deadline = time.monotonic() + 20
    text = ""
    while time.monotonic() < deadline:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        if sample in text:
            return text
        time.sleep(0.2)
    pytest.fail(f"no {sample} on 127.0.0.1:{port}:\n{text}\n{stack.tail_logs()}")


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
    # `kbm worker` becomes Dramatiq, so its metrics folder outlives it: keep it in tmp_path.
    env["TMPDIR"] = str(tmp_path)
    argv = [*KBM, "worker", "default", "-p", "1", "-t", "1", "--metrics-port", str(port)]
    with running_stack(env, {"default": argv}, tmp_path) as stack:
        # When its metrics endpoint answers on loopback
        answer = _wait_for_metrics(stack, "default", port)
        assert answer.status_code == 200

        # Then it listens on that address alone (or on every one, when told to)
        assert _listening_address(stack.processes["default"].pid, port) == bound
        other = _other_local_address()
        if other is not None:
            with socket.socket() as sock:
                sock.settimeout(2)
                reached = sock.connect_ex((other, port)) == 0
            assert reached == (bound == "0.0.0.0"), other


def test_a_real_worker_serves_metrics_on_the_configured_port_from_a_folder_of_its_own(
    settings: Settings, tmp_path: Path
) -> None:
    # Given `kbm worker default` with WORKER_METRICS_PORT set and no --metrics-port, and an
    # old fixed folder named by Dramatiq's variable, holding another stack's metrics
    port = free_port()
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    decoy = tmp_path / "dramatiq-prometheus"
    decoy.mkdir()
    (decoy / "counter_123.db").write_bytes(b"another stack's metrics")
    env = stack_env(settings.database_url, settings.redis_url, tmp_path)
    for name in ("WORKER_METRICS_HOST", "dramatiq_prom_host", "dramatiq_prom_port"):
        env.pop(name, None)
    env |= {"WORKER_METRICS_PORT": str(port), "TMPDIR": str(temporary)}
    env["dramatiq_prom_db"] = str(decoy)
    argv = [*KBM, "worker", "default", "-p", "1", "-t", "1"]
    with running_stack(env, {"default": argv}, tmp_path) as stack:
        # When its metrics endpoint answers and it has taken a message
        assert _wait_for_metrics(stack, "default", port).status_code == 200
        _send_ping(settings)
        # Then it serves that message's metrics on that port, on loopback only
        text = _wait_for_sample(stack, port, 'dramatiq_messages_total{actor_name="ping"')
        assert 'queue_name="default"' in text
        assert _listening_address(stack.processes["default"].pid, port) == "127.0.0.1"
        # From a new folder of its own; the old one is neither used nor emptied
        (folder,) = temporary.glob("kbm-metrics-*")
        assert folder.name.startswith("kbm-metrics-default-")
        assert any(path.suffix == ".db" for path in folder.iterdir())
    assert (decoy / "counter_123.db").read_bytes() == b"another stack's metrics"
    assert [path.name for path in decoy.iterdir()] == ["counter_123.db"]
