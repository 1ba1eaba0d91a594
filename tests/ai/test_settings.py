from __future__ import annotations

import pytest

from services.ai.prices import DEFAULT_PRICES, Price, cost_of, parse_prices, price_of
from services.ai.settings import AISettings
from shared.errors import ConfigurationError


def test_defaults_need_no_environment() -> None:
    settings = AISettings.from_env({})

    assert settings == AISettings()
    assert (settings.rpm, settings.tpm, settings.structured_mode) == (0, 0, "auto")
    assert settings.output_language == "English" and not settings.in_article_language
    assert settings.prices == DEFAULT_PRICES


def test_every_variable_is_read() -> None:
    settings = AISettings.from_env(
        {
            "AI_RPM": "500",
            "AI_TPM": "200_000",
            "AI_PRICES": "gpt-4o-mini=0.2/0.8, llama=0/0",
            "AI_RULES": "  Tags in English.  ",
            "AI_OUTPUT_LANGUAGE": "article",
            "AI_STRUCTURED_MODE": "JSON-OBJECT",
            "AI_CONTEXT_TOKENS": "32768",
            "AI_MAX_ARTICLE_TOKENS": "6000",
            "AI_MAX_COMPLETION_TOKENS": "800",
            "AI_LONG_TEXT": "map-reduce",
            "AI_MAP_MAX_PARTS": "4",
            "AI_REQUEST_RETRIES": "0",
            "AI_REQUEST_TIMEOUT": "30",
            "AI_MAX_INLINE_WAIT": "2.5",
            "AI_TOKENIZER": "estimate",
            "AI_TEMPERATURE": "0.2",
        }
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
        ("AI_RPM", "lots", "AI_RPM: expected a whole number ≥ 0 (got 'lots')"),
        ("AI_TPM", "-5", "AI_TPM: expected a whole number ≥ 0"),
        ("AI_CONTEXT_TOKENS", "100", "AI_CONTEXT_TOKENS: expected a whole number ≥ 512"),
        ("AI_STRUCTURED_MODE", "xml", "AI_STRUCTURED_MODE: expected one of auto, json_schema"),
        ("AI_LONG_TEXT", "ignore", "AI_LONG_TEXT: expected one of truncate, map_reduce"),
        ("AI_TEMPERATURE", "3", "AI_TEMPERATURE: expected a number from 0 to 2"),
        ("AI_MAX_INLINE_WAIT", "soon", "AI_MAX_INLINE_WAIT: expected a number ≥ 0"),
        ("AI_PRICES", "gpt-4o=cheap", "AI_PRICES: expected model=prompt/completion"),
        ("AI_PRICES", "gpt-4o=1", "AI_PRICES: expected model=prompt/completion"),
        ("AI_PRICES", "=1/2", "AI_PRICES"),
        ("AI_PRICES", "gpt-4o=-1/2", "AI_PRICES"),
    ],
)
def test_a_bad_value_is_a_configuration_error_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AISettings.from_env({variable: value})


def test_blank_values_mean_the_default() -> None:
    assert AISettings.from_env({"AI_RPM": " ", "AI_OUTPUT_LANGUAGE": ""}) == AISettings()


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
