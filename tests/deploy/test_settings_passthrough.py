"""Every documented setting reaches the services that read it, in compose and Kubernetes.

The settings are the variables of docs/guide/reference.md's environment tables, checked
against the fields of the one settings class (``shared.settings.Settings``, whose ai and
notion variables the services take as ``settings.ai`` and ``settings.notion``) so that
neither drifts from the other; a setting added to the class shows up here by itself.
docker-compose.yml hands .env to every kbm container (env_file) and fixes only what the
stack decides over it; .env.example lists what a compose user may set; every kbm
container of every Kubernetes overlay takes the ConfigMap and the Secret (envFrom).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tools import (
    INTERPOLATION,
    K8S,
    OVERLAYS,
    REFERENCE_DOC,
    ROOT,
    ai_setting_names,
    code_setting_names,
    containers,
    documented_settings,
    env_file_entries,
    env_files_of,
    known_settings,
    load_yaml,
    notion_setting_names,
    render_overlay,
    secret_setting_names,
    shared_setting_names,
    workloads,
)

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
CONFIG_ENV = K8S / "base" / "config.env"
REQUIRED_SECRETS = ("POSTGRES_PASSWORD", "API_TOKEN", "GRAFANA_ADMIN_PASSWORD")

#: Documented settings a kbm service's `environment:` may fix over .env, and why: what the
#: stack itself decides. Any other entry there would silently override the user's .env.
COMPOSE_FIXED = {
    "DATABASE_URL": "built from POSTGRES_PASSWORD, for the stack's postgres service",
    "REDIS_URL": "the stack's redis service",
    "API_HOST": "the gateway listens on the container's addresses, which `ports:` publishes",
    "API_PORT": "the container port `ports:` publishes and the healthcheck calls",
    "WORKER_METRICS_HOST": "Prometheus scrapes the workers from its own container",
    "WORKER_METRICS_PORT": "the port deploy/prometheus/prometheus.yml scrapes",
    "EXPORT_DIR": "the `export` volume's mount point (the root filesystem is read-only)",
}
#: Documented settings .env.example leaves out besides COMPOSE_FIXED's, and why.
NOT_IN_ENV_EXAMPLE = {
    "TZ": "read by `kbm` on the user's machine; the images run in UTC",
    "API_URL": "read by the `kbm` client only, to find the gateway",
    "PROMETHEUS_MULTIPROC_DIR": "set by the launchers (`kbm api`, `kbm worker`): leave it alone",
}
#: Values .env.example sets on purpose to something else than the setting's default.
ENV_EXAMPLE_CHOICES = {
    "WORKER_COUNT_PARSING": "one container's processes: the stack scales containers",
    "WORKER_COUNT_AI": "one container's processes: the stack scales containers",
    "WORKER_COUNT_NOTION": "one container's processes: the stack scales containers",
}
#: Documented settings no ConfigMap or Secret of the cluster holds, and why (besides the
#: compose-only ones, which the reference says docker-compose.yml reads).
NOT_IN_CLUSTER_CONFIG = {
    "API_HOST": "the api Deployment sets it (env:): every address of the pod",
    "API_PORT": "the api Deployment sets it (env:): the port its Service targets",
    "API_URL": "read by the `kbm` client only, to find the gateway",
    "TZ": "read by `kbm` on the user's machine; the images run in UTC",
    "PROMETHEUS_MULTIPROC_DIR": "set by the launchers (`kbm api`, `kbm worker`): leave it alone",
    "LOCAL_RETRY_DELAYS": "read by local mode only (`kbm run --local`, `make demo`)",
}
#: Values the ConfigMap sets on purpose to something else than the setting's default.
CONFIG_MAP_CHOICES = {
    "KBM_ENVIRONMENT": "the cluster is production: `kbm doctor` fails on FETCH_ALLOW_PRIVATE=1",
    "WORKER_COUNT_PARSING": "one pod's processes: the autoscalers add pods",
    "WORKER_COUNT_AI": "one pod's processes: the autoscalers add pods",
    "WORKER_COUNT_NOTION": "one pod's processes: the autoscalers add pods",
    "WORKER_METRICS_HOST": "Prometheus scrapes the pods' addresses",
    "EXPORT_DIR": "the volume kbm-notion mounts (the root filesystem is read-only)",
}
#: Keys of the Secret that are no setting, and what reads them.
SECRET_EXTRAS = {
    "REDIS_ADDRESS": "KEDA's TriggerAuthentication: host:port of REDIS_URL",
    "REDIS_PASSWORD": "KEDA's TriggerAuthentication: the password of REDIS_URL",
}

Objects = list[dict[str, Any]]


def all_settings() -> set[str]:
    """Return every setting: documented, or read by the settings class (not yet documented)."""
    return set(documented_settings()) | code_setting_names()


def compose_only() -> set[str]:
    """Return the documented settings only docker-compose.yml reads (secrets, ports, tag)."""
    return {
        name
        for name, setting in documented_settings().items()
        if "docker-compose.yml" in setting.read_by
    }


def kbm_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the compose services running project code (built from the Dockerfile)."""
    return {
        name: service
        for name, service in compose["services"].items()
        if "build" in service or str(service.get("image", "")).startswith("kbm/")
    }


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    """Return a compose service's `environment:` as a mapping (either syntax)."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(entry.split("=", 1) if "=" in entry else (entry, "") for entry in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def value_problems(values: dict[str, str], choices: dict[str, str], where: str) -> list[str]:
    """Return what is wrong with settings written in ``where``.

    Each value must be valid for the settings class, and be its default, unless
    ``choices`` names it; an empty value must mean "unset" (a default of None, empty text
    or no items). Compose-only variables must show docker-compose.yml's default.
    """
    from shared.errors import ConfigurationError
    from shared.settings import Settings

    problems = []
    fields = Settings.model_fields
    shared = {name.lower(): value for name, value in values.items() if name.lower() in fields}
    try:
        settings = Settings.from_env(_env_file=None, **shared)
    except ConfigurationError as ex:
        return [f"{where}: {ex}"]
    for field_name, value in shared.items():
        name, default = field_name.upper(), fields[field_name].default
        if value == "":
            if default not in (None, "", ()):
                problems.append(f"{where}: {name} is empty, which is not its default {default!r}")
        elif name not in choices and getattr(settings, field_name) != default:
            problems.append(f"{where}: {name}={value} is not the default {default!r}")

    compose_defaults = {
        name: default
        for name, operator, default in INTERPOLATION.findall(COMPOSE.read_text())
        if operator == ":-"
    }
    for name, value in values.items():
        if name in compose_defaults and name not in choices and value != compose_defaults[name]:
            problems.append(
                f"{where}: {name}={value}, but docker-compose.yml's default is "
                f"{compose_defaults[name]}"
            )
    return problems


# --- the documented settings ---------------------------------------------------------------


def test_the_reference_documents_every_setting_the_settings_class_reads() -> None:
    missing = code_setting_names() - set(documented_settings())
    assert not missing, (
        f"{sorted(missing)}: read by the settings class but missing from the environment "
        f"tables of {REFERENCE_DOC.relative_to(ROOT)}"
    )


def test_every_documented_setting_is_read_by_the_code_or_a_deployment_file() -> None:
    code = code_setting_names()
    sources = "\n".join(
        path.read_text()
        for pattern in ("services/**/*.py", "shared/**/*.py", "deploy/probe.py")
        for path in ROOT.glob(pattern)
    )
    sources += (ROOT / "Dockerfile").read_text() + COMPOSE.read_text()
    for name, setting in documented_settings().items():
        if name in code:
            continue
        where = f"{REFERENCE_DOC.relative_to(ROOT)}, {setting.section}"
        # Not a settings field: the "Processes and deployment" table says who reads it.
        assert setting.read_by, f"{name} ({where}) is read by no setting: stale?"
        assert re.search(rf"\b{name}\b", sources), f"{name} ({where}) appears in no source"


def test_the_reference_table_parser_finds_the_shorthand_names(tmp_path: Path) -> None:
    # `NOTION_PROPERTY_NAME`, `_URL`, ... in a row stand for NOTION_PROPERTY_URL, ...
    sample = tmp_path / "reference.md"
    sample.write_text(
        "## Environment\n\n### notion\n\n| variable | meaning |\n|---|---|\n"
        "| `NOTION_PROPERTY_NAME`, `_URL`, `_PUBLISHED` | property names |\n"
    )
    shorthand = documented_settings(sample)
    assert set(shorthand) == {
        "NOTION_PROPERTY_NAME",
        "NOTION_PROPERTY_URL",
        "NOTION_PROPERTY_PUBLISHED",
    }
    # And the table of the Processes section, and the compose-only variables.
    documented = documented_settings()
    assert documented["RECURRING_JOBS"].read_by
    assert {"POSTGRES_PASSWORD", "KBM_TAG"} <= compose_only()


def test_the_ai_and_notion_settings_are_fields_of_the_one_settings_class() -> None:
    # settings.ai and settings.notion are built from the fields named after theirs:
    # AI_<FIELD>, NOTION_<FIELD> and NOTION_PROPERTY_<ROLE>.
    missing = (ai_setting_names() | notion_setting_names()) - shared_setting_names()
    assert not missing, f"{sorted(missing)}: no field of shared.settings.Settings"


def test_the_notion_settings_read_the_variables_named_after_their_fields() -> None:
    from shared.errors import ConfigurationError
    from shared.settings import Settings

    for name in sorted(notion_setting_names()):
        # A bad value of a variable it reads fails, naming that variable.
        messages = []
        for bad in ("", "x", "-1"):
            try:
                Settings.from_env(_env_file=None, **{name.lower(): bad})
            except ConfigurationError as ex:
                messages.append(str(ex))
        assert any(name in message for message in messages), f"Settings ignores {name}"


# --- docker-compose.yml and .env.example -----------------------------------------------------


def test_every_kbm_service_receives_the_env_file() -> None:
    services = kbm_services(load_yaml(COMPOSE))
    assert {"migrate", "api", "parser", "ai", "notion", "housekeeping", "scheduler"} <= set(
        services
    )
    for name, service in services.items():
        assert ".env" in env_files_of(service), (
            f"docker-compose.yml: service {name} needs `env_file: .env` (through the x-kbm "
            "anchor) so that every setting of .env reaches it"
        )


def test_compose_fixes_over_the_env_file_only_what_the_stack_decides() -> None:
    services = kbm_services(load_yaml(COMPOSE))
    settings = all_settings()
    problems = []
    used = set()
    for name, service in services.items():
        for key, value in environment_of(service).items():
            used.add(key)
            if key not in settings:
                problems.append(f"service {name}: {key} is no documented setting")
            elif key in COMPOSE_FIXED:
                continue
            elif (match := INTERPOLATION.fullmatch(value)) and match.group(1, 2) == (key, ":?"):
                continue  # .env's own value, named so that compose refuses to start without it
            else:
                problems.append(
                    f"service {name}: environment: {key}={value!r} overrides .env; remove it "
                    f"(env_file passes {key}, and its default lives in the settings) or add "
                    f"it to COMPOSE_FIXED in {Path(__file__).name} with the reason"
                )
    for key in sorted(set(COMPOSE_FIXED) - used):
        problems.append(f"{key} is in COMPOSE_FIXED but no service fixes it: remove it")
    assert not problems, "docker-compose.yml:\n" + "\n".join(problems)


def test_env_example_lists_every_setting_a_compose_user_may_set() -> None:
    entries = env_file_entries(ENV_EXAMPLE)
    left_out = set(COMPOSE_FIXED) | set(NOT_IN_ENV_EXAMPLE)
    missing = sorted(all_settings() - left_out - set(entries))
    assert not missing, "\n".join(
        f"{name}: add `# {name}=<its default>` to .env.example (or to NOT_IN_ENV_EXAMPLE in "
        f"{Path(__file__).name} with the reason)"
        for name in missing
    )
    unknown = sorted(set(entries) - all_settings())
    assert not unknown, f"{unknown} in .env.example are no documented setting"
    useless = sorted(set(entries) & left_out)
    assert not useless, f"{useless} in .env.example: docker-compose.yml fixes them over .env"


def test_env_example_asks_for_the_required_secrets_first() -> None:
    entries = env_file_entries(ENV_EXAMPLE)
    assert list(entries)[: len(REQUIRED_SECRETS)] == list(REQUIRED_SECRETS)
    for name in REQUIRED_SECRETS:
        assert entries[name] == ("", False), f"{name} must be an empty, uncommented line"


def test_env_example_shows_valid_values_and_the_real_defaults() -> None:
    values = {name: value for name, (value, _) in env_file_entries(ENV_EXAMPLE).items()}
    problems = value_problems(values, ENV_EXAMPLE_CHOICES, ".env.example")
    assert not problems, "\n".join(problems)


# --- Kubernetes ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Objects]:
    """Return an overlay's name and rendered objects."""
    return request.param, render_overlay(request.param, tmp_path_factory.mktemp("k8s"))


def data_of(objects: Objects, kind: str) -> dict[str, dict[str, str]]:
    """Return the data of every ConfigMap or Secret by name."""
    return {obj["metadata"]["name"]: obj.get("data", {}) for obj in objects if obj["kind"] == kind}


def test_every_kbm_container_receives_every_setting(overlay: tuple[str, Objects]) -> None:
    name, objects = overlay
    config_maps, secrets = data_of(objects, "ConfigMap"), data_of(objects, "Secret")
    expected = all_settings() - set(NOT_IN_CLUSTER_CONFIG) - compose_only()
    secret_names = secret_setting_names()
    problems = []
    for workload in workloads(objects):
        for container in containers(workload):
            where = f"{workload['kind']} {workload['metadata']['name']}/{container['name']}"
            received: set[str] = set()
            for source in container.get("envFrom", []):
                assert not source.get("prefix"), f"{where}: envFrom with a prefix renames settings"
                if "configMapRef" in source:
                    received |= set(config_maps[source["configMapRef"]["name"]])
                if "secretRef" in source:
                    received |= set(secrets[source["secretRef"]["name"]])
            for setting in sorted(expected - received):
                target = (
                    f"deploy/k8s/overlays/{name}/secrets.env.example (the Secret)"
                    if setting in secret_names
                    else f"{CONFIG_ENV.relative_to(ROOT)} (the ConfigMap)"
                )
                problems.append(f"{where}: {setting} reaches it from nowhere: add it to {target}")
    assert not problems, f"overlay {name}:\n" + "\n".join(problems)


def test_the_gateway_deployment_sets_its_own_bind(overlay: tuple[str, Objects]) -> None:
    _, objects = overlay
    (api,) = [
        container
        for workload in workloads(objects)
        for container in containers(workload)
        if container.get("args", [])[:2] == ["kbm", "api"]
    ]
    names = {variable["name"] for variable in api.get("env", [])}
    assert {"API_HOST", "API_PORT"} <= names


def test_secrets_live_in_the_secret_and_the_rest_in_the_config_map(
    overlay: tuple[str, Objects],
) -> None:
    name, objects = overlay
    config = {key for data in data_of(objects, "ConfigMap").values() for key in data}
    secret = {key for data in data_of(objects, "Secret").values() for key in data}
    for setting in sorted(secret_setting_names()):
        assert setting in secret, (
            f"{setting}: add it to deploy/k8s/overlays/{name}/secrets.env.example"
        )
        assert setting not in config, f"{setting} is a secret: remove it from {CONFIG_ENV.name}"
    known = known_settings()
    assert not config - known, f"{sorted(config - known)} in the ConfigMap are no setting"
    extra = secret - known - set(SECRET_EXTRAS)
    assert not extra, f"{sorted(extra)} in the Secret of {name} are no setting"


def test_the_config_map_shows_valid_values_and_the_real_defaults(
    overlay: tuple[str, Objects],
) -> None:
    name, objects = overlay
    problems = []
    for config_name, data in data_of(objects, "ConfigMap").items():
        where = f"{CONFIG_ENV.relative_to(ROOT)} ({name}: {config_name})"
        problems += value_problems(data, CONFIG_MAP_CHOICES, where)
    assert not problems, "\n".join(problems)
