"""deploy/k8s: every overlay renders, validates strictly, and follows the operating rules."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.cli.launch import SERVICES
from tests.deploy.tools import (
    K8S,
    OVERLAYS,
    containers,
    dockerfile_cmd,
    image_paths,
    image_target,
    known_settings,
    probe_commands,
    render_overlay,
    run,
    secret_setting_names,
    stages,
    tool,
    worker_shutdown_seconds,
    workloads,
)

#: Kinds kubernetes-validate has no schema for (custom resources): they may only warn.
CUSTOM_KINDS = {"ScaledObject", "TriggerAuthentication", "PodMonitor"}
#: The oldest and the newest Kubernetes versions the manifests are checked against.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
PROBE = "/app/deploy/probe.py"

Objects = list[dict[str, Any]]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Objects:
    """Return the rendered objects of one overlay."""
    objects = render_overlay(request.param, tmp_path_factory.mktemp("k8s"))
    return objects


def of_kind(objects: Objects, kind: str) -> list[dict[str, Any]]:
    """Return the objects of one kind."""
    return [obj for obj in objects if obj["kind"] == kind]


def command_of(deployment: dict[str, Any]) -> list[str]:
    """Return the main container's arguments (the kbm command it runs)."""
    args: list[str] = containers(deployment)[0].get("args", [])
    return args


def workers(objects: Objects) -> dict[str, dict[str, Any]]:
    """Return the worker Deployments by the service their ``kbm worker`` runs."""
    found = {}
    for deployment in of_kind(objects, "Deployment"):
        args = command_of(deployment)
        if args[:2] == ["kbm", "worker"]:
            found[args[2]] = deployment
    return found


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    """Return the labels of a workload's pods."""
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Tell whether a label selector (matchLabels only) selects ``labels``."""
    assert set(selector) <= {"matchLabels"}, selector
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())


def container_env(container: dict[str, Any], objects: Objects) -> dict[str, str]:
    """Return what a container's environment holds: envFrom's sources in order, then env."""
    config_maps = {obj["metadata"]["name"]: obj["data"] for obj in of_kind(objects, "ConfigMap")}
    secrets = {obj["metadata"]["name"]: obj["data"] for obj in of_kind(objects, "Secret")}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= config_maps[source["configMapRef"]["name"]]
        else:
            data = secrets[source["secretRef"]["name"]]
            env |= {key: base64.b64decode(value).decode() for key, value in data.items()}
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        else:
            reference = variable["valueFrom"]["secretKeyRef"]
            value = secrets[reference["name"]].get(reference["key"])
            if value is not None:
                env[variable["name"]] = base64.b64decode(value).decode()
    return env


def kbm_usage_error(argv: list[str]) -> str | None:
    """Return why ``argv`` is no valid ``kbm`` command line, or None; nothing is run.

    The words are resolved through the click groups of services/cli/main.py, then the
    command's own options and arguments are parsed (choices included), as `kbm` would.
    """
    import click

    from services.cli.main import cli

    if argv[:1] != ["kbm"]:
        return f"{argv} does not run kbm"
    command: click.Command = cli
    info_name = "kbm"
    context: click.Context | None = None
    words = list(argv[1:])
    try:
        while isinstance(command, click.Group):
            if not words:
                return f"`{' '.join(argv)}` names no command"
            context = click.Context(command, info_name=info_name, parent=context)
            name, found, words = command.resolve_command(context, words)
            if found is None:
                return f"no command {name!r}"
            command, info_name = found, name or found.name or ""
        command.make_context(info_name, words, parent=context)
    except click.exceptions.Exit:
        return None  # --help, --version
    except click.ClickException as ex:
        return ex.format_message()
    return None


def test_every_overlay_renders_and_validates_strictly(tmp_path: Path) -> None:
    validate = tool("kubernetes-validate")
    for name in OVERLAYS:
        manifest = tmp_path / f"{name}.yaml"
        manifest.write_text(yaml.safe_dump_all(render_overlay(name, tmp_path)))
        for version in KUBERNETES_VERSIONS:
            output = run([validate, "--strict", "--quiet", "-k", version, str(manifest)])
            for line in output.splitlines():
                assert any(f"kind {kind} " in line for kind in CUSTOM_KINDS), line


def test_the_fallback_renderer_renders_what_kubectl_renders(tmp_path: Path) -> None:
    tool("kubectl")
    for name in OVERLAYS:

        def key(obj: dict[str, Any]) -> tuple[str, str]:
            return obj["kind"], obj["metadata"]["name"]

        by_kubectl = sorted(render_overlay(name, tmp_path, kubectl=True), key=key)
        by_fallback = sorted(render_overlay(name, tmp_path, kubectl=False), key=key)
        assert by_fallback == by_kubectl, name


def test_the_optional_prometheus_operator_component_validates(tmp_path: Path) -> None:
    # Given an overlay that adds the component, as the README says to
    render_overlay(OVERLAYS[0], tmp_path)
    with_operator = tmp_path / "k8s" / "overlays" / "with-operator"
    with_operator.mkdir()
    (with_operator / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [f"../{OVERLAYS[0]}"],
                "components": ["../../components/prometheus-operator"],
            }
        )
    )
    objects = render_overlay("with-operator", tmp_path)
    monitors = of_kind(objects, "PodMonitor")
    assert {monitor["metadata"]["name"] for monitor in monitors} == {"kbm-gateway", "kbm-worker"}
    for monitor in monitors:
        relabelled = {
            relabel["targetLabel"]
            for endpoint in monitor["spec"]["podMetricsEndpoints"]
            for relabel in endpoint["relabelings"]
        }
        assert {"job", "service"} <= relabelled


def test_every_container_has_probes_requests_and_limits(overlay: Objects) -> None:
    for workload in of_kind(overlay, "Deployment") + of_kind(overlay, "Job"):
        for container in containers(workload):
            name = f"{workload['metadata']['name']}/{container['name']}"
            for kind in ("requests", "limits"):
                assert set(container["resources"][kind]) >= {"cpu", "memory"}, (name, kind)
            if workload["kind"] == "Job":
                continue
            assert "livenessProbe" in container and "readinessProbe" in container, name


def test_liveness_checks_the_process_and_readiness_checks_redis_and_the_database(
    overlay: Objects,
) -> None:
    for deployment in of_kind(overlay, "Deployment"):
        container = containers(deployment)[0]
        name = deployment["metadata"]["name"]
        liveness, readiness = container["livenessProbe"], container["readinessProbe"]
        args = command_of(deployment)
        if args == ["kbm", "api"]:
            # No dependency in liveness; readiness is the gateway's own health check.
            assert "tcpSocket" in liveness, name
            assert readiness["httpGet"]["path"] == "/api/monitoring/health", name
            continue
        program = "periodiq" if args == ["kbm", "scheduler"] else "dramatiq"
        assert liveness["exec"]["command"][1:] == [PROBE, "alive", program], name
        assert readiness["exec"]["command"][1:] == [PROBE, "ready"], name
        assert liveness["timeoutSeconds"] < liveness["periodSeconds"], name


def test_every_pod_runs_as_non_root_with_a_read_only_root_filesystem(overlay: Objects) -> None:
    for workload in of_kind(overlay, "Deployment") + of_kind(overlay, "Job"):
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            if workload["kind"] == "Deployment":
                # Dramatiq's (and gunicorn's) metrics folders need a writable /tmp.
                mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
                volumes = {volume["name"]: volume for volume in pod["volumes"]}
                assert "emptyDir" in volumes[mounts["/tmp"]], name


def test_workers_get_more_grace_than_their_shutdown_timeout(overlay: Objects) -> None:
    shutdown = worker_shutdown_seconds()
    for service, deployment in workers(overlay).items():
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        # Kubernetes' default of 30 s would leave 5 s for the processes to exit.
        assert grace >= shutdown + 10, (service, grace, shutdown)
    api = next(d for d in of_kind(overlay, "Deployment") if command_of(d) == ["kbm", "api"])
    # The preStop pause plus gunicorn's graceful_timeout (30 s).
    assert api["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 30


def test_there_is_one_worker_deployment_per_service(overlay: Objects) -> None:
    assert set(workers(overlay)) == set(SERVICES)


def test_exactly_one_scheduler_runs_replaced_with_recreate(overlay: Objects) -> None:
    schedulers = [
        d for d in of_kind(overlay, "Deployment") if command_of(d) == ["kbm", "scheduler"]
    ]
    assert len(schedulers) == 1
    scheduler = schedulers[0]
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"] == {"type": "Recreate"}
    name = scheduler["metadata"]["name"]
    for scaler in of_kind(overlay, "ScaledObject") + of_kind(overlay, "HorizontalPodAutoscaler"):
        assert scaler["spec"]["scaleTargetRef"]["name"] != name


def test_every_worker_scales_on_its_own_queue_backlog_with_at_least_one_replica(
    overlay: Objects,
) -> None:
    scaled = {
        obj["spec"]["scaleTargetRef"]["name"]: obj for obj in of_kind(overlay, "ScaledObject")
    }
    hpas = {
        obj["spec"]["scaleTargetRef"]["name"]: obj
        for obj in of_kind(overlay, "HorizontalPodAutoscaler")
    }
    assert bool(scaled) != bool(hpas), "an overlay uses KEDA or HPAs, not both"
    for service, deployment in workers(overlay).items():
        queue = SERVICES[service][0]
        name = deployment["metadata"]["name"]
        # The autoscaler owns the replica count: applying must not reset it.
        assert "replicas" not in deployment["spec"], name
        if scaled:
            spec = scaled[name]["spec"]
            assert spec["minReplicaCount"] >= 1
            assert spec["maxReplicaCount"] > spec["minReplicaCount"]
            (trigger,) = spec["triggers"]
            assert trigger["type"] == "redis"
            assert trigger["metadata"]["listName"] == f"dramatiq:{queue}", name
            assert int(trigger["metadata"]["listLength"]) > 0
        else:
            spec = hpas[name]["spec"]
            assert spec["minReplicas"] >= 1
            (metric,) = spec["metrics"]
            assert metric["external"]["metric"]["name"] == "kbm_queue_messages"
            selector = metric["external"]["metric"]["selector"]["matchLabels"]
            assert selector == {"queue": queue, "state": "waiting"}, name


def test_keda_finds_redis_through_the_secret(overlay: Objects) -> None:
    secrets = {obj["metadata"]["name"]: obj for obj in of_kind(overlay, "Secret")}
    for auth in of_kind(overlay, "TriggerAuthentication"):
        for reference in auth["spec"]["secretTargetRef"]:
            assert reference["name"] in secrets
            assert reference["key"] in secrets[reference["name"]]["data"]
    auth_names = {auth["metadata"]["name"] for auth in of_kind(overlay, "TriggerAuthentication")}
    for scaled in of_kind(overlay, "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["authenticationRef"]["name"] in auth_names


def test_the_gateway_and_every_worker_have_a_disruption_budget(overlay: Objects) -> None:
    budgets = of_kind(overlay, "PodDisruptionBudget")
    for deployment in of_kind(overlay, "Deployment"):
        if command_of(deployment) == ["kbm", "scheduler"]:
            continue
        labels = pod_labels(deployment)
        matching = [b for b in budgets if selects(b["spec"]["selector"], labels)]
        assert len(matching) == 1, deployment["metadata"]["name"]


def test_configuration_and_secrets_are_referenced_never_inlined(overlay: Objects) -> None:
    config_maps = {obj["metadata"]["name"]: obj for obj in of_kind(overlay, "ConfigMap")}
    secrets = {obj["metadata"]["name"]: obj for obj in of_kind(overlay, "Secret")}
    assert secrets, "the overlay generates the Secret"
    # Secrets: the settings holding one (SecretStr fields, URLs with a password), and any
    # unknown name that sounds like one (AI_CONTEXT_TOKENS counts tokens: no secret).
    secret_names = secret_setting_names()
    plain = known_settings() - secret_names
    for name, config in config_maps.items():
        for key in config["data"]:
            assert key not in secret_names, (name, key)
            if key not in plain:
                words = ("TOKEN", "PASSWORD", "SECRET", "API_KEY")
                assert not any(word in key for word in words), (name, key)
    for workload in of_kind(overlay, "Deployment") + of_kind(overlay, "Job"):
        for container in containers(workload):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps
                else:
                    assert source["secretRef"]["name"] in secrets
            for variable in container.get("env", []):
                if "valueFrom" in variable:
                    reference = variable["valueFrom"]["secretKeyRef"]
                    secret = secrets[reference["name"]]
                    assert reference.get("optional") or reference["key"] in secret["data"]
                else:
                    assert variable["name"] not in ("DATABASE_URL", "REDIS_URL", "API_TOKEN")


def test_the_gateway_listens_on_all_interfaces_behind_a_required_token(overlay: Objects) -> None:
    api = next(d for d in of_kind(overlay, "Deployment") if command_of(d) == ["kbm", "api"])
    env = {variable["name"]: variable for variable in containers(api)[0]["env"]}
    assert env["API_HOST"]["value"] == "0.0.0.0"
    token = env["API_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert not token.get("optional"), "the gateway cannot start without API_TOKEN"
    services = [s for s in of_kind(overlay, "Service") if s["spec"].get("clusterIP") != "None"]
    assert any(selects({"matchLabels": s["spec"]["selector"]}, pod_labels(api)) for s in services)


def test_every_metrics_port_is_announced_for_scraping(overlay: Objects) -> None:
    for deployment in of_kind(overlay, "Deployment"):
        args = command_of(deployment)
        if args == ["kbm", "scheduler"]:
            continue  # periodiq serves no metrics; its ticks are counted by a worker
        port = 5000 if args == ["kbm", "api"] else 9191
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)
        ports = [p["containerPort"] for p in containers(deployment)[0]["ports"]]
        assert port in ports


def test_worker_metrics_listen_on_the_pod_addresses_for_prometheus(overlay: Objects) -> None:
    from shared.settings import Settings

    default_port = Settings.model_fields["worker_metrics_port"].default
    for service, deployment in workers(overlay).items():
        container = containers(deployment)[0]
        env = container_env(container, overlay)
        # `kbm worker` binds 127.0.0.1 unless told otherwise; Prometheus scrapes the pod.
        assert env.get("WORKER_METRICS_HOST") == "0.0.0.0", service
        # ... on the port the pod declares and announces.
        port = int(env.get("WORKER_METRICS_PORT") or default_port)
        declared = [p["containerPort"] for p in container["ports"] if p["name"] == "metrics"]
        assert declared == [port], service
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(port), service


def test_the_migrate_job_runs_kbm_migrate_once(overlay: Objects) -> None:
    (job,) = of_kind(overlay, "Job")
    assert containers(job)[0]["args"] == ["kbm", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")
    assert 0 < job["spec"]["backoffLimit"] <= 6


def test_every_image_is_tagged_and_built_from_a_dockerfile_target(overlay: Objects) -> None:
    targets = set(stages())
    for workload in workloads(overlay):
        for container in containers(workload):
            image = container["image"]
            repository, _, tag = image.rpartition(":")
            assert tag and tag != "latest" and "/" not in tag, image
            # kbm/<target>, under the overlay's registry.
            assert repository.endswith(f"kbm/{image_target(image)}"), image
            assert image_target(image) in targets, image


def test_every_workload_runs_the_kbm_command_its_image_is_built_for(overlay: Objects) -> None:
    for workload in workloads(overlay):
        for container in containers(workload):
            name = f"{workload['kind']} {workload['metadata']['name']}/{container['name']}"
            target = image_target(container["image"])
            # args only: the image's entrypoint (tini) stays PID 1 and forwards SIGTERM.
            assert "command" not in container, f"{name}: give args, not command"
            built_for = dockerfile_cmd(target)
            args = container.get("args", built_for)
            # Each image carries its own service's dependencies: it runs its own command
            # (options may follow).
            assert args[: len(built_for)] == built_for, (
                f"{name} runs {args} in the {target} image, built for {built_for}"
            )
            problem = kbm_usage_error(args)
            assert problem is None, f"{name}: `{' '.join(args)}` is no kbm command: {problem}"


def test_the_kbm_command_check_refuses_what_kbm_refuses() -> None:
    assert kbm_usage_error(["kbm", "worker", "parser"]) is None
    assert kbm_usage_error(["kbm", "feed", "list"]) is None
    assert kbm_usage_error(["kbm", "worker", "parsers"]) is not None
    assert kbm_usage_error(["kbm", "wroker", "parser"]) is not None
    assert kbm_usage_error(["kbm", "api", "--bogus"]) is not None
    assert kbm_usage_error(["kbm"]) is not None
    assert kbm_usage_error(["python", "-m", "kbm"]) is not None


def test_every_variable_a_workload_sets_is_a_known_setting(overlay: Objects) -> None:
    known = known_settings()
    for workload in workloads(overlay):
        for container in containers(workload):
            for variable in container.get("env", []):
                assert variable["name"] in known, (
                    f"{workload['metadata']['name']}/{container['name']} sets {variable['name']}"
                    ", which neither docs/guide/reference.md nor a settings class knows"
                )


def test_every_exec_probe_runs_the_probe_script_its_image_holds(overlay: Objects) -> None:
    commands = probe_commands(overlay)
    probed = {target for target, _ in commands}
    # Every Deployment but the gateway (HTTP and TCP probes) is probed by exec.
    for deployment in of_kind(overlay, "Deployment"):
        target = image_target(containers(deployment)[0]["image"])
        assert target in probed or command_of(deployment) == ["kbm", "api"], target
    arity = {"alive": 1, "ready": 0, "http": 1}
    for target, argv in commands:
        paths = image_paths(target)
        # The interpreter and the script are files the image's stages copied in.
        for word in argv[:2]:
            assert any(word == p or word.startswith(p.rstrip("/") + "/") for p in paths), (
                f"{target}: {word} of the probe {argv} is not in the image (it gets {paths})"
            )
        assert argv[1] == PROBE, argv
        # What deploy/probe.py accepts: alive NAME | ready | http URL.
        assert argv[2] in arity and len(argv) == 3 + arity[argv[2]], argv


def test_the_parser_cannot_reach_cluster_or_metadata_addresses(overlay: Objects) -> None:
    parser = workers(overlay)["parser"]
    policies = [
        p
        for p in of_kind(overlay, "NetworkPolicy")
        if selects(p["spec"]["podSelector"], pod_labels(parser))
    ]
    assert len(policies) == 1
    policy = policies[0]["spec"]
    assert "Egress" in policy["policyTypes"]

    def allowed(address: str, port: int) -> bool:
        ip = ipaddress.ip_address(address)
        for rule in policy["egress"]:
            ports = {p["port"] for p in rule.get("ports", [])}
            if ports and port not in ports:
                continue
            for peer in rule.get("to", [{"ipBlock": {"cidr": "0.0.0.0/0"}}]):
                block = peer.get("ipBlock")
                if block is None:
                    continue  # pod and namespace selectors match pods, not addresses
                cidr = ipaddress.ip_network(block["cidr"])
                excepted = [ipaddress.ip_network(e) for e in block.get("except", [])]
                inside = ip.version == cidr.version and ip in cidr
                if inside and not any(ip in e for e in excepted if e.version == ip.version):
                    return True
        return False

    for address in (
        "169.254.169.254",  # cloud metadata
        "10.96.0.1",  # a cluster's API service
        "172.17.0.1",
        "192.168.1.1",
        "100.64.0.10",
        "127.0.0.1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "fe80::1",
        "::ffff:169.254.169.254",
    ):
        for port in (80, 443, 6443, 8080):
            assert not allowed(address, port), address
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"):
        assert allowed(address, 443), address


def test_the_pods_meet_the_restricted_pod_security_standard_namespace(overlay: Objects) -> None:
    (namespace,) = of_kind(overlay, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for obj in overlay:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == namespace["metadata"]["name"], obj["kind"]


def test_every_overlay_documents_its_secrets() -> None:
    for name in OVERLAYS:
        example = K8S / "overlays" / name / "secrets.env.example"
        keys = {
            line.split("=", 1)[0]
            for line in example.read_text().splitlines()
            if "=" in line and not line.startswith("#")
        }
        assert {"DATABASE_URL", "REDIS_URL", "API_TOKEN"} <= keys, name
    ignored = (K8S / ".gitignore").read_text()
    assert "overlays/*/secrets.env" in ignored
