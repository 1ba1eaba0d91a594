"""A real Prometheus scrapes a running stack: every target is up, every panel has data.

The stack runs as the deploy files describe it, on loopback: the gateway, one worker
command per service (each with its own metrics port and folder), the housekeeping worker
and the scheduler, against a fresh PostgreSQL database and a Redis server of its own, with
the real OpenAI and Notion SDKs talking to the loopback test servers. Prometheus
(``/usr/bin/prometheus``) runs deploy/prometheus/prometheus.yml with the discovery
replaced by these loopback targets and the alert rules loaded as they are.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest
import redis
import yaml
from psycopg2 import sql

from tests.ai.openai_server import OpenAIServer
from tests.conftest import ADMIN_URL
from tests.deploy.tools import (
    DASHBOARDS,
    PROMETHEUS_DIR,
    dashboard_queries,
    run,
    substitute,
    tool,
)
from tests.notion.notion_server import NotionServer
from tests.stack import KBM, Stack, free_port, load_expected, running_stack, serve_pages
from tests.stack import stack_env as base_stack_env

pytestmark = pytest.mark.e2e

#: Worker commands of the stack: the target's service label → the ``kbm worker`` argument.
WORKERS = {
    "parser": "parser",
    "ai": "ai",
    "notion": "notion",
    "housekeeping": "default",
}


@pytest.fixture()
def fresh_database_url() -> Iterator[str]:
    """Create an empty PostgreSQL database, migrated by ``kbm migrate``; drop it afterwards."""
    name = f"kbm_deploy_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        run([*KBM, "migrate"], env={**os.environ, "DATABASE_URL": url})
        yield url
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture()
def own_redis_url(tmp_path: Path) -> Iterator[str]:
    """Run a Redis server of this test's own on loopback; return its URL.

    A db number of the shared server is not enough: two runs on one machine (two
    developers, or CI beside one) would consume and flush each other's messages.
    """
    port = free_port()
    process = subprocess.Popen(
        [tool("redis-server"), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def worker_command(service: str, port: int) -> list[str]:
    """Return ``kbm worker SERVICE`` with its own metrics port (and so its own folder)."""
    return [*KBM, "worker", service, "-p", "1", "-t", "2", "--metrics-port", str(port)]


def prometheus_config(
    api_port: int, worker_ports: dict[str, int], prometheus_port: int
) -> dict[str, Any]:
    """Return deploy/prometheus/prometheus.yml with loopback targets instead of DNS."""
    config: dict[str, Any] = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS_DIR / rule) for rule in config["rule_files"]]
    targets: dict[str, list[dict[str, Any]]] = {
        "kbm-gateway": [{"targets": [f"127.0.0.1:{api_port}"], "labels": {"service": "api"}}],
        "kbm-worker": [
            {"targets": [f"127.0.0.1:{port}"], "labels": {"service": name}}
            for name, port in worker_ports.items()
        ],
        "prometheus": [{"targets": [f"127.0.0.1:{prometheus_port}"]}],
    }
    assert {job["job_name"] for job in config["scrape_configs"]} == set(targets)
    for job in config["scrape_configs"]:
        # The discovery (and the relabelling of its labels) is what the stack replaces.
        job.pop("dns_sd_configs", None)
        job.pop("relabel_configs", None)
        job["static_configs"] = targets[job["job_name"]]
    return config


@contextlib.contextmanager
def running_prometheus(config: dict[str, Any], port: int, root: Path) -> Iterator[str]:
    """Run Prometheus with ``config`` on 127.0.0.1:``port``; yield its URL."""
    binary = tool("prometheus")
    config_file = root / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    run([tool("promtool"), "check", "config", str(config_file)])
    log = (root / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={root / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"prometheus exited\n{(root / 'prometheus.log').read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail(f"prometheus never became ready\n{(root / 'prometheus.log').read_text()}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def query(url: str, expr: str) -> list[dict[str, Any]]:
    """Evaluate an instant query; fail on a query error."""
    answer = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    if answer["status"] != "success":
        pytest.fail(f"{expr}: {answer.get('errorType')}: {answer.get('error')}")
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def has_finite_value(result: list[dict[str, Any]]) -> bool:
    """Tell whether an instant vector (or scalar) holds at least one finite number."""
    return any(math.isfinite(float(sample["value"][1])) for sample in result)


def wait_for_targets(url: str, expected: int, stack: Stack, timeout: float = 60) -> None:
    """Wait until Prometheus has ``expected`` active targets, all up."""
    deadline = time.monotonic() + timeout
    targets: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        targets = httpx.get(f"{url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        if len(targets) == expected and all(target["health"] == "up" for target in targets):
            return
        time.sleep(0.5)
    described = [
        (target["labels"].get("job"), target["scrapeUrl"], target["health"], target["lastError"])
        for target in targets
    ]
    pytest.fail(f"targets not all up: {described}\n{stack.tail_logs()}")


def test_prometheus_scrapes_every_target_and_every_dashboard_panel_has_data(
    fresh_database_url: str, own_redis_url: str, tmp_path: Path
) -> None:
    # Given the whole stack on loopback, the real SDKs talking to the loopback OpenAI and
    # Notion servers, and a page server with real articles and a page that always fails
    tool("prometheus")
    expected = load_expected()
    page_ids = sorted(expected)[:3]
    ports = {name: free_port() for name in WORKERS}
    with (
        serve_pages({page_id: expected[page_id] for page_id in page_ids}) as site,
        OpenAIServer() as openai_server,
        NotionServer(rate=100.0, burst=20.0) as notion_server,
    ):
        env = base_stack_env(
            fresh_database_url,
            own_redis_url,
            tmp_path,
            AI_PROVIDER="openai",
            OPENAI_BASE_URL=openai_server.base_url,
            OPENAI_API_KEY="test-key",
            OPENAI_MODEL="gpt-4o-mini",
            # tiktoken would try to download its encodings (no internet here).
            AI_TOKENIZER="estimate",
            PUBLISHER="notion",
            NOTION_BASE_URL=notion_server.base_url,
            NOTION_TOKEN=notion_server.token,
            NOTION_DATABASE_ID=notion_server.database_id,
            NOTION_RATE_LIMIT="50",
            WORKER_METRICS_HOST="127.0.0.1",
        )
        for name in ("dramatiq_prom_db", "dramatiq_prom_port", "PROMETHEUS_MULTIPROC_DIR"):
            env.pop(name, None)
        commands = {
            "api": [*KBM, "api"],
            **{name: worker_command(arg, ports[name]) for name, arg in WORKERS.items()},
            "scheduler": [*KBM, "scheduler"],
        }
        api_port = int(env["API_PORT"])
        prometheus_port = free_port()
        config = prometheus_config(api_port, ports, prometheus_port)
        with (
            running_stack(env, commands, tmp_path) as stack,
            running_prometheus(config, prometheus_port, tmp_path) as prometheus,
        ):
            # When links go through every stage (one of them failing until it is dead-lettered)
            wait_for_targets(prometheus, 1 + len(WORKERS) + 1, stack)
            urls = [site.url(f"/page/{page_id}") for page_id in page_ids]
            urls.append(site.url("/fail500/always"))
            with stack.http() as client:
                answer = client.post("/api/pipeline", json={"urls": urls})
                assert answer.status_code == 202, answer.text
                task_id = answer.json()["data"]["task_id"]
            task = stack.wait_for_task(task_id, timeout=180)
            assert task["completed_items"] == len(page_ids), task
            # A second batch a few scrapes later: a fast stack can finish the first
            # within one scrape interval, and rate() needs an increase between samples.
            time.sleep(3)
            with stack.http() as client:
                again = [site.url(f"/page/{page_id}?again") for page_id in page_ids]
                answer = client.post("/api/pipeline", json={"urls": again})
                assert answer.status_code == 202, answer.text
            second = stack.wait_for_task(answer.json()["data"]["task_id"], timeout=180)
            assert second["completed_items"] == len(page_ids), second

            # Then every target stays up, every panel's query returns a number, and every
            # alert rule evaluates without error
            wait_for_targets(prometheus, 1 + len(WORKERS) + 1, stack, timeout=10)
            queries = [
                (path.name, title, expr)
                for path in DASHBOARDS
                for title, expr in dashboard_queries(path)
            ]
            assert queries, "no dashboard queries found"
            empty: list[tuple[str, str, str]] = queries
            deadline = time.monotonic() + 90
            while empty and time.monotonic() < deadline:
                empty = [
                    (name, title, expr)
                    for name, title, expr in empty
                    if not has_finite_value(query(prometheus, substitute(expr)))
                ]
                if empty:
                    time.sleep(2)
            assert not empty, "panels without data:\n" + "\n".join(
                f"  {name} / {title}: {expr}" for name, title, expr in empty
            )
            groups = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
            broken = [
                (rule["name"], rule.get("lastError"))
                for group in groups
                for rule in group["rules"]
                if rule["health"] != "ok"
            ]
            assert groups and not broken, broken
