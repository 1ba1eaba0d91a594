"""Dockerfile and .dockerignore: hadolint, a target per service, non-root, exec form."""

from __future__ import annotations

import fnmatch
import json
import shutil
import sys
import zipfile
from pathlib import Path

from services.cli.launch import SERVICES
from tests.deploy.tools import ROOT, dockerfile_instructions, run, stages, tool

#: Image target → the command it must run (``kbm worker <service>`` for the workers).
TARGET_COMMANDS = {
    "api": ["kbm", "api"],
    "parser": ["kbm", "worker", "parser"],
    "ai": ["kbm", "worker", "ai"],
    "notion": ["kbm", "worker", "notion"],
    "housekeeping": ["kbm", "worker", "default"],
    "scheduler": ["kbm", "scheduler"],
    "migrate": ["kbm", "migrate"],
}


def _final(keyword: str, target: str) -> str | None:
    """Return the arguments of the last ``keyword`` in effect for ``target``."""
    chain = [target]
    all_stages = stages()
    while all_stages.get(chain[-1]) in all_stages:
        chain.append(all_stages[chain[-1]])
    for stage in chain:
        found = [i for i in dockerfile_instructions() if i.stage == stage and i.keyword == keyword]
        if found:
            return found[-1].arguments
    return None


STANDINS = sorted((ROOT / "deploy" / "images" / "standins").glob("*.Dockerfile"))


def test_the_dockerfile_passes_hadolint() -> None:
    run([tool("hadolint"), str(ROOT / "Dockerfile")])


def test_the_stand_in_dockerfiles_pass_hadolint_and_run_as_non_root() -> None:
    assert {path.stem for path in STANDINS} == {"python", "postgres", "redis", "prometheus"}
    # The stand-ins install whatever version Debian's archive has of the named release
    # (each checks it is the release its tag names), so their packages are not pinned;
    # their users (postgres, redis) are the ones Debian's packages create, by name.
    run([tool("hadolint"), "--ignore", "DL3008", "--ignore", "DL3066", *map(str, STANDINS)])
    for path in STANDINS:
        users = [
            line.split()[1] for line in path.read_text().splitlines() if line.startswith("USER ")
        ]
        # The Python base runs as root, as python:3.11-slim does; the images built on it
        # set their own user (test_every_target_runs_as_a_non_root_user).
        if path.stem != "python":
            assert users and users[-1] not in ("root", "0"), path.name


def test_the_image_build_scripts_pass_shellcheck() -> None:
    scripts = [
        ROOT / "deploy" / "images" / "build",
        *sorted((ROOT / "deploy" / "images" / "standins").glob("*.sh")),
        ROOT / ".ci" / "run",
    ]
    run([tool("shellcheck"), "--severity=warning", *map(str, scripts)])


def test_there_is_one_target_per_service() -> None:
    assert set(TARGET_COMMANDS) <= set(stages())
    # Every worker service of the launcher has its image.
    worker_targets = {command[2] for command in TARGET_COMMANDS.values() if command[1] == "worker"}
    assert worker_targets == set(SERVICES)


def test_each_target_runs_its_service_in_exec_form() -> None:
    for target, command in TARGET_COMMANDS.items():
        cmd = _final("CMD", target)
        assert cmd is not None and json.loads(cmd) == command, target
        entrypoint = _final("ENTRYPOINT", target)
        assert entrypoint is not None and json.loads(entrypoint) == ["tini", "--"], target


def test_every_cmd_and_entrypoint_is_in_exec_form() -> None:
    for instruction in dockerfile_instructions():
        if instruction.keyword in ("CMD", "ENTRYPOINT"):
            assert isinstance(json.loads(instruction.arguments), list), instruction


def test_every_target_runs_as_a_non_root_user() -> None:
    for target in TARGET_COMMANDS:
        user = _final("USER", target)
        assert user is not None, target
        uid = user.split(":")[0]
        # Numeric, so that Kubernetes' runAsNonRoot can verify it.
        assert uid.isdigit() and int(uid) != 0, (target, user)


def test_the_build_context_holds_only_what_the_image_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "the .dockerignore should exclude everything first"
    allowed = [pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")]

    def included(path: str) -> bool:
        return any(path == allow or fnmatch.fnmatch(path, allow) for allow in allowed)

    for instruction in dockerfile_instructions():
        if instruction.keyword != "COPY" or "--from=" in instruction.arguments:
            continue
        *sources, _ = [word for word in instruction.arguments.split() if not word.startswith("--")]
        for source in sources:
            assert included(source.rstrip("/")), f"{source} is copied but not in the context"
            assert (ROOT / source).exists(), source
    for secret in (".env", ".venv", ".git", "data", "export"):
        assert not included(secret), secret


def test_the_installed_project_carries_every_file_of_its_packages(tmp_path: Path) -> None:
    # Given the build context the Dockerfile copies (the images install the project as a
    # wheel, not in editable mode, so files outside Python modules need package data)
    context = tmp_path / "context"
    context.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, context / name)
    for package in ("shared", "services"):
        shutil.copytree(
            ROOT / package, context / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    # When it is built as pip builds it in the image
    wheels = tmp_path / "wheels"
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), "."],
        cwd=context,
        timeout=300,
    )
    # Then the wheel holds every file of the packages
    (wheel,) = wheels.glob("*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        path.relative_to(context).as_posix()
        for package in ("shared", "services")
        for path in (context / package).rglob("*")
        if path.is_file()
    }
    missing = sorted(sources - packaged)
    assert not missing, f"not installed into the images (declare them as package data): {missing}"
