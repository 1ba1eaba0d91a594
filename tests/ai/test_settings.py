"""The ai settings (``settings.ai``): defaults, every ``AI_*`` variable, errors; prices."""

from __future__ import annotations

import os

import pytest

from shared.ai_prices import DEFAULT_PRICES, Price, cost_of, parse_prices, price_of
from shared.ai_settings import AISettings
from shared.errors import ConfigurationError
from shared.settings import Settings


@pytest.fixture(autouse=True)
def no_ai_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's ``AI_*`` variables out of these tests."""
    for name in list(os.environ):
        if name.upper().startswith("AI_"):
            monkeypatch.delenv(name)


def ai_settings(**variables: str) -> AISettings:
    """Return ``settings.ai`` of settings given ``AI_*`` variables by name, without .env."""
    values = {name.lower(): value for name, value in variables.items()}
    return Settings.from_env(_env_file=None, **values).ai


def test_defaults_need_no_environment() -> None:
    settings = ai_settings()

    assert settings == AISettings()
    assert (settings.rpm, settings.tpm, settings.structured_mode) == (0, 0, "auto")
    assert settings.output_language == "English" and not settings.in_article_language
    assert settings.prices == DEFAULT_PRICES


def test_every_variable_is_read() -> None:
    settings = ai_settings(
        AI_RPM="500",
        AI_TPM="200_000",
        AI_PRICES="gpt-4o-mini=0.2/0.8, llama=0/0",
        AI_RULES="  Tags in English.  ",
        AI_OUTPUT_LANGUAGE="article",
        AI_STRUCTURED_MODE="JSON-OBJECT",
        AI_CONTEXT_TOKENS="32768",
        AI_MAX_ARTICLE_TOKENS="6000",
        AI_MAX_COMPLETION_TOKENS="800",
        AI_LONG_TEXT="map-reduce",
        AI_MAP_MAX_PARTS="4",
        AI_REQUEST_RETRIES="0",
        AI_REQUEST_TIMEOUT="30",
        AI_MAX_INLINE_WAIT="2.5",
        AI_TOKENIZER="estimate",
        AI_TEMPERATURE="0.2",
    )

    assert (settings.rpm, settings.tpm) == (500, 200_000)
    assert settings.prices["gpt-4o-mini"] == Price(0.2, 0.8)
    assert settings.prices["llama"] == Price(0, 0)
    assert settings.prices["gpt-4o"] == DEFAULT_PRICES["gpt-4o"]
    assert settings.rules == "Tags in English."
    assert settings.in_article_language
    assert settings.structured_mode == "json_object"
    assert (settings.context_tokens, settings.max_article_tokens) == (32768, 6000)
    assert settings.max_completion_tokens == 800
    assert (settings.long_text, settings.map_max_parts) == ("map_reduce", 4)
    assert (settings.request_retries, settings.request_timeout) == (0, 30.0)
    assert settings.max_inline_wait == 2.5
    assert (settings.tokenizer, settings.temperature) == ("estimate", 0.2)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AI_RPM", "lots", "a valid integer"),
        ("AI_TPM", "-5", "greater than or equal to 0"),
        ("AI_CONTEXT_TOKENS", "100", "greater than or equal to 512"),
        ("AI_MAX_COMPLETION_TOKENS", "10", "greater than or equal to 64"),
        ("AI_STRUCTURED_MODE", "xml", "'auto', 'json_schema', 'json_object' or 'text'"),
        ("AI_LONG_TEXT", "ignore", "'truncate' or 'map_reduce'"),
        ("AI_TOKENIZER", "exact", "'auto' or 'estimate'"),
        ("AI_TEMPERATURE", "3", "less than or equal to 2"),
        ("AI_REQUEST_TIMEOUT", "0", "greater than or equal to 0.1"),
        ("AI_MAX_INLINE_WAIT", "soon", "a valid number"),
        ("AI_PRICES", "gpt-4o=cheap", "entry 'gpt-4o=cheap': expected model=prompt/completion"),
        ("AI_PRICES", "gpt-4o=1", "entry 'gpt-4o=1': expected model=prompt/completion"),
        ("AI_PRICES", "=1/2", "entry '=1/2'"),
        ("AI_PRICES", "gpt-4o=-1/2", "entry 'gpt-4o=-1/2'"),
    ],
)
def test_a_bad_value_is_a_configuration_error_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ai_settings(**{variable: value})

    text = str(caught.value)
    assert text.startswith(f"invalid setting {variable}: "), text
    assert message in text and f"(got {value!r})" in text, text


def test_blank_values_mean_the_default() -> None:
    blank = ai_settings(
        AI_RPM=" ", AI_OUTPUT_LANGUAGE="", AI_STRUCTURED_MODE=" ", AI_CONTEXT_TOKENS=""
    )

    assert blank == AISettings()


def test_the_variables_come_from_the_environment_through_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AI_TPM", "600")
    assert Settings.from_env(_env_file=None).ai.tpm == 600

    monkeypatch.setenv("AI_RPM", "many")
    with pytest.raises(ConfigurationError, match=r"invalid setting AI_RPM: .*'many'"):
        Settings.from_env(_env_file=None)


# Prices


def test_a_model_costs_what_its_longest_matching_entry_says() -> None:
    prices = parse_prices("gpt-4o=2.5/10, gpt-4o-mini=0.15/0.6")

    assert price_of("gpt-4o-mini-2024-07-18", prices) == Price(0.15, 0.6)
    assert price_of("gpt-4o-2024-11-20", prices) == Price(2.5, 10)
    assert price_of("llama3", prices) is None


def test_a_star_entry_prices_every_other_model() -> None:
    prices = parse_prices("gpt-4o=2.5/10, *=0/0")

    assert price_of("llama3", prices) == Price(0, 0)
    assert price_of("gpt-4o", prices) == Price(2.5, 10)


def test_cost_is_per_million_tokens() -> None:
    prices = {"m": Price(1.0, 2.0)}

    assert cost_of("m", 1_000_000, 500_000, prices) == 2.0
    assert cost_of("other", 10, 10, prices) is None
