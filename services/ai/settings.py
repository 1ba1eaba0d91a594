"""The ai service's own settings, read from the environment.

They complement :class:`shared.settings.Settings` (``AI_PROVIDER``, ``OPENAI_*``,
``CATEGORIES``, ``SUMMARY_SENTENCES``, ``AI_TIMEOUT``, ``REDIS_URL``) until they are
folded into it. Every invalid value raises a :class:`ConfigurationError` naming its
variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar, get_args

from services.ai.prices import DEFAULT_PRICES, Price, parse_prices
from shared.errors import ConfigurationError

StructuredMode = Literal["json_schema", "json_object", "text"]
ModeSetting = Literal["auto", "json_schema", "json_object", "text"]
LongText = Literal["truncate", "map_reduce"]
TokenizerSetting = Literal["auto", "estimate"]
#: The output language that means "whatever language the article is in".
ARTICLE_LANGUAGE = "article"

T = TypeVar("T", bound=str)


@dataclass(frozen=True)
class AISettings:
    """How the ai service talks to a model: limits, prices, prompt and output options."""

    #: Requests per minute for all ai processes together (0: no limit of our own).
    rpm: int = 0
    #: Tokens per minute (prompt + maximum completion) for all processes (0: no limit).
    tpm: int = 0
    #: Dollars per million tokens by model name prefix.
    prices: Mapping[str, Price] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    #: Free text the user appends to the prompt ("tags in English", "no people as tags").
    rules: str = ""
    #: Language of the summary and new tags: a language name or code, or "article".
    output_language: str = "English"
    #: How to ask for JSON; "auto" tries json_schema, then json_object, then plain text.
    structured_mode: ModeSetting = "auto"
    #: The model's context window in tokens; None: known models' own, else 4096.
    context_tokens: int | None = None
    #: The most article tokens one request carries (bounds the cost of long articles).
    max_article_tokens: int = 12_000
    #: The completion budget of one request; None: 1000, or 8000 for reasoning models.
    max_completion_tokens: int | None = None
    #: What to do with an article longer than fits: cut it, or summarise it in parts.
    long_text: LongText = "truncate"
    #: Most parts a map-reduce summary reads; the rest of a huge text is cut.
    map_max_parts: int = 8
    #: Retries within one attempt of 5xx answers, timeouts and connection errors.
    request_retries: int = 2
    #: Seconds one request may take; None: whatever is left of the stage's time limit.
    request_timeout: float | None = None
    #: A rate-limit wait longer than this hands the message back instead of sleeping.
    max_inline_wait: float = 10.0
    #: Count tokens with tiktoken when its files are available ("auto"), or estimate.
    tokenizer: TokenizerSetting = "auto"
    #: Sampling temperature; None sends none (reasoning models accept only their default).
    temperature: float | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AISettings:
        """Read the ``AI_*`` variables; raise a clear error naming a bad one."""
        env = os.environ if environ is None else environ
        prices = dict(DEFAULT_PRICES)
        prices.update(parse_prices(env.get("AI_PRICES", "")))
        return cls(
            rpm=_integer(env, "AI_RPM", 0, minimum=0),
            tpm=_integer(env, "AI_TPM", 0, minimum=0),
            prices=prices,
            rules=env.get("AI_RULES", "").strip(),
            output_language=env.get("AI_OUTPUT_LANGUAGE", "").strip() or "English",
            structured_mode=_choice(env, "AI_STRUCTURED_MODE", "auto", get_args(ModeSetting)),
            context_tokens=_optional_integer(env, "AI_CONTEXT_TOKENS", minimum=512),
            max_article_tokens=_integer(env, "AI_MAX_ARTICLE_TOKENS", 12_000, minimum=200),
            max_completion_tokens=_optional_integer(env, "AI_MAX_COMPLETION_TOKENS", minimum=64),
            long_text=_choice(env, "AI_LONG_TEXT", "truncate", get_args(LongText)),
            map_max_parts=_integer(env, "AI_MAP_MAX_PARTS", 8, minimum=2),
            request_retries=_integer(env, "AI_REQUEST_RETRIES", 2, minimum=0),
            request_timeout=_optional_number(env, "AI_REQUEST_TIMEOUT", minimum=0.1),
            max_inline_wait=_number(env, "AI_MAX_INLINE_WAIT", 10.0, minimum=0.0),
            tokenizer=_choice(env, "AI_TOKENIZER", "auto", get_args(TokenizerSetting)),
            temperature=_optional_number(env, "AI_TEMPERATURE", minimum=0.0, maximum=2.0),
        )

    @property
    def in_article_language(self) -> bool:
        """Tell whether output follows each article's own language."""
        return self.output_language.lower() == ARTICLE_LANGUAGE


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _integer(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    value = _optional_integer(env, name, minimum=minimum)
    return default if value is None else value


def _optional_integer(env: Mapping[str, str], name: str, *, minimum: int) -> int | None:
    raw = _raw(env, name)
    if raw is None:
        return None
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigurationError(f"{name}: expected a whole number ≥ {minimum} (got {raw!r})")
    return value


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    value = _optional_number(env, name, minimum=minimum)
    return default if value is None else value


def _optional_number(
    env: Mapping[str, str], name: str, *, minimum: float, maximum: float | None = None
) -> float | None:
    raw = _raw(env, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value >= minimum and (maximum is None or value <= maximum)):
        bounds = f"from {minimum:g} to {maximum:g}" if maximum is not None else f"≥ {minimum:g}"
        raise ConfigurationError(f"{name}: expected a number {bounds} (got {raw!r})")
    return value


def _choice(env: Mapping[str, str], name: str, default: T, choices: tuple[T, ...]) -> T:
    raw = (_raw(env, name) or default).lower().replace("-", "_")
    for choice in choices:
        if raw == choice:
            return choice
    raise ConfigurationError(
        f"{name}: expected one of {', '.join(choices)} (got {env.get(name)!r})"
    )
