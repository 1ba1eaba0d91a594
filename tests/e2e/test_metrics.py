"""Metrics of a running stack: every worker command on its port, the gateway on /metrics."""

from __future__ import annotations

import httpx
import pytest

from tests.stack import PageSite, Stack

pytestmark = pytest.mark.e2e


def _metrics_port(stack: Stack, name: str) -> int:
    argv = stack.commands[name]
    return int(argv[argv.index("--metrics-port") + 1])


def test_each_worker_command_serves_dramatiqs_and_the_stage_metrics(
    stack: Stack, site: PageSite, expected_pages: dict[str, dict[str, str]], db: str, redis_url: str
) -> None:
    urls = [site.url(f"/page/{page_id}?metrics=1") for page_id in sorted(expected_pages)[:2]]
    with stack.http() as client:
        task_id = client.post("/api/pipeline", json={"urls": urls}).json()["data"]["task_id"]
    stack.wait_for_task(task_id)
    for name, stage in (("parser", "parse"), ("ai", "enrich"), ("notion", "publish")):
        text = httpx.get(f"http://127.0.0.1:{_metrics_port(stack, name)}/", timeout=10).text
        assert "dramatiq_messages_total{" in text, name
        assert f'kbm_stage_outcomes_total{{outcome="completed",stage="{stage}"}}' in text, name
        assert f'kbm_stage_duration_seconds_count{{stage="{stage}"}}' in text, name


def test_the_gateway_serves_queue_depths_items_tasks_and_request_counts(
    stack: Stack, db: str, redis_url: str
) -> None:
    with stack.http() as client:
        client.get("/api/tasks/history")
        text = client.get("/metrics").text
    for family in (
        'kbm_queue_messages{queue="parsing",state="waiting"}',
        "kbm_redis_up 1.0",
        "kbm_workers_alive",
        "# TYPE kbm_items gauge",
        "# TYPE kbm_tasks gauge",
        'kbm_gateway_requests_total{method="GET",route="/api/tasks/history",status="200"}',
    ):
        assert family in text, family
