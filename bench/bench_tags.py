"""Tag convergence: how many distinct tags the development pages end up with, and which.

The 61 article pages are served from loopback and go through the stack in one task
(``stages=["parse", "enrich"]``): ``kbm worker parser`` and ``kbm worker ai`` run at
once, each with several threads, so articles are enriched in parallel and each sees the
tags the others saved (the offline ``local`` provider). The figures, from what was saved:

- tags per item, distinct tags per item (target <= 0.8) and the share of tags used once
  (target <= 35 %): a vocabulary that converges;
- the share of tags found in their article, as themselves or a close form (target 100 %),
  and of tags that are one word among the language's most common (Zipf >= 5.3 in
  wordfreq; target <= 10 %): tags that are topics, not generic words.

``BENCH_REDIS_URL`` (default db 14) says which Redis db; a fresh database is created and
dropped.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench.harness import (
    PageServer,
    bench_env,
    flush_redis,
    fresh_database,
    load_pages,
    report,
    task_service,
    wait_for_task,
    workers,
)
from bench.tag_figures import TaggedArticle, tag_figures
from shared.db import database
from shared.models import Content, Enrichment

PARSER_THREADS = int(os.environ.get("BENCH_TAGS_PARSER_THREADS", "2"))
AI_PROCESSES = int(os.environ.get("BENCH_TAGS_AI_PROCESSES", "2"))
AI_THREADS = int(os.environ.get("BENCH_TAGS_AI_THREADS", "2"))


def saved_articles() -> list[TaggedArticle]:
    """Return every enriched article with the tags it was saved with."""
    rows: Any = (
        Enrichment.select(Enrichment.tags, Enrichment.language, Content.title, Content.text)
        .join(Content, on=(Content.link == Enrichment.link))
        .order_by(Enrichment.link)
        .tuples()
    )
    return [
        TaggedArticle(title, text, language, list(tags or []))
        for tags, language, title, text in rows
    ]


def main() -> None:
    pages = load_pages()
    server = PageServer({page_id: html for page_id, (_url, html, _text) in pages.items()})
    flush_redis()
    try:
        with fresh_database() as database_url:
            env = bench_env(database_url)
            with (
                workers("parser", env, processes=1, threads=PARSER_THREADS),
                workers("ai", env, processes=AI_PROCESSES, threads=AI_THREADS),
            ):
                started = time.monotonic()
                with database.connection_context():
                    urls = [server.url(page_id) for page_id in pages]
                    task_id = task_service(database_url).create_task(
                        urls=urls, stages=["parse", "enrich"]
                    )["task_id"]
                task = wait_for_task(task_id)
                elapsed = time.monotonic() - started
            with database.connection_context():
                articles = saved_articles()
    finally:
        server.close()
    figures = tag_figures(articles)
    report(
        f"tags: {len(pages)} pages, parse + enrich ({AI_PROCESSES} ai processes x "
        f"{AI_THREADS} threads), {task.completed_items} completed in {elapsed:.1f} s",
        figures.rows(),
    )
    for tag, title in figures.not_found[:10]:
        print(f"  not in its article: {tag!r} ({title[:60]})")


if __name__ == "__main__":
    main()
