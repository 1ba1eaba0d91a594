"""Database time of one item's steps at a stage, per backend, in one worker thread.

What the parse stage asks of the database for every page: its start, the read of its
link, the store of its article, and its finish from the state its start read, which
also counts the stock of the queues (``shared.items``). Timed for 400 items on
PostgreSQL (one prepared statement per write) and on SQLite (local mode), after 50 to
warm up; printed in milliseconds per item. The previous records: 13.0 ms per page with
peewee, 4.4 ms with one prepared statement per step and the ORM for every case it did
not cover.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from datetime import date

from bench.harness import fresh_database, report
from shared import items, store
from shared.broker import build_broker
from shared.db import bind_database, database
from shared.migrations import migrate
from shared.models import TaskItem
from shared.settings import Settings
from shared.tasks import TaskService

ITEMS = 400
WARM_UP = 50


def _article(n: int) -> dict[str, object]:
    return {
        "final_url": f"https://example.org/{n}",
        "title": f"Lighthouse {n}",
        "text": "Keepers climbed the stairs every night. " * 120,
        "authors": ["Ann Example"],
        "published_at": date(2024, 5, 17),
        "language": "en",
        "top_image": None,
        "word_count": 720,
        "content_hash": f"hash-{n}",
        "blocks": [{"type": "paragraph", "text": "Keepers climbed the stairs."}] * 20,
        "canonical_url": None,
    }


def _time_items(settings: Settings) -> float:
    """Return the milliseconds per item of the parse stage's database steps."""
    service = TaskService(build_broker(settings, stub=True))
    created = service.create_task(
        urls=[f"https://example.org/page/{n}" for n in range(ITEMS + WARM_UP)],
        stages=["parse", "enrich"],
    )
    ids = [
        item.id
        for item in TaskItem.select(TaskItem.id)
        .where(TaskItem.task == created["task_id"])
        .order_by(TaskItem.id)
    ]
    machine = items.current()

    def step(item_id: int) -> None:
        started = machine.start_stage(item_id, "parse", worker="bench")
        assert started.run
        link = store.link_of_item(item_id)
        store.save_content(link.id, **_article(item_id))  # type: ignore[arg-type]
        # The worker's hand-off: finished from the state its start read, stock counted.
        machine.finish_stage(item_id, "parse", seen=started.state)

    for item_id in ids[:WARM_UP]:
        step(item_id)
    return _timed(step, ids[WARM_UP:]) * 1000 / ITEMS


def _timed(step: Callable[[int], None], ids: list[int]) -> float:
    started = time.perf_counter()
    for item_id in ids:
        step(item_id)
    return time.perf_counter() - started


def main() -> None:
    """Print each backend's milliseconds per item."""
    logging.basicConfig(level=logging.WARNING)
    figures: dict[str, float] = {}
    with fresh_database() as url:
        settings = Settings.from_env(
            database_url=url,
            queue_max_in_flight=ITEMS + WARM_UP,
            task_max_in_flight=ITEMS + WARM_UP,
        )
        figures["postgresql ms/item"] = _time_items(settings)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        bind_database(url)
        migrate()
        settings = Settings.from_env(
            database_url=url,
            queue_max_in_flight=ITEMS + WARM_UP,
            task_max_in_flight=ITEMS + WARM_UP,
        )
        figures["sqlite ms/item"] = _time_items(settings)
        database.close()
    report("items", [(name, f"{value:.2f}") for name, value in figures.items()])


if __name__ == "__main__":
    main()
