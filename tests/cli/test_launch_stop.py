"""Stopping ``kbm up``: one SIGTERM per command, its grace, SIGKILL only for what remains."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.cli.launch import STOP_GRACE_SECONDS, WORKER_SHUTDOWN_SECONDS, stop_all

#: A worker process: counts its SIGTERMs, finishes its message (0.5 s), then exits.
WORKER = """
import signal, sys, time
log, stopping = sys.argv[1], []
def term(signum, frame):
    with open(log, "a") as out:
        out.write("TERM\\n")
    stopping.append(True)
signal.signal(signal.SIGTERM, term)
open(log + ".ready", "w").close()
while not stopping:
    time.sleep(0.02)
time.sleep(0.5)
with open(log, "a") as out:
    out.write("finished\\n")
"""
#: A main process that passes SIGTERM on to its worker once, as Dramatiq's does.
MAIN = """
import signal, subprocess, sys
worker = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
signal.signal(signal.SIGTERM, lambda signum, frame: worker.send_signal(signal.SIGTERM))
worker.wait()
"""
#: A command that ignores SIGTERM.
STUBBORN = """
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[1], "w").close()
time.sleep(60)
"""


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 20
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_worker_gets_one_sigterm_and_finishes_its_message(tmp_path: Path) -> None:
    # Given a command whose main process passes SIGTERM on to its worker
    log = tmp_path / "worker.log"
    command = subprocess.Popen(
        [sys.executable, "-c", MAIN, WORKER, str(log)], start_new_session=True
    )
    _wait_for(Path(f"{log}.ready"))

    # When everything is stopped
    stop_all({"worker-parser": command}, grace=10)

    # Then the worker was asked once and finished what it was doing
    assert log.read_text().splitlines() == ["TERM", "finished"]
    assert command.returncode == 0


def test_a_command_still_running_after_the_grace_is_killed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ready = tmp_path / "ready"
    command = subprocess.Popen([sys.executable, "-c", STUBBORN, str(ready)], start_new_session=True)
    _wait_for(ready)
    started = time.monotonic()

    stop_all({"scheduler": command}, grace=0.5)

    assert 0.5 <= time.monotonic() - started < 10
    assert command.returncode == -9
    assert capsys.readouterr().out == "scheduler did not stop within 0.5 s; killing it\n"


def test_kbm_up_waits_longer_than_a_worker_may_take_to_shut_down() -> None:
    assert STOP_GRACE_SECONDS > WORKER_SHUTDOWN_SECONDS
