"""The ``openai`` provider with the real SDK against the loopback OpenAI-compatible server."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
import redis
from prometheus_client import REGISTRY

from services.ai.answer import InvalidAnswer
from services.ai.providers.openai import OpenAIProvider
from shared.errors import (
    ConfigurationError,
    EnrichmentError,
    PermanentError,
    RateLimited,
    RetryableError,
)
from tests.ai.conftest import ARTICLE, ARTICLE_TEXT, MakeProvider
from tests.ai.openai_server import OpenAIServer, prompt_tokens

CATEGORIES = ("Technology", "Science", "Business", "Politics", "Health", "Culture", "Sports")


def long_text(paragraphs: int) -> str:
    """Return an article of ``paragraphs`` distinct paragraphs (~60 tokens each)."""
    return "\n".join(
        f"Paragraph {n} explains how quantum processors keep qubits coherent for longer, "
        f"and why laboratory number {n} measured the cooling systems again this year."
        for n in range(paragraphs)
    )


# A normal answer


def test_the_sdk_gets_a_checked_enrichment_with_the_servers_usage_and_its_cost(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    provider = make_provider(categories=CATEGORIES)

    result = provider.enrich(ARTICLE, [])

    assert result.summary.startswith("Researchers at the university")
    assert result.category == "Technology"  # the server picks the enum's first name
    assert 3 <= len(result.tags) <= 5 and "quantum" in result.tags
    assert (result.sentiment, result.sentiment_score, result.language) == ("neutral", 0.0, "en")
    assert (result.provider, result.model) == ("openai", "gpt-4o-mini")
    (body,) = server.bodies
    assert result.prompt_tokens == prompt_tokens(body["messages"])
    assert result.completion_tokens > 0
    # gpt-4o-mini: $0.15 per million prompt tokens, $0.60 per million completion tokens
    expected = (result.prompt_tokens * 0.15 + result.completion_tokens * 0.60) / 1e6
    assert result.cost_usd == pytest.approx(expected)


def test_the_request_asks_for_a_strict_schema_with_the_taxonomy_as_an_enum(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    make_provider(categories=("Tech", "Other")).enrich(ARTICLE, [])

    (body,) = server.bodies
    answer_format = body["response_format"]
    assert answer_format["type"] == "json_schema"
    assert answer_format["json_schema"]["strict"] is True
    schema = answer_format["json_schema"]["schema"]
    assert schema["properties"]["category"]["enum"] == ["Tech", "Other"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    assert body["model"] == "gpt-4o-mini"
    assert body["max_tokens"] == 1000
    assert "temperature" not in body


def test_existing_tags_rules_summary_length_and_output_language_reach_the_prompt(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    env = {"AI_RULES": "Never tag people.", "AI_OUTPUT_LANGUAGE": "article"}
    provider = make_provider(env=env, summary_sentences=2)

    provider.enrich(ARTICLE, ["Quantum Computing", "Physics"])

    system, user = server.bodies[0]["messages"]
    assert "Quantum Computing, Physics" in system["content"]
    assert "spelled exactly as here" in system["content"]
    assert system["content"].rstrip().endswith("Never tag people.")
    assert "at most 2 sentences" in system["content"]
    assert "in the language of the article" in system["content"]
    assert user["content"].startswith("Title: Quantum chip keeps qubits stable\nURL: ")
    assert ARTICLE_TEXT.strip() in user["content"]


def test_a_language_the_model_cannot_name_is_detected_from_the_text(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.language = "the same as the article"

    result = make_provider().enrich(ARTICLE, [])

    assert result.language == "en"


# Structured output modes


def test_a_server_refusing_json_schema_is_asked_in_json_mode_and_that_is_remembered(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.refuse_json_schema = True
    provider = make_provider()

    first = provider.enrich(ARTICLE, [])
    second = provider.enrich(replace(ARTICLE, url="https://example.org/2"), [])

    kinds = [body.get("response_format", {}).get("type") for body in server.bodies]
    assert kinds == ["json_schema", "json_object", "json_object"]
    assert provider.mode == "json_object"
    assert first.category == second.category == "Technology"
    # Without a schema the prompt carries the shape of the object, JSON named in it.
    assert "JSON object only" in server.bodies[1]["messages"][0]["content"]


def test_a_server_refusing_every_response_format_is_asked_in_plain_text(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.refuse_json_schema = True
    server.behaviour.refuse_json_object = True
    server.behaviour.answer_style = "prose"
    provider = make_provider()

    result = provider.enrich(ARTICLE, [])

    assert provider.mode == "text"
    assert "response_format" not in server.bodies[-1]
    assert result.category == "Technology"
    assert "quantum" in result.tags


@pytest.mark.parametrize("style", ["fenced", "prose", "think"])
def test_json_wrapped_in_fences_prose_or_thinking_is_read(
    server: OpenAIServer, make_provider: MakeProvider, style: str
) -> None:
    server.behaviour.answer_style = style  # type: ignore[assignment]

    result = make_provider().enrich(ARTICLE, [])

    assert result.category == "Technology"
    assert len(server.bodies) == 1


def test_a_forced_mode_the_server_refuses_is_a_configuration_error(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.refuse_json_schema = True
    provider = make_provider(env={"AI_STRUCTURED_MODE": "json_schema"})

    with pytest.raises(ConfigurationError, match="AI_STRUCTURED_MODE"):
        provider.enrich(ARTICLE, [])
    assert len(server.bodies) == 1


def test_a_forced_json_mode_is_used_from_the_first_request(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    make_provider(env={"AI_STRUCTURED_MODE": "json_object"}).enrich(ARTICLE, [])

    assert server.bodies[0]["response_format"] == {"type": "json_object"}


# Invalid answers


def test_an_invalid_answer_is_sent_back_once_with_what_is_wrong(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.invalid_answers = 1

    result = make_provider().enrich(ARTICLE, [])

    assert result.category == "Technology"
    first, second = server.bodies
    assert second["messages"][:2] == first["messages"]
    assistant, correction = second["messages"][2:]
    assert assistant["role"] == "assistant" and "Not a category" in assistant["content"]
    assert correction["role"] == "user"
    assert "category 'Not a category' is not one of" in correction["content"]
    assert "tags must hold 3 to 5" in correction["content"]
    # Both requests were paid for.
    assert result.prompt_tokens == sum(prompt_tokens(body["messages"]) for body in server.bodies)


def test_a_second_invalid_answer_fails_the_attempt_clearly(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.invalid_answers = 2

    with pytest.raises(InvalidAnswer, match="answered invalidly twice") as caught:
        make_provider().enrich(ARTICLE, [])

    assert isinstance(caught.value, EnrichmentError)
    assert "https://example.org/quantum" in str(caught.value)
    assert len(server.bodies) == 2


# Rate limits and transient failures


def test_a_429_is_waited_out_for_its_retry_after_and_pauses_every_process(
    server: OpenAIServer, make_provider: MakeProvider, ai_redis: redis.Redis
) -> None:
    server.behaviour.rate_limits = 1
    server.behaviour.retry_after = "0.4"
    provider = make_provider()
    start = time.monotonic()

    result = provider.enrich(ARTICLE, [])

    assert time.monotonic() - start >= 0.4
    assert result.category == "Technology"
    assert [request.status for request in server.received] == [429, 200]
    # The pause was written to Redis, where every ai process reads it.
    paused = ai_redis.hget("kbm:ratelimit:ai:rpm", "paused_until")
    assert paused is not None


def test_a_long_retry_after_hands_the_message_back_and_holds_other_processes(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.rate_limits = 1
    server.behaviour.retry_after = "30"
    first_process, second_process = make_provider(), make_provider()

    with pytest.raises(RateLimited) as caught:
        first_process.enrich(ARTICLE, [])
    assert caught.value.retry_after == pytest.approx(30)
    assert "rate limited" in str(caught.value)

    # Another process does not even send: the shared pause outlasts its inline wait.
    with pytest.raises(RateLimited):
        second_process.enrich(ARTICLE, [])
    assert len(server.bodies) == 1


def test_a_429_without_retry_after_waits_a_default_time(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.rate_limits = 1
    server.behaviour.retry_after = None
    provider = make_provider(env={"AI_MAX_INLINE_WAIT": "1"})

    with pytest.raises(RateLimited) as caught:
        provider.enrich(ARTICLE, [])

    assert caught.value.retry_after == pytest.approx(5.0)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_with_backoff_then_succeed(
    server: OpenAIServer, make_provider: MakeProvider, status: int
) -> None:
    server.behaviour.server_errors = 2
    server.behaviour.server_error_status = status
    provider = make_provider()
    slept: list[float] = []
    provider.sleep = slept.append

    result = provider.enrich(ARTICLE, [])

    assert result.category == "Technology"
    assert [request.status for request in server.received] == [status, status, 200]
    assert slept == [0.5, 1.0]


def test_persistent_server_errors_fail_the_attempt_as_retryable(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.server_errors = 10
    provider = make_provider(env={"AI_REQUEST_RETRIES": "1"})
    provider.sleep = lambda seconds: None

    with pytest.raises(EnrichmentError, match="HTTP 500") as caught:
        provider.enrich(ARTICLE, [])

    assert not isinstance(caught.value, PermanentError)
    assert "after 2 tries" in str(caught.value)
    assert len(server.bodies) == 2


def test_a_request_that_times_out_is_retried(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.stalls = 1
    server.behaviour.stall_seconds = 1.5
    provider = make_provider(env={"AI_REQUEST_TIMEOUT": "0.3"})
    provider.sleep = lambda seconds: None

    result = provider.enrich(ARTICLE, [])

    assert result.category == "Technology"
    assert len(server.bodies) == 2


def test_the_stage_time_limit_bounds_every_request(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.latency = 5.0
    provider = make_provider(ai_timeout=1.0)
    start = time.monotonic()

    with pytest.raises(RetryableError):
        provider.enrich(ARTICLE, [])

    # 90 % of AI_TIMEOUT, not the SDK's 10 minutes or its own retries.
    assert time.monotonic() - start < 1.5


def test_a_connection_refused_is_retried_then_fails_as_retryable(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider(openai_base_url="http://127.0.0.1:9/v1")
    provider.sleep = lambda seconds: None

    with pytest.raises(EnrichmentError, match="cannot connect"):
        provider.enrich(ARTICLE, [])


# Permanent failures name the setting to fix


def test_a_refused_key_is_permanent_and_names_openai_api_key(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.api_key = "the-right-key"

    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY") as caught:
        make_provider(openai_api_key="a-wrong-key").enrich(ARTICLE, [])

    assert "HTTP 401" in str(caught.value)
    assert "a-wrong-key" not in str(caught.value)
    assert len(server.bodies) == 1


def test_an_unknown_model_is_permanent_and_names_openai_model(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.models = ("llama3.1",)

    with pytest.raises(ConfigurationError, match="OPENAI_MODEL") as caught:
        make_provider(openai_model="gpt-4o-mini").enrich(ARTICLE, [])

    assert "OPENAI_BASE_URL" in str(caught.value)


def test_an_invalid_request_is_permanent(server: OpenAIServer, make_provider: MakeProvider) -> None:
    server.behaviour.bad_request = "Invalid value for 'messages[0].role'."

    with pytest.raises(ConfigurationError, match="rejected as invalid") as caught:
        make_provider().enrich(ARTICLE, [])

    assert "messages[0].role" in str(caught.value)
    assert len(server.bodies) == 1


def test_a_server_that_wants_max_completion_tokens_gets_it_from_then_on(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.require_max_completion_tokens = True
    provider = make_provider()

    provider.enrich(ARTICLE, [])
    provider.enrich(ARTICLE, [])

    sent = [("max_tokens" in body, "max_completion_tokens" in body) for body in server.bodies]
    assert sent == [(True, False), (False, True), (False, True)]


def test_a_reasoning_model_gets_max_completion_tokens_and_a_larger_budget(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    make_provider(openai_model="o4-mini").enrich(ARTICLE, [])

    (body,) = server.bodies
    assert body["max_completion_tokens"] == 8000
    assert "max_tokens" not in body


# Long articles


def test_a_long_article_is_cut_to_fit_an_unknown_models_window(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    text = long_text(200)  # ~12 000 tokens; an unknown model is assumed to hold 4 096
    provider = make_provider(openai_model="my-local-model")

    provider.enrich(replace(ARTICLE, text=text), [])

    (body,) = server.bodies
    sent = body["messages"][1]["content"].partition("\n\n")[2]
    assert text.startswith(sent) and sent.endswith(".")
    assert prompt_tokens(body["messages"]) + body["max_tokens"] <= 4096


def test_max_article_tokens_bounds_what_one_article_costs(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    text = long_text(200)
    provider = make_provider(env={"AI_MAX_ARTICLE_TOKENS": "1000"})

    result = provider.enrich(replace(ARTICLE, text=text), [])

    assert 1000 < result.prompt_tokens < 1600


def test_context_length_exceeded_shrinks_the_article_and_retries_once(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.context_limit = 3000
    provider = make_provider(env={"AI_CONTEXT_TOKENS": "100000"})

    result = provider.enrich(replace(ARTICLE, text=long_text(200)), [])

    assert [request.status for request in server.received] == [400, 200]
    assert provider.context_tokens == 3000  # learned from the error, kept for later
    assert result.category == "Technology"


def test_a_window_too_small_for_any_article_is_a_configuration_error(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.context_limit = 1200
    provider = make_provider(env={"AI_CONTEXT_TOKENS": "100000"})

    with pytest.raises(ConfigurationError, match="AI_CONTEXT_TOKENS"):
        provider.enrich(replace(ARTICLE, text=long_text(200)), [])


def test_map_reduce_summarises_the_parts_then_enriches_their_summaries(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    text = long_text(60)  # ~3 600 tokens
    env = {"AI_LONG_TEXT": "map_reduce", "AI_MAX_ARTICLE_TOKENS": "1000"}
    provider = make_provider(env=env)

    result = provider.enrich(replace(ARTICLE, text=text), [])

    *parts, final = server.bodies
    assert len(parts) >= 3
    assert all("response_format" not in body for body in parts)
    # The parts are summarised in parallel: put them back in order to compare.
    parts.sort(key=lambda body: int(re.findall(r"Part (\d+) of", str(body["messages"]))[0]))
    part_texts = [body["messages"][1]["content"].partition("\n\n")[2] for body in parts]
    assert "\n".join(part_texts).replace("\n", " ") == text.replace("\n", " ")
    user = final["messages"][1]["content"]
    assert f"summaries of its {len(parts)} consecutive parts" in user
    assert result.prompt_tokens == sum(prompt_tokens(body["messages"]) for body in server.bodies)


def test_map_reduce_reads_at_most_the_configured_number_of_parts(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    env = {"AI_LONG_TEXT": "map_reduce", "AI_MAX_ARTICLE_TOKENS": "500", "AI_MAP_MAX_PARTS": "3"}

    make_provider(env=env).enrich(replace(ARTICLE, text=long_text(200)), [])

    assert len(server.bodies) == 3 + 1


# Shared budgets


def test_requests_per_minute_hold_across_processes(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    # 240 per minute: 4 per second, with a burst of 4.
    processes = [make_provider(env={"AI_RPM": "240"}) for _ in range(2)]
    start = time.monotonic()

    for _ in range(4):
        for provider in processes:
            provider.enrich(ARTICLE, [])

    assert len(server.bodies) == 8
    assert time.monotonic() - start >= 0.9


def test_tokens_per_minute_are_charged_for_the_prompt_and_the_completion_budget(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    provider = make_provider(env={"AI_TPM": "600000"})
    charged: list[float] = []
    assert provider.tokens is not None
    acquire = provider.tokens.acquire

    def recording(cost: float = 1.0, *, deadline: float | None = None) -> float:
        charged.append(cost)
        return acquire(cost, deadline=deadline)

    provider.tokens.acquire = recording  # type: ignore[method-assign]

    result = provider.enrich(ARTICLE, [])

    (cost,) = charged
    assert cost == pytest.approx(result.prompt_tokens + 1000, rel=0.2)


def test_a_tokens_per_minute_wait_beyond_the_inline_limit_hands_the_message_back(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    # 600 tokens per minute cannot pay for one request (prompt + 1 000) within 1 s.
    provider = make_provider(env={"AI_TPM": "600", "AI_MAX_INLINE_WAIT": "1"})

    with pytest.raises(RateLimited):
        provider.enrich(ARTICLE, [])

    assert server.bodies == []


# Usage, cost and metrics


def test_usage_is_estimated_when_the_server_reports_none(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.report_usage = False

    result = make_provider().enrich(ARTICLE, [])

    # The estimate errs high, and counts the schema that OpenAI bills too.
    sent = prompt_tokens(server.bodies[0]["messages"])
    assert sent <= result.prompt_tokens <= 1.5 * sent
    assert result.completion_tokens > 0


def test_a_model_without_a_price_has_an_unknown_cost_unless_a_default_is_set(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    unpriced = make_provider(openai_model="llama3.1:8b").enrich(ARTICLE, [])
    free = make_provider(openai_model="llama3.1:8b", env={"AI_PRICES": "*=0/0"}).enrich(ARTICLE, [])
    custom = make_provider(openai_model="llama3.1:8b", env={"AI_PRICES": "llama3=1/2"}).enrich(
        ARTICLE, []
    )

    assert unpriced.cost_usd is None
    assert free.cost_usd == 0.0
    expected = (custom.prompt_tokens * 1 + custom.completion_tokens * 2) / 1e6
    assert custom.cost_usd == pytest.approx(expected)


def test_tokens_cost_and_outcomes_are_counted_in_metrics(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    labels = {"provider": "openai", "model": "gpt-4o-metrics"}

    def value(name: str, **extra: str) -> float:
        return REGISTRY.get_sample_value(name, labels | extra) or 0.0

    server.behaviour.server_errors = 1
    provider: OpenAIProvider = make_provider(openai_model="gpt-4o-metrics")
    provider.sleep = lambda seconds: None

    result = provider.enrich(ARTICLE, [])

    assert value("kbm_ai_prompt_tokens_total") == result.prompt_tokens
    assert value("kbm_ai_completion_tokens_total") == result.completion_tokens
    assert value("kbm_ai_cost_usd_total") == pytest.approx(result.cost_usd)
    assert value("kbm_ai_requests_total", outcome="ok") == 1
    assert value("kbm_ai_requests_total", outcome="server_error") == 1
