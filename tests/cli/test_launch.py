"""The process launchers: the commands `kbm worker` and `kbm api` run."""

from __future__ import annotations

import sys

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
    assert command.argv[command.argv.index("--threads") + 1] == "2"
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


def test_running_together_stops_every_process_when_one_exits() -> None:
    from services.cli.launch import Command, run_together

    sleeper = Command("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], {})
    quitter = Command("quitter", [sys.executable, "-c", "raise SystemExit(3)"], {})
    assert run_together([sleeper, quitter], grace=5) == 3
