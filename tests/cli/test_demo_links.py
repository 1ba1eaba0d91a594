"""``make demo`` run again imports the same sample links, not new copies of them."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from demo.__main__ import serve_pages
from tests.stack import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_running_the_demo_twice_keeps_five_links_and_five_pages(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {"DEMO_PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"  # the demo needs no Redis
    for run in (1, 2):
        result = subprocess.run(
            [sys.executable, "-m", "demo"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"Task {run} completed: 5 completed" in result.stdout

    with sqlite3.connect(tmp_path / "demo-output" / "kbm.sqlite3") as connection:
        (links,) = connection.execute("SELECT count(*) FROM link").fetchone()
    assert links == 5
    assert len(list((tmp_path / "demo-output" / "export").glob("*.md"))) == 5


def test_a_taken_port_falls_back_to_a_free_one_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        server = serve_pages(port)
        server.server_close()

    assert server.server_address[1] != port
    note = capsys.readouterr().out
    assert note.startswith(f"note: port {port} is taken")
    assert "set DEMO_PORT to choose another port" in note


def test_a_free_port_is_used_as_asked() -> None:
    port = free_port()
    server = serve_pages(port)
    server.server_close()
    assert server.server_address[1] == port
