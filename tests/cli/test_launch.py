"""The process launchers: the commands `kbm worker` and `kbm api` run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from services.cli.launch import api_command, service_name, worker_command
from shared.settings import Settings


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


def test_the_api_command_serves_the_app_factory_under_gunicorn() -> None:
    settings = Settings.from_env(_env_file=None, api_host="127.0.0.1", api_port=5055)
    command = api_command(settings)
    assert command.argv[-1] == "services.api.app:create_app()"
    assert "127.0.0.1:5055" in command.argv


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
