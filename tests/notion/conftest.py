"""Fixtures of the notion tests: the loopback Notion server and publishers bound to it.

Rate limiters live in a Redis db of their own (``TEST_NOTION_REDIS_URL``) under a key of
their own: the shared test db is flushed by every test, which would hand a bucket
being measured a fresh burst.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from services.notion.client import NotionAPI
from services.notion.publishers.notion import NotionPublisher
from services.notion.shared_state import SharedCache
from shared.ratelimit import RateLimiter
from tests.notion.notion_server import NotionServer

#: Fast enough that the rate limit is never the subject, except where a test says so.
FAST_RATE = 1000.0
NOTION_REDIS_URL = os.environ.get("TEST_NOTION_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture()
def notion_server() -> Iterator[NotionServer]:
    """Serve a fresh loopback Notion API with a generous rate limit."""
    with NotionServer(rate=FAST_RATE) as server:
        yield server


def make_api(
    server: NotionServer,
    *,
    bucket: str,
    rate: float = FAST_RATE,
    burst: float = 1.0,
    token: str | None = None,
    request_timeout: float = 5.0,
    workspace_rate: float | None = None,
) -> NotionAPI:
    """Return an API client of ``server`` paced by the Redis bucket ``bucket``."""
    client = redis.Redis.from_url(NOTION_REDIS_URL)
    limiter = RateLimiter(client, f"notion:test:{bucket}", rate, burst)
    # Identity and schema are shared by the publishers of one test, as by processes.
    cache = SharedCache(client, prefix=f"kbm:notion:test:{bucket}:")
    return NotionAPI(
        token or server.token,
        server.base_url,
        limiter,
        request_timeout,
        cache=cache,
        workspace_rate=workspace_rate,
    )


PublisherFactory = Callable[..., NotionPublisher]


@pytest.fixture()
def make_publisher(notion_server: NotionServer) -> PublisherFactory:
    """Return a factory of publishers bound to the loopback server, sharing one bucket."""
    bucket = uuid.uuid4().hex

    def make(server: NotionServer | None = None, **options: Any) -> NotionPublisher:
        target = server or notion_server
        api_options = {
            key: options.pop(key)
            for key in ("rate", "burst", "token", "request_timeout", "workspace_rate")
            if key in options
        }
        api = make_api(target, bucket=bucket, **api_options)
        options.setdefault("create_settle", 0.5)
        return NotionPublisher(api, options.pop("database_id", target.database_id), **options)

    return make
