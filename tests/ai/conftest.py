"""Fixtures of the ai tests: the loopback OpenAI-compatible server and providers on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from services.ai.providers import ArticleInput
from services.ai.providers.openai import OpenAIProvider, build_openai_provider
from shared.settings import Settings
from tests.ai.openai_server import OpenAIServer
from tests.conftest import REDIS_URL

#: A Redis db of the ai tests' own: their rate-limit buckets and pauses must last a whole
#: test even when another suite flushes the shared test db meanwhile.
AI_REDIS_URL = f"{REDIS_URL.rsplit('/', 1)[0]}/13"

ARTICLE_TEXT = """\
Researchers at the university have built a quantum computer chip that keeps its qubits \
stable for almost a second, far longer than earlier designs. The team cooled the quantum \
chip to a fraction of a degree above absolute zero and shielded it from magnetic noise.

The result matters because quantum computers lose information quickly. Longer-lived \
qubits allow longer calculations, and the researchers say the chip could be produced with \
the same factories that make ordinary computer processors today.
"""
ARTICLE = ArticleInput(
    title="Quantum chip keeps qubits stable",
    text=ARTICLE_TEXT,
    language=None,
    url="https://example.org/quantum",
)

MakeProvider = Callable[..., OpenAIProvider]


@pytest.fixture()
def server() -> Iterator[OpenAIServer]:
    """Run a well-behaved loopback server; tests change ``server.behaviour`` as needed."""
    with OpenAIServer() as running:
        yield running


@pytest.fixture()
def ai_redis() -> Iterator[redis.Redis]:
    """Return a client of the ai tests' Redis db, emptied before and after the test."""
    client = redis.Redis.from_url(AI_REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture()
def make_provider(server: OpenAIServer, ai_redis: redis.Redis) -> MakeProvider:
    """Return a factory of ``openai`` providers on the loopback server and test Redis.

    ``env`` holds ``AI_*`` variables by name; keyword arguments override other settings.
    Each provider stands for one worker process: two of them share Redis, nothing else.
    """

    def make(*, env: dict[str, str] | None = None, **overrides: Any) -> OpenAIProvider:
        values: dict[str, Any] = {
            "ai_provider": "openai",
            "openai_base_url": server.base_url,
            "openai_api_key": "test",
            "redis_url": AI_REDIS_URL,
            "ai_timeout": 10.0,
        }
        variables = {name.lower(): value for name, value in (env or {}).items()}
        settings = Settings.from_env(_env_file=None, **(values | variables | overrides))
        return build_openai_provider(settings)

    return make
