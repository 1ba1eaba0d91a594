"""A docker compose project of the real docker-compose.yml, driven by the end-to-end test.

The stack runs under its own project name (volumes and networks of its own), publishes
its ports on loopback at addresses Docker picks, and reads its settings from an env
file of the test's (``KBM_ENV_FILE``), so it never touches a user's ``.env`` or stack.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.deploy.tools import ROOT

T = TypeVar("T")
COMPOSE_FILES = (ROOT / "docker-compose.yml", ROOT / "tests" / "deploy" / "e2e" / "compose.e2e.yml")


def compose_command() -> list[str]:
    """Return the Compose command of this machine: the plugin, else docker-compose."""
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if plugin.returncode == 0:
        return ["docker", "compose"]
    standalone = shutil.which("docker-compose")
    if standalone is None:
        raise RuntimeError("neither 'docker compose' nor 'docker-compose' is installed")
    return [standalone]


def wait_for(what: str, check: Callable[[], T | None], timeout: float, every: float = 1.0) -> T:
    """Return ``check()``'s first truthy answer; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(every)


@dataclass
class ComposeStack:
    """One compose project of the stack."""

    project: str
    env_file: Path
    env: dict[str, str]
    #: The gateway's token (API_TOKEN of the env file).
    token: str
    command: list[str] = field(default_factory=compose_command)

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        """Run a compose subcommand of this project; return its output."""
        argv = [*self.command, "--project-name", self.project, "--env-file", str(self.env_file)]
        for path in COMPOSE_FILES:
            argv += ["--file", str(path)]
        done = subprocess.run(
            [*argv, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def containers(self, service: str | None = None) -> list[str]:
        """Return the ids of the project's containers (of one service), running or not."""
        args = ["ps", "-q", "-a"] + ([service] if service else [])
        return self.compose(*args).split()

    def inspect(self, container: str) -> dict[str, Any]:
        """Return ``docker inspect`` of one container."""
        out = subprocess.run(
            ["docker", "inspect", container], capture_output=True, text=True, check=True
        )
        found: dict[str, Any] = json.loads(out.stdout)[0]
        return found

    def address(self, container: str) -> str:
        """Return a container's address in the stack's network."""
        networks = self.inspect(container)["NetworkSettings"]["Networks"]
        return str(next(iter(networks.values()))["IPAddress"])

    def url(self, service: str, port: int) -> str:
        """Return the loopback URL of a service's published port."""
        published = self.compose("port", service, str(port)).strip()
        return f"http://{published}"

    def unhealthy(self) -> list[str]:
        """Return what is not up yet: containers starting, unhealthy, or exited badly."""
        waiting = []
        for container in self.containers():
            details = self.inspect(container)
            state, name = details["State"], details["Name"].lstrip("/")
            if state["Status"] == "exited":
                if state["ExitCode"] != 0:
                    waiting.append(f"{name} exited {state['ExitCode']}")
            elif state["Status"] != "running":
                waiting.append(f"{name} {state['Status']}")
            elif state.get("Health", {}).get("Status", "healthy") != "healthy":
                waiting.append(f"{name} {state['Health']['Status']}")
        return waiting

    def wait_healthy(self, timeout: float = 300) -> float:
        """Wait until every container is healthy (or done, for migrate); return seconds."""
        start = time.monotonic()
        last: list[str] = []

        def healthy() -> bool:
            nonlocal last
            last = self.unhealthy()
            failed = [entry for entry in last if " exited " in entry]
            assert not failed, f"containers failed: {failed}\n{self.compose('logs', '--tail=40')}"
            return not last

        try:
            wait_for("every container healthy", healthy, timeout, every=2)
        except AssertionError as ex:
            raise AssertionError(f"{ex}; still waiting for {last}") from None
        return time.monotonic() - start

    def exec(self, service: str, *argv: str) -> str:
        """Run a command in a service's first container; return its output."""
        return self.compose("exec", "-T", service, *argv)


def client(base_url: str, token: str | None) -> httpx.Client:
    """Return an HTTP client of the gateway, with the token when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=30)
