"""A real ``kbm worker notion`` killed mid-page, restarted: one page, every block once.

Dramatiq redelivers a killed worker's message only after its heartbeat times out; the
test drops the dead worker's heartbeat and re-sends the stage message itself, which is
what the timeout and the redelivery amount to. What is under test is the publisher's
resumption across processes, from what PostgreSQL holds. The workers use their own
Redis db, so the e2e stack's workers never take these messages.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from services.notion import progress
from services.notion.publishers.base import COMPLETE, CREATING
from shared import store
from shared.broker import build_broker
from shared.db import database
from shared.feeding import item_message
from shared.models import Task, TaskItem
from shared.pipeline import PUBLISH
from shared.settings import Settings
from shared.tasks import TaskService
from tests.notion.conftest import NOTION_REDIS_URL
from tests.notion.notion_server import NotionServer

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = NOTION_REDIS_URL
URL = "https://example.org/a-long-article"
PARAGRAPHS = [f"Paragraph {n}: " + "lorem ipsum dolor " * 28 for n in range(2500)]


@pytest.fixture()
def worker_redis() -> Iterator[str]:
    """Return the workers' Redis db, without Dramatiq's keys (rate-limit buckets stay)."""
    client = redis.Redis.from_url(REDIS_URL)

    def clear() -> None:
        for key in client.scan_iter(match="dramatiq:*", count=500):
            client.delete(key)

    clear()
    yield REDIS_URL
    clear()
    client.close()


class Workers:
    """Starts and kills ``kbm worker notion`` processes, logging to one file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", "services.cli.main", "worker", "notion"]
        argv += ["--processes", "1", "--threads", "1"]
        # Each start gets its own metrics port: a killed worker's may not be free yet.
        metrics = {
            "dramatiq_prom_port": str(_free_port()),
            "dramatiq_prom_db": str(self.log.parent),
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                env={**self.env, **metrics},
                cwd=ROOT,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Callable[[], bool], what: str, workers: Workers, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen within {timeout} s\n{workers.tail()}")


@pytest.mark.parametrize(
    ("action", "method", "path"),
    [
        ("hang", "PATCH", "/children$"),  # killed while an append waits, not applied
        ("lose", "PATCH", "/children$"),  # killed after an append landed unanswered
        ("lose", "POST", "^/v1/pages$"),  # killed after the create landed unanswered
    ],
)
def test_a_worker_killed_mid_page_leaves_one_complete_page_after_a_restart(
    db: str, worker_redis: str, tmp_path: Path, action: str, method: str, path: str
) -> None:
    with NotionServer(rate=1000) as server:
        # Given a long article (a create and two appends) and a request that never answers
        settings = Settings.from_env(_env_file=None, database_url=db, redis_url=worker_redis)
        broker = build_broker(settings)
        service = TaskService(broker)
        [link] = service.create_links([URL])
        store.save_content(
            link.id,
            final_url=URL,
            title="A long article",
            text="\n".join(PARAGRAPHS),
            authors=[],
            published_at=None,
            language="en",
            top_image=None,
            word_count=len(PARAGRAPHS) * 57,
            content_hash="hash",
        )
        store.save_enrichment(
            link.id,
            summary="The summary.",
            category="Technology",
            tags=["long"],
            sentiment="neutral",
            sentiment_score=0.0,
            language="en",
            provider="local",
            model="local",
        )
        server.inject(action, method=method, path=path, seconds=120)
        env = {
            **os.environ,
            "DATABASE_URL": db,
            "REDIS_URL": worker_redis,
            "PUBLISHER": "notion",
            "NOTION_TOKEN": server.token,
            "NOTION_DATABASE_ID": server.database_id,
            "NOTION_BASE_URL": server.base_url,
            "NOTION_RATE_LIMIT": "1000",
            "NOTION_REQUEST_TIMEOUT": "50",
            "RETRY_DELAYS": "0,0.2,0.4",
            # A create with no answer is looked up once this has passed since it was sent.
            "NOTION_CREATE_SETTLE": "2",
            "WORKER_POLL_MS": "50",
            "PYTHONUNBUFFERED": "1",
        }
        workers = Workers(env, tmp_path / "worker.log")
        task_id = service.create_task(link_ids=[link.id], stages=["publish"])["task_id"]
        workers.start()
        try:
            # When the worker is killed while that request hangs
            wait_for(
                lambda: any(record.fault == action for record in server.requests()),
                f"the {method} that {action}s",
                workers,
            )
            time.sleep(0.3)
            workers.kill()
            # What Dramatiq's heartbeat timeout would conclude, later: that worker is gone.
            redis.Redis.from_url(worker_redis).delete("dramatiq:__heartbeats__")
            with database.connection_context():
                stored = progress.load(link.id)
            assert stored is not None and stored.state == CREATING
            if method == "POST":
                assert stored.page_id == ""  # the create's outcome is unknown
            else:
                assert stored.page_id in server.pages and stored.blocks_written > 0

            # and a restarted worker gets the message again
            workers.start()
            with database.connection_context():
                item = TaskItem.get(TaskItem.task == task_id)
            broker.enqueue(item_message(PUBLISH, item.id))

            def finished() -> bool:
                with database.connection_context():
                    return Task.get_by_id(task_id).finished_at is not None

            wait_for(finished, "the task's end", workers)
        finally:
            workers.stop()
            broker.close()

        # Then the link has one page holding every block once, in order
        with database.connection_context():
            assert Task.get_by_id(task_id).status == "completed", workers.tail()
            publication = progress.load(link.id)
        assert len(server.pages_with_url(URL)) == 1
        assert publication is not None and publication.state == COMPLETE
        content = server.content(publication.page_id)
        assert content[0] == ("callout", "The summary.")
        assert [text for _, text in content[1:]] == [paragraph.strip() for paragraph in PARAGRAPHS]
