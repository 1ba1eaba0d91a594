"""ai-stage throughput with a 200 ms model, as a share of the ideal, and tokens per article.

Only the enrich stage runs: links get their content rows directly, and a task with
``stages=["enrich"]`` sends them to ``kbm worker ai`` processes that call the loopback
OpenAI-compatible server of the tests through the real SDK. With every request taking
the model's latency, (processes * threads) / latency is the most any set-up can do; the
ratio to it measures what the stage adds (database, queue, SDK, prompt and checks).
Target: 0.8 or more.

A second baseline shows how much of the gap is the model call itself: the same
processes and threads calling the provider directly (prompt, SDK request, answer
checks; no queue, no database) against the same server, in the same run.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import threading
import time

from peewee import fn

from bench.harness import (
    bench_env,
    flush_redis,
    fresh_database,
    load_pages,
    report,
    task_service,
    wait_for_task,
    workers,
)
from services.ai.enrich import build_provider, enrich_article
from services.ai.providers import ArticleInput
from services.ai.tokens import estimate_tokens
from shared import store
from shared.db import database
from shared.models import Enrichment
from shared.settings import Settings
from tests.ai.openai_server import Behaviour, OpenAIServer

LATENCY = 0.2
PROCESSES = 2
THREADS = 8
ITEMS = int(os.environ.get("BENCH_AI_ITEMS", "800"))
WARM_UP_ITEMS = PROCESSES * THREADS * 2


def _create_articles(database_url: str, count: int) -> list[int]:
    """Create ``count`` links with parsed content from the real article bodies."""
    texts = [text for _, _, text in load_pages().values() if text.strip()]
    service = task_service(database_url)
    with database.connection_context():
        links = service.create_links([f"https://bench.example/article/{n}" for n in range(count)])
        for n, link in enumerate(links):
            text = texts[n % len(texts)]
            store.save_content(
                link.id,
                final_url=link.url,
                title=f"Article {n}",
                text=text,
                authors=[],
                published_at=None,
                language="en",
                top_image=None,
                word_count=len(text.split()),
                content_hash=f"bench-{n}",
            )
    return [link.id for link in links]


def _run(database_url: str, link_ids: list[int]) -> float:
    """Enrich ``link_ids`` in one task; return the seconds it took."""
    service = task_service(database_url)
    start = time.monotonic()
    with database.connection_context():
        task_id = service.create_task(link_ids=link_ids, stages=["enrich"])["task_id"]
    task = wait_for_task(task_id)
    elapsed = time.monotonic() - start
    if task.completed_items != len(link_ids):
        raise RuntimeError(f"task {task_id}: {task.completed_items}/{len(link_ids)} completed")
    return elapsed


def _provider_calls(base_url: str, count: int) -> float:
    """In a fresh process: ``count`` enrichments on THREADS threads; return the seconds."""
    settings = Settings.from_env(
        _env_file=None, ai_provider="openai", openai_base_url=base_url, openai_api_key="test"
    )
    provider = build_provider(settings)
    texts = [text for _, _, text in load_pages().values() if text.strip()]
    articles = [
        ArticleInput(title=f"Article {n}", text=texts[n % len(texts)], language="en", url="")
        for n in range(count)
    ]
    enrich_article(provider, articles[0], [])  # the first connection is not throughput
    shares = [articles[n::THREADS] for n in range(THREADS)]

    def run(share: list[ArticleInput]) -> None:
        for article in share:
            enrich_article(provider, article, [])

    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def _bare_provider_rate(base_url: str, items: int) -> float:
    """Return the items/s of PROCESSES x THREADS calling the provider with no pipeline."""
    per_process = items // PROCESSES
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        seconds = pool.starmap(_provider_calls, [(base_url, per_process)] * PROCESSES)
    return per_process * PROCESSES / max(seconds)


def main() -> None:
    flush_redis()
    with fresh_database() as database_url, OpenAIServer(Behaviour(latency=LATENCY)) as server:
        link_ids = _create_articles(database_url, ITEMS)
        env = bench_env(
            database_url,
            AI_PROVIDER="openai",
            OPENAI_BASE_URL=server.base_url,
            OPENAI_API_KEY="test",
        )
        with workers("ai", env, processes=PROCESSES, threads=THREADS):
            # Process start-up (imports, first connections) is not the stage's throughput.
            _run(database_url, link_ids[:WARM_UP_ITEMS])
            requests_before = len(server.received)
            elapsed = _run(database_url, link_ids)
            requests = len(server.received) - requests_before
        bare_rate = _bare_provider_rate(server.base_url, ITEMS)
        with database.connection_context():
            prompt = [row.prompt_tokens for row in Enrichment.select(Enrichment.prompt_tokens)]
            completion = Enrichment.select(fn.AVG(Enrichment.completion_tokens)).scalar()
            cost = Enrichment.select(fn.SUM(Enrichment.cost_usd)).scalar()
        texts = [text for _, _, text in load_pages().values() if text.strip()]
        article_tokens = statistics.mean(estimate_tokens(text) for text in texts)

    throughput = ITEMS / elapsed
    ideal = PROCESSES * THREADS / LATENCY
    # The ratio falls when other work shares the CPUs: say how busy they were.
    load = os.getloadavg()[0]
    report(
        f"ai stage: {ITEMS} articles, {PROCESSES} processes x {THREADS} threads, "
        f"model latency {LATENCY * 1000:.0f} ms",
        [
            ("elapsed", f"{elapsed:.1f} s"),
            ("throughput", f"{throughput:.1f} items/s"),
            ("ideal", f"{ideal:.1f} items/s ((processes * threads) / latency)"),
            ("ratio", f"{throughput / ideal:.2f} (target ≥ 0.8)"),
            (
                "provider alone",
                f"{bare_rate:.1f} items/s (same processes x threads, no queue or database): "
                f"{bare_rate / ideal:.2f} of the ideal; "
                f"the stage is {throughput / bare_rate:.2f} of it",
            ),
            ("load average", f"{load:.2f} on {os.cpu_count()} CPUs (1 min, at the end)"),
            ("requests per article", f"{requests / ITEMS:.2f}"),
            ("prompt tokens per article", f"{statistics.mean(prompt):.0f} (server's count)"),
            ("  of which article text", f"{article_tokens:.0f} (estimate, mean of the pages)"),
            ("completion tokens per article", f"{float(completion or 0):.0f}"),
            ("estimated cost", f"${float(cost or 0):.4f} at gpt-4o-mini prices"),
        ],
    )


if __name__ == "__main__":
    main()
