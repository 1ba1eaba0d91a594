"""The ai service's settings: how the openai provider talks to a model.

:class:`AISettings` is what ``settings.ai`` hands the provider: the ``AI_*`` variables,
read and checked with every other setting by :class:`shared.settings.Settings`, whose
fields take their defaults from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from shared.ai_prices import DEFAULT_PRICES, Price

StructuredMode = Literal["json_schema", "json_object", "text"]
ModeSetting = Literal["auto", "json_schema", "json_object", "text"]
LongText = Literal["truncate", "map_reduce"]
TokenizerSetting = Literal["auto", "estimate"]
#: The output language that means "whatever language the article is in".
ARTICLE_LANGUAGE = "article"


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

    @property
    def in_article_language(self) -> bool:
        """Tell whether output follows each article's own language."""
        return self.output_language.lower() == ARTICLE_LANGUAGE
