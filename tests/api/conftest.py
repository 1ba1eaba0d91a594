"""Fixtures of the gateway tests: the real app on the test PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import falcon
import pytest
import redis
from falcon.testing import Result, TestClient

from services.api.app import create_app
from shared.settings import Settings

PROBLEM_JSON = "application/problem+json"


@pytest.fixture()
def app(settings: Settings) -> falcon.App:
    """Return the gateway built from the test settings (Redis broker, PostgreSQL)."""
    return create_app(settings)


@pytest.fixture()
def client(app: falcon.App) -> TestClient:
    """Return a test client of the gateway."""
    return TestClient(app)


@pytest.fixture()
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """Return a client of the test Redis db, to check what the gateway put there."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def client_with(settings: Settings, **changes: Any) -> TestClient:
    """Return a test client of a gateway built from ``settings`` with ``changes``."""
    return TestClient(create_app(settings.model_copy(update=changes)))


def assert_problem(result: Result, status: int, field: str | None = None) -> dict[str, Any]:
    """Assert ``result`` is a problem document with ``status`` (and ``field``); return it."""
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = result.json
    assert problem["status"] == status
    assert problem["title"]
    assert problem["type"]
    if field is not None:
        assert problem["field"] == field, problem
        assert field in problem["detail"]
    return problem


def urls(count: int, host: str = "news.example") -> list[str]:
    """Return ``count`` distinct article URLs."""
    return [f"https://{host}/articles/{n}" for n in range(count)]
