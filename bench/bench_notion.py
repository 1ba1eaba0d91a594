"""Publishing to Notion at its rate limit: 3 notion worker processes, one loopback Notion.

Links get real article texts from ``../shared/data/pages`` (every 20th one all of them
together, ~360 000 characters, which takes more than one request); the loopback server
enforces Notion's limits and its 3 requests/s bucket. Figures: pages/s as a ratio to
what the rate limit allows at the measured requests per page (target ≥ 0.9), requests
per page, the share answered 429 (target ≤ 2 %), duplicate and incomplete pages (0).

``BENCH_NOTION_PAGES`` sets the number of pages (default 200, ~80 s).

Fault mode: ``BENCH_NOTION_FAULT_EVERY=9`` makes the loopback Notion answer every ninth
request with a 503 ``service_unavailable`` (doing nothing). A create answered so has an
unknown outcome: its page is looked up by URL once ``NOTION_CREATE_SETTLE`` (65 s) has
passed since it was sent, so the run lasts at least that long; pages/s is then also
given outside those waits (time with no request for over a second is not counted).
Target with one 5xx in nine: ≤ 1.5 requests per page, no duplicate, and pages/s outside
the settle waits ≥ 0.8 x (rate ÷ requests per page).
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import time

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
from services.notion.blocks import content_blocks
from shared import store
from shared.blocks import Block, paragraphs_from_text
from shared.db import database
from tests.notion.notion_server import NotionServer, RequestRecord

PAGES = int(os.environ.get("BENCH_NOTION_PAGES", "200"))
FAULT_EVERY = int(os.environ.get("BENCH_NOTION_FAULT_EVERY", "0"))
#: A gap between two requests longer than this is a wait (settle, retry delay), not work.
IDLE_GAP = 1.0
RATE = 3.0
PROCESSES = 3
THREADS = 4
BOOK_EVERY = 20


def article(paragraphs: list[Block], title: str) -> list[Block]:
    """Return paragraphs with a heading before every sixth, as extracted articles have."""
    blocks: list[Block] = []
    for index, paragraph in enumerate(paragraphs):
        if index % 6 == 0:
            blocks.append({"type": "heading", "level": 2, "text": f"{title}, part {index // 6}"})
        blocks.append(paragraph)
    return blocks


def seed(url: str) -> tuple[list[int], dict[str, int]]:
    """Store enriched links; return their ids and each URL's expected block count."""
    texts = [text for _, _, text in load_pages().values()]
    book = "\n".join(texts)
    service = task_service(url)
    links = service.create_links([f"https://bench.example/article/{n}" for n in range(PAGES)])
    expected: dict[str, int] = {}
    with database.connection_context():
        for number, link in enumerate(links):
            text = book if number % BOOK_EVERY == BOOK_EVERY - 1 else texts[number % len(texts)]
            blocks = article(paragraphs_from_text(text), f"Article {number}")
            summary = " ".join(text.split()[:60])
            store.save_content(
                link.id,
                final_url=link.url,
                title=f"Article {number}",
                text=text,
                authors=["Bench Writer"],
                published_at=None,
                language="en",
                top_image=None,
                word_count=len(text.split()),
                content_hash=f"bench-{number}",
                blocks=blocks,
            )
            store.save_enrichment(
                link.id,
                summary=summary,
                category="Technology",
                tags=[f"tag{number % 7}", "bench"],
                sentiment="neutral",
                sentiment_score=0.0,
                language="en",
                provider="local",
                model="local",
            )
            expected[link.url] = len(content_blocks(summary, blocks))
    return [link.id for link in links], expected


def main() -> None:
    """Publish the pages through three worker processes and print the figures."""
    # A SIGTERM (a CI timeout) unwinds the blocks: the workers stop, the database goes.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    flush_redis()
    with fresh_database() as url, NotionServer(rate=RATE, burst=RATE) as server:
        link_ids, expected = seed(url)
        env = bench_env(
            url,
            PUBLISHER="notion",
            NOTION_TOKEN=server.token,
            NOTION_DATABASE_ID=server.database_id,
            NOTION_BASE_URL=server.base_url,
            NOTION_RATE_LIMIT=str(RATE),
        )
        with workers("notion", env, processes=PROCESSES, threads=THREADS):
            # Each process checks the database at start-up (shared through Redis once one
            # has read it): not part of the run.
            deadline = time.monotonic() + 30
            seen, quiet_since = -1, time.monotonic()
            while time.monotonic() < deadline and (
                seen < 1 or time.monotonic() - quiet_since < 2.0
            ):
                if len(server.requests()) != seen:
                    seen, quiet_since = len(server.requests()), time.monotonic()
                time.sleep(0.1)
            startup = len(server.requests())
            if FAULT_EVERY:
                server.inject(
                    "error",
                    every=FAULT_EVERY,
                    status=503,
                    code="service_unavailable",
                    times=10**9,
                )
            started = time.monotonic()
            task_id = task_service(url).create_task(link_ids=link_ids, stages=["publish"])[
                "task_id"
            ]
            task = wait_for_task(task_id)
            elapsed = time.monotonic() - started
        records = server.requests()[startup:]
        pages = list(server.pages.values())
        incomplete = sum(
            1
            for page in pages
            if len(server.content(page["id"])) != expected.get(page["properties"]["URL"]["url"], -1)
        )
        duplicates = sum(count - 1 for count in server.duplicates().values())

    published = task.completed_items
    per_page = len(records) / max(published, 1)
    pages_per_second = published / elapsed
    refused = sum(1 for record in records if record.status == 429)
    gaps = [after.at - before.at for before, after in itertools.pairwise(records)]
    busy = sum(min(gap, IDLE_GAP) for gap in gaps) or elapsed
    busy_rate = published / busy
    fault_rows = [
        ("faults", f"every {FAULT_EVERY}th request answered 503 ({_faults(records)} of them)"),
        ("requests by kind", _kinds(records)),
        ("time with requests", f"{busy:.1f} s (gaps over {IDLE_GAP:g} s left out)"),
        ("pages/s outside waits", f"{busy_rate:.3f}"),
        (
            "ratio outside waits",
            f"{busy_rate / (RATE / per_page):.3f} (target ≥ 0.8; requests/page target ≤ 1.5)",
        ),
    ]
    report(
        f"notion: {PAGES} pages, {PROCESSES} processes x {THREADS} threads, "
        f"Notion at {RATE:g} requests/s" + (f", one 503 in {FAULT_EVERY}" if FAULT_EVERY else ""),
        [
            ("pages published", f"{published} of {PAGES} (failed {task.failed_items})"),
            ("time", f"{elapsed:.1f} s"),
            ("pages/s", f"{pages_per_second:.3f}"),
            ("requests/page", f"{per_page:.3f} ({len(records)} requests)"),
            (
                "ratio to rate ÷ requests/page",
                f"{pages_per_second / (RATE / per_page):.3f} (target ≥ 0.9)",
            ),
            ("429 share", f"{refused / max(len(records), 1):.2%} ({refused}; target ≤ 2 %)"),
            ("duplicate pages", f"{duplicates} (must be 0)"),
            ("incomplete pages", f"{incomplete} (must be 0)"),
            ("start-up requests", f"{startup} (identity, database and schema, shared)"),
            *(fault_rows if FAULT_EVERY else [("requests by kind", _kinds(records))]),
        ],
    )


def _kinds(records: list[RequestRecord]) -> str:
    """Return the requests counted by what they were, e.g. ``create 31, query 3``."""
    counts: dict[str, int] = {}
    for record in records:
        path = record.path
        if path == "/v1/pages" and record.method == "POST":
            kind = "create"
        elif path.endswith("/query"):
            kind = "query"
        elif path.endswith("/children"):
            kind = "append" if record.method == "PATCH" else "children"
        elif path.startswith(("/v1/databases", "/v1/data_sources")):
            kind = "schema"
        elif path.startswith("/v1/users"):
            kind = "identity"
        else:
            kind = f"{record.method} {path.split('/')[2]}"
        if record.status != 200:
            kind += f" ({record.status})"
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))


def _faults(records: list[RequestRecord]) -> int:
    return sum(1 for record in records if record.fault == "error")


if __name__ == "__main__":
    main()
