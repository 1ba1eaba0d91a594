"""Chaos at the remote ends: Notion and the model server failing while work goes on.

The stack runs the real ``openai`` and ``notion-client`` SDKs against the loopback
servers of ``tests/ai`` and ``tests/notion``. Mid-run, Notion answers 5xx, lets requests
time out, loses the answer of creates that did happen, and rate-limits in a burst; the
model server answers 429 and 500. Every item must still complete, with exactly one Notion
page per link and counters equal to the items.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ai.openai_server import OpenAIServer
from tests.chaos.conftest import CHAOS_SETTINGS
from tests.chaos.scenario import Published, run_scenario, scenario_urls
from tests.conftest import REDIS_URL
from tests.notion.notion_server import NotionServer
from tests.stack import KBM, PageSite, Stack, running_stack, stack_env, worker_argv

pytestmark = pytest.mark.chaos

ITEMS = 200
#: Notion's own limit while no burst is under way: above what the workers ask for.
NOTION_RATE = 40.0


@pytest.fixture(scope="module")
def notion() -> Iterator[NotionServer]:
    """The loopback Notion API, fast enough not to be the bottleneck between bursts."""
    with NotionServer(rate=NOTION_RATE, burst=NOTION_RATE) as server:
        yield server


@pytest.fixture(scope="module")
def model() -> Iterator[OpenAIServer]:
    """The loopback OpenAI-compatible model server."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture(scope="module")
def remote_stack(
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    notion: NotionServer,
    model: OpenAIServer,
) -> Iterator[Stack]:
    """Every service's workers, publishing to the loopback Notion with the loopback model."""
    root = tmp_path_factory.mktemp("chaos-remote")
    env = stack_env(
        database_url,
        REDIS_URL,
        root,
        **CHAOS_SETTINGS,
        AI_PROVIDER="openai",
        OPENAI_BASE_URL=model.base_url,
        OPENAI_API_KEY="chaos-key",
        OPENAI_MODEL="gpt-4o-mini",
        AI_TOKENIZER="estimate",  # tiktoken would download its encodings
        AI_REQUEST_TIMEOUT="3",
        PUBLISHER="notion",
        NOTION_BASE_URL=notion.base_url,
        NOTION_TOKEN=notion.token,
        NOTION_DATABASE_ID=notion.database_id,
        NOTION_RATE_LIMIT="25",
        NOTION_REQUEST_TIMEOUT="2",
    )
    commands = {
        "api": [*KBM, "api"],
        "parser": worker_argv("parser", 2, 4),
        "ai": worker_argv("ai", 1, 4),
        "notion": worker_argv("notion", 2, 4),
        "default": worker_argv("default", 1, 2),
        "scheduler": [*KBM, "scheduler"],
    }
    with running_stack(env, commands, root) as running:
        yield running


def _notion_pages(notion: NotionServer) -> Published:
    """Count the Notion pages made from now on per link id, by their URL property."""
    before = len(notion.pages)

    def count(items: list[dict[str, Any]]) -> Counter[str]:
        pages: Counter[str] = Counter()
        for item in items:
            found = len(notion.pages_with_url(item["url"]))
            if found:
                pages[str(item["link_id"])] = found
        strays = len(notion.pages) - before - sum(pages.values())
        if strays:
            pages["pages of no item"] = strays
        return pages

    return count


def test_notion_failing_timing_out_and_rate_limiting_mid_run_gives_one_page_per_link(
    remote_stack: Stack,
    notion: NotionServer,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    def fail_notion(stack: Stack, task_id: int) -> None:
        # 5xx before and after a create was done, creates timing out (nothing done), creates
        # that happened but whose answer never came, a 529-like overload, then a burst of
        # 429s while Notion's limit drops to 2 requests/s for five seconds.
        notion.inject("error", method="POST", path="^/v1/pages$", times=4, status=500)
        notion.inject("error_after", method="POST", path="^/v1/pages$", skip=6, times=3)
        notion.inject("hang", method="POST", path="^/v1/pages$", skip=3, times=3, seconds=3)
        notion.inject("lose", method="POST", path="^/v1/pages$", skip=12, times=3, seconds=3)
        notion.inject(
            "error", path="^/v1/", skip=30, times=4, status=503, code="service_unavailable"
        )
        notion.set_rate(2.0, 2.0)
        timer = threading.Timer(5.0, notion.set_rate, args=(NOTION_RATE, NOTION_RATE))
        timer.start()

    urls = scenario_urls(site, expected_pages, "notion", ITEMS)
    started = len(notion.records)
    task, items = run_scenario(
        remote_stack, urls, "Notion faults", fail_notion, _notion_pages(notion)
    )

    failed = [(item["stage"], item["attempts"], item["error"]) for item in items if item["error"]]
    assert (task["status"], task["completed_items"]) == ("completed", ITEMS), failed
    assert notion.duplicates() == {}
    answered = [record.status for record in notion.records[started:]]
    faults = [record.fault for record in notion.records[started:] if record.fault]
    print(
        f"  Notion: {len(answered)} requests, {answered.count(429)} answered 429, "
        f"{len(faults)} faults injected ({', '.join(sorted(set(faults)))})"
    )
    assert answered.count(429) > 0, "the burst never rate-limited a request"
    assert len(faults) == 4 + 3 + 3 + 3 + 4, "not every injected fault was hit"


def test_the_model_server_answering_429_and_500_mid_run_loses_nothing(
    remote_stack: Stack,
    notion: NotionServer,
    model: OpenAIServer,
    site: PageSite,
    expected_pages: dict[str, dict[str, str]],
    db: str,
    redis_url: str,
) -> None:
    def fail_model(stack: Stack, task_id: int) -> None:
        model.behaviour.retry_after = "1"
        model.behaviour.rate_limits = 15
        model.behaviour.server_errors = 10

    urls = scenario_urls(site, expected_pages, "model", ITEMS)
    started = len(model.received)
    task, _ = run_scenario(remote_stack, urls, "model faults", fail_model, _notion_pages(notion))

    assert (task["status"], task["completed_items"]) == ("completed", ITEMS)
    statuses = Counter(request.status for request in model.received[started:])
    print(f"  model server: {dict(sorted(statuses.items()))}")
    assert (statuses[429], statuses[500]) == (15, 10)
    assert (model.behaviour.rate_limits, model.behaviour.server_errors) == (0, 0)
