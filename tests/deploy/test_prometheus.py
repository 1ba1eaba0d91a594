"""deploy/prometheus: promtool checks the configurations and rules and unit-tests the alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shared.monitoring import RECONCILER_LATE_S
from tests.deploy.tools import (
    KNOWN_METRICS,
    PROMETHEUS_DIR,
    load_yaml,
    metric_names,
    run,
    tool,
)

RULES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


def alerts() -> dict[str, dict[str, Any]]:
    """Return every alerting rule by name."""
    found = {}
    for path in RULES:
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = rule
    return found


def test_the_compose_scrape_configuration_passes_promtool() -> None:
    run([tool("promtool"), "check", "config", str(PROMETHEUS_DIR / "prometheus.yml")])


def test_the_kubernetes_scrape_configuration_passes_promtool(tmp_path: Path) -> None:
    # Debian's Prometheus is built without Kubernetes discovery, so promtool checks the
    # rest of the file (relabelling, rules) with the discovery swapped for a static list.
    config = load_yaml(PROMETHEUS_DIR / "prometheus-kubernetes.yml")
    for job in config["scrape_configs"]:
        assert job.pop("kubernetes_sd_configs")[0]["role"] == "pod"
        job["static_configs"] = [{"targets": []}]
    config["rule_files"] = [str(PROMETHEUS_DIR / rule) for rule in config["rule_files"]]
    checked = tmp_path / "prometheus-kubernetes.yml"
    checked.write_text(yaml.safe_dump(config))
    run([tool("promtool"), "check", "config", str(checked)])


def test_both_scrape_configurations_label_targets_alike() -> None:
    compose = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    kubernetes = load_yaml(PROMETHEUS_DIR / "prometheus-kubernetes.yml")
    kbm_jobs = {"kbm-gateway", "kbm-worker"}
    for config in (compose, kubernetes):
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        assert kbm_jobs <= set(jobs)
        for name in kbm_jobs:
            targets = {rule.get("target_label") for rule in jobs[name]["relabel_configs"]}
            assert "service" in targets, name
        assert config["rule_files"] == ["rules/*.yml"]


def test_the_alert_rules_pass_promtool() -> None:
    assert RULES
    run([tool("promtool"), "check", "rules", *map(str, RULES)])


def test_the_alert_rules_pass_their_unit_tests() -> None:
    assert RULE_TESTS
    run([tool("promtool"), "test", "rules", *map(str, RULE_TESTS)], cwd=PROMETHEUS_DIR)


def test_every_alert_is_unit_tested() -> None:
    tested = {
        case["alertname"]
        for path in RULE_TESTS
        for group in load_yaml(path)["tests"]
        for case in group.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert set(alerts()) == tested


def test_the_alerts_cover_backlog_workers_errors_dead_letters_and_the_reconciler() -> None:
    rules = alerts()
    assert rules["KbmQueueBacklogHigh"]["labels"]["severity"] == "warning"
    assert rules["KbmQueueBacklogHigh"]["expr"].endswith("> 100")
    assert rules["KbmQueueBacklogCritical"]["labels"]["severity"] == "critical"
    assert rules["KbmQueueBacklogCritical"]["expr"].endswith("> 1000")
    assert {"KbmWorkerDown", "KbmWorkerServiceDown", "KbmStageErrorRatioHigh"} <= set(rules)
    assert {"KbmDeadLettersGrowing", "KbmReconcilerBehind"} <= set(rules)
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


def test_the_reconciler_alert_and_kbm_doctor_call_it_late_at_the_same_age() -> None:
    expr = alerts()["KbmReconcilerBehind"]["expr"]
    assert expr.endswith(f"> {RECONCILER_LATE_S}"), expr


def test_the_alerts_use_only_metrics_the_project_exports() -> None:
    for name, rule in alerts().items():
        unknown = metric_names(rule["expr"]) - KNOWN_METRICS
        assert not unknown, (name, unknown)
