"""deploy/grafana: the provisioned datasource and the pipeline dashboard."""

from __future__ import annotations

import json
from pathlib import Path

from tests.deploy.tools import (
    DASHBOARDS,
    DEPLOY,
    KNOWN_METRICS,
    ROOT,
    all_panels,
    dashboard_queries,
    load_yaml,
    metric_names,
    substitute,
)

PROVISIONING = DEPLOY / "grafana" / "provisioning"


def datasource_uid() -> str:
    """Return the uid of the provisioned Prometheus datasource."""
    (source,) = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    uid: str = source["uid"]
    return uid


def test_the_datasource_points_at_the_compose_prometheus() -> None:
    (source,) = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in load_yaml(ROOT / "docker-compose.yml")["services"]


def test_the_dashboards_are_provisioned_from_where_compose_mounts_them() -> None:
    (provider,) = load_yaml(PROVISIONING / "dashboards" / "kbm.yml")["providers"]
    grafana = load_yaml(ROOT / "docker-compose.yml")["services"]["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"])
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert DASHBOARDS


def test_every_dashboard_query_is_valid_promql_on_known_metrics() -> None:
    for path in DASHBOARDS:
        for title, expr in dashboard_queries(path):
            unknown = metric_names(substitute(expr)) - KNOWN_METRICS
            assert not unknown, (path.name, title, unknown)


def test_every_panel_uses_the_provisioned_datasource() -> None:
    uid = datasource_uid()
    for path in DASHBOARDS:
        for panel in all_panels(path):
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] == uid, panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == uid, panel["title"]


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    for path in DASHBOARDS:
        panels = all_panels(path)
        ids = [panel["id"] for panel in panels]
        assert len(ids) == len(set(ids)), path.name
        cells: dict[tuple[int, int], str] = {}
        for panel in panels:
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
            for x in range(grid["x"], grid["x"] + grid["w"]):
                for y in range(grid["y"], grid["y"] + grid["h"]):
                    assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                    cells[(x, y)] = panel["title"]


def test_the_dashboard_shows_the_whole_pipeline_overview() -> None:
    path = DEPLOY / "grafana" / "dashboards" / "kbm-pipeline.json"
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] == "kbm-pipeline"
    queries = " ".join(expr for _, expr in dashboard_queries(path))
    for needed in (
        'kbm_stage_outcomes_total{outcome="completed"}',  # throughput
        'kbm_queue_messages{state="waiting"}',  # backlog per queue
        "histogram_quantile(0.95, sum by (stage, le) (rate(kbm_stage_duration_seconds_bucket",
        "dramatiq_message_retries_total",  # failures and retries
        "dramatiq_message_errors_total",
        'kbm_queue_messages{state="dead"}',  # dead letters
        'up{job="kbm-worker"}',  # workers up
        "kbm_workers_alive",
        "kbm_ai_prompt_tokens_total",  # LLM tokens and cost
        "kbm_ai_completion_tokens_total",
        "kbm_ai_cost_usd_total",
        "kbm_notion_requests_total",  # Notion rate use
        "kbm_notion_rate_limited_total",
    ):
        assert needed in queries, needed


def test_every_panel_is_described() -> None:
    for path in DASHBOARDS:
        for panel in all_panels(Path(path)):
            if panel["type"] != "row":
                assert panel["title"] and panel.get("description"), panel["title"]
