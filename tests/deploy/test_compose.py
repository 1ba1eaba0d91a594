"""docker-compose.yml: the compose specification, then the rules the stack depends on."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.tools import (
    DEPLOY,
    INTERPOLATION,
    ROOT,
    duration_seconds,
    env_file_entries,
    env_files_of,
    load_yaml,
    run,
    stages,
    tool,
    worker_shutdown_seconds,
)

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
#: The services `--scale` must work on: no container_name, no fixed host port.
SCALABLE = ("parser", "ai", "notion", "housekeeping")
#: Services running project code (built from the Dockerfile).
KBM_SERVICES = ("migrate", "api", *SCALABLE, "scheduler")
#: Secrets that must come from .env, with no default.
REQUIRED_SECRETS = ("POSTGRES_PASSWORD", "API_TOKEN", "GRAFANA_ADMIN_PASSWORD")
#: Variables docker-compose.yml interpolates that are no setting for .env, and why.
COMPOSE_SWITCHES = {
    "KBM_ENV_FILE": "the file the kbm containers receive (default .env); deploy/images/build "
    "points it at .env.example where there is no .env",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """Return docker-compose.yml with its YAML anchors and merge keys resolved."""
    data: dict[str, Any] = load_yaml(COMPOSE)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the compose services by name."""
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_the_compose_file_follows_the_compose_specification() -> None:
    run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)])


def test_the_stack_has_every_service_of_the_deployment(services: dict[str, Any]) -> None:
    expected = {"redis", "postgres", "prometheus", "grafana", *KBM_SERVICES}
    assert set(services) == expected


def test_redis_appends_every_write_to_a_volume_and_never_evicts(
    services: dict[str, Any],
) -> None:
    redis = services["redis"]
    command = [str(part) for part in redis["command"]]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_postgres_keeps_its_data_in_a_named_volume(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    volume, _, target = services["postgres"]["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in compose["volumes"]


def test_migrate_runs_once_before_every_service_that_needs_the_schema(
    services: dict[str, Any],
) -> None:
    migrate = services["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["build"]["target"] == "migrate"
    for name in ("api", *SCALABLE, "scheduler"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name == "migrate":
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_every_dependency_waits_for_a_condition(services: dict[str, Any]) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: use the long depends_on syntax"
        for dependency, rule in depends_on.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = "service_completed_successfully" if dependency == "migrate" else None
            condition = rule["condition"]
            if expected:
                assert condition == expected, (name, dependency)
            else:
                assert condition == "service_healthy", (name, dependency)
                assert "healthcheck" in services[dependency], dependency


def test_workers_get_more_grace_than_their_shutdown_timeout(services: dict[str, Any]) -> None:
    shutdown = worker_shutdown_seconds()
    for name in SCALABLE:
        grace = duration_seconds(services[name]["stop_grace_period"])
        # Room beyond the shutdown timeout for the process tree to exit before SIGKILL.
        assert grace >= shutdown + 10, (name, grace, shutdown)
    # gunicorn's graceful_timeout is 30 s.
    assert duration_seconds(services["api"]["stop_grace_period"]) > 30


def test_scalable_services_have_no_container_name_or_fixed_host_port(
    services: dict[str, Any],
) -> None:
    for name, service in services.items():
        assert "container_name" not in service, name
    for name in SCALABLE:
        assert not services[name].get("ports"), f"{name} publishes a host port"
        assert services[name].get("deploy", {}).get("replicas") is None, name


def test_exactly_one_scheduler_runs(services: dict[str, Any]) -> None:
    schedulers = [
        name
        for name, service in services.items()
        if service.get("build", {}).get("target") == "scheduler"
    ]
    assert schedulers == ["scheduler"]
    assert services["scheduler"]["deploy"]["replicas"] == 1


def test_each_service_builds_its_own_dockerfile_target(services: dict[str, Any]) -> None:
    targets = set(stages())
    for name in KBM_SERVICES:
        build = services[name]["build"]
        assert build["context"] == "."
        assert build["target"] in targets, name
        assert build["target"] == name, name


def test_kbm_containers_run_read_only_without_capabilities(services: dict[str, Any]) -> None:
    for name in KBM_SERVICES:
        service = services[name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        if name != "migrate":
            # Dramatiq's and the gateway's metrics folders live in /tmp.
            assert "/tmp" in service["tmpfs"], name


def test_secrets_come_from_the_env_file_and_nowhere_else(services: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    references = {match[0]: match for match in INTERPOLATION.findall(text)}
    for name in REQUIRED_SECRETS:
        assert references[name][1] == ":?", f"{name} must be required (${{{name}:?...}})"
    # Every variable the file reads is listed in .env.example (commented out or not), and
    # the required secrets are there to be filled in.
    entries = env_file_entries(ENV_EXAMPLE)
    missing = set(references) - set(entries) - set(COMPOSE_SWITCHES)
    assert not missing, f"add {sorted(missing)} to .env.example"
    for name in REQUIRED_SECRETS:
        assert entries[name] == ("", False), name
    # No credential is written into the file itself: every one is a ${...} reference.
    for name, service in services.items():
        for key, value in service.get("environment", {}).items():
            if re.search(r"PASSWORD|TOKEN|API_KEY", key):
                assert INTERPOLATION.fullmatch(str(value)), (name, key)


def test_only_the_kbm_services_receive_the_env_file(services: dict[str, Any]) -> None:
    # Every setting of .env (secrets included) reaches every kbm container; the stack's
    # other services get only the secret their `environment:` names.
    for name, service in services.items():
        if name in KBM_SERVICES:
            assert env_files_of(service) == [".env"], name
        else:
            assert "env_file" not in service, f"{name} would receive every secret of .env"

    def secrets_of(name: str) -> set[str]:
        environment = services[name].get("environment", {})
        return {key for key in environment if re.search(r"TOKEN|API_KEY|PASSWORD", key)}

    # The gateway's token is named only so that compose refuses to start without it.
    assert secrets_of("api") == {"API_TOKEN"}
    assert secrets_of("postgres") == {"POSTGRES_PASSWORD"}
    assert secrets_of("grafana") == {"GF_SECURITY_ADMIN_PASSWORD"}
    for name in ("parser", "ai", "notion", "housekeeping", "scheduler", "migrate"):
        assert secrets_of(name) == set(), name


def test_the_gateway_listens_on_all_interfaces_behind_a_required_token(
    services: dict[str, Any],
) -> None:
    environment = services["api"]["environment"]
    assert environment["API_HOST"] == "0.0.0.0"
    assert environment["API_TOKEN"].startswith("${API_TOKEN:?")


def test_every_kbm_service_shares_the_database_and_broker_settings(
    services: dict[str, Any],
) -> None:
    for name in KBM_SERVICES:
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgresql://kbm:${POSTGRES_PASSWORD:?")
        assert environment["DATABASE_URL"].endswith("@postgres:5432/kbm")
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        # Broker tuning comes from .env (or the settings' defaults), never fixed here.
        assert "HEARTBEAT_TIMEOUT_MS" not in environment, name


def test_worker_metrics_listen_beyond_loopback_for_the_prometheus_container(
    services: dict[str, Any],
) -> None:
    # `kbm worker` binds its metrics to 127.0.0.1 unless told otherwise; Prometheus
    # scrapes them from its own container, on the port its configuration names.
    (job,) = [
        job
        for job in load_yaml(DEPLOY / "prometheus" / "prometheus.yml")["scrape_configs"]
        if job["job_name"] == "kbm-worker"
    ]
    (discovery,) = job["dns_sd_configs"]
    for name in SCALABLE:
        environment = services[name]["environment"]
        assert environment["WORKER_METRICS_HOST"] == "0.0.0.0", name
        assert int(environment["WORKER_METRICS_PORT"]) == discovery["port"], name
        assert name in discovery["names"], name


def test_prometheus_and_grafana_are_provisioned_from_deploy(services: dict[str, Any]) -> None:
    prometheus_volumes = services["prometheus"]["volumes"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus_volumes
    grafana_volumes = services["grafana"]["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana_volumes
    assert "./deploy/grafana/dashboards:/etc/grafana/dashboards:ro" in grafana_volumes
