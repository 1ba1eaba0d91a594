"""Fitting an article into the model's context window: its budget, cut or map-reduced.

The window is the model's known size, ``AI_CONTEXT_TOKENS``, or what the server names
when a request overflows it (then remembered). What the instructions and the completion
budget leave of it is the article's budget; a longer text is cut to it
(``AI_LONG_TEXT=truncate``) or read in parts whose summaries are sent instead
(``map_reduce``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from services.ai.chat import ChatRequests, ContextExceeded, Usage
from services.ai.pacing import Deadline
from services.ai.prompt import PromptOptions, enrichment_messages, enrichment_schema, part_messages
from services.ai.providers.base import ArticleInput
from services.ai.tokens import TokenCounter, context_window
from shared.ai_settings import AISettings, StructuredMode
from shared.errors import ConfigurationError

logger = logging.getLogger(__name__)

#: Fewer article tokens than this leave nothing worth summarising.
MIN_ARTICLE_TOKENS = 200
#: Parallel requests of one map-reduce summary (each still takes its bucket slots).
MAP_WORKERS = 4


@dataclass(kw_only=True)
class ContextWindow:
    """The context window of one model, and the article text that fits in it."""

    model: str
    where: str
    options: PromptOptions
    settings: AISettings
    counter: TokenCounter
    max_completion: int
    chat: ChatRequests
    #: The window the server named when a request overflowed it, else AI_CONTEXT_TOKENS.
    _learned: int | None = field(init=False)

    def __post_init__(self) -> None:
        self._learned = self.settings.context_tokens

    @property
    def tokens(self) -> int:
        """Return the context window assumed for the model (learned from the server)."""
        return self._learned or context_window(self.model)

    def article_budget(
        self, article: ArticleInput, existing_tags: Sequence[str], mode: StructuredMode
    ) -> int:
        """Return how many tokens of article text one request in ``mode`` can carry."""
        window = self.tokens
        empty = enrichment_messages(self.options, article, "", existing_tags, mode)
        overhead = self.counter.count_messages(empty)
        if mode == "json_schema":
            overhead += self.counter.count(json.dumps(enrichment_schema(self.options.categories)))
        # A small margin for what no count sees (chat templates of other servers).
        room = window - self.max_completion - overhead - max(16, window // 50)
        if room < MIN_ARTICLE_TOKENS:
            raise ConfigurationError(
                f"model {self.model}: a context window of {window} tokens leaves {room} "
                f"for the article after the instructions and a completion budget of "
                f"{self.max_completion}; set AI_CONTEXT_TOKENS to the model's real window "
                "or lower AI_MAX_COMPLETION_TOKENS"
            )
        return min(room, self.settings.max_article_tokens)

    def fit(
        self,
        article: ArticleInput,
        existing_tags: Sequence[str],
        mode: StructuredMode,
        deadline: Deadline,
        usage: Usage,
    ) -> tuple[str, int]:
        """Return the text to send and, when it is the summaries of parts, how many."""
        budget = self.article_budget(article, existing_tags, mode)
        text = article.text.strip()
        if self.counter.count(text) <= budget:
            return text, 0
        if self.settings.long_text == "map_reduce":
            return self._map_reduce(article, text, budget, deadline, usage)
        return self.counter.truncate(text, budget), 0

    def _map_reduce(
        self, article: ArticleInput, text: str, budget: int, deadline: Deadline, usage: Usage
    ) -> tuple[str, int]:
        """Summarise the parts of a long text; return the summaries joined, and their count."""
        parts = self.counter.split(text, budget)
        if len(parts) > self.settings.map_max_parts:
            logger.info(
                "%s: %d parts, reading the first %d (AI_MAP_MAX_PARTS)",
                article.url,
                len(parts),
                self.settings.map_max_parts,
            )
            parts = parts[: self.settings.map_max_parts]

        def summarise(numbered: tuple[int, str]) -> str:
            index, part = numbered
            messages = part_messages(self.options, article, part, index, len(parts))
            try:
                return self.chat.complete(messages, "text", deadline, usage).content.strip()
            except ContextExceeded:
                raise ConfigurationError(
                    f"model {self.model} at {self.where} reports its context window "
                    f"exceeded by a part of {article.url} sized for {self.tokens} "
                    "tokens; set AI_CONTEXT_TOKENS to the model's real window"
                ) from None

        with ThreadPoolExecutor(max_workers=min(MAP_WORKERS, len(parts))) as pool:
            summaries = list(pool.map(summarise, enumerate(parts, 1)))
        joined = "\n\n".join(
            f"Part {index}: {summary}" for index, summary in enumerate(summaries, 1)
        )
        return self.counter.truncate(joined, budget), len(parts)

    def shrink(
        self,
        text: str,
        limit: int | None,
        article: ArticleInput,
        existing_tags: Sequence[str],
        mode: StructuredMode,
    ) -> str:
        """Return ``text`` cut to fit the window the server named, or to half."""
        if limit:
            logger.warning(
                "model %s at %s has a context window of %d tokens; set AI_CONTEXT_TOKENS=%d",
                self.model,
                self.where,
                limit,
                limit,
            )
            self._learned = limit
        current = self.counter.count(text)
        budget = self.article_budget(article, existing_tags, mode) if limit else current // 2
        # A budget no smaller than what failed would fail again: the count is off.
        if budget >= current:
            budget = current // 2
        return self.counter.truncate(text, max(budget, 1))
