"""The ``openai`` provider: any OpenAI-compatible server through Chat Completions.

One request per article asks for a JSON object (summary, category, tags, sentiment,
language), with a strict JSON schema where the server supports it. A server that refuses
``response_format`` is asked again in JSON mode, then in plain text, and the mode that
worked is kept for the process's later articles (``AI_STRUCTURED_MODE`` forces one).
An answer that breaks the contract is sent back once with what is wrong; a second bad
answer fails the attempt.

Failures and limits: every request takes its share of the ``AI_RPM`` and ``AI_TPM``
budgets the ai processes share in Redis, a 429 pauses them all, and transient failures
are retried while the stage's time limit allows (:mod:`~services.ai.pacing`); answers
that can never succeed (bad key, unknown model, invalid request) raise
:class:`ConfigurationError` naming the setting (:mod:`~services.ai.api_errors`).

This module holds the provider and its factory; its parts live beside the other ai
modules: :mod:`~services.ai.fitting` (the context window), :mod:`~services.ai.chat` (one
request and its usage), :mod:`~services.ai.prompt` and :mod:`~services.ai.answer`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import openai
import redis

from services.ai.answer import Answer, InvalidAnswer, parse_answer
from services.ai.chat import ChatRequests, ContextExceeded, Unsupported, Usage
from services.ai.fitting import ContextWindow
from services.ai.metrics import record_request
from services.ai.pacing import UNLIMITED_RATE, Deadline, Pacer
from services.ai.prompt import PromptOptions, correction_messages, enrichment_messages
from services.ai.providers.base import ArticleInput, Enrichment, min_tags_for
from services.ai.text import detect_language
from services.ai.tokens import TokenCounter, is_reasoning_model
from shared.ai_settings import AISettings, StructuredMode
from shared.errors import ConfigurationError
from shared.ratelimit import RateLimiter
from shared.settings import Settings

logger = logging.getLogger(__name__)

#: Share of the stage's time limit (AI_TIMEOUT) the requests may use; the rest is for
#: reading and storing.
DEADLINE_SHARE = 0.9
MODES: tuple[StructuredMode, ...] = ("json_schema", "json_object", "text")
DEFAULT_COMPLETION_TOKENS = 1_000
REASONING_COMPLETION_TOKENS = 8_000


class OpenAIProvider:
    """Enrich articles with a model behind an OpenAI-compatible Chat Completions API."""

    name = "openai"

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        model: str,
        categories: Sequence[str],
        summary_sentences: int,
        settings: AISettings,
        time_budget: float,
        where: str = "the OpenAI API",
        requests: RateLimiter | None = None,
        tokens: RateLimiter | None = None,
        pauses: RateLimiter | None = None,
        counter: TokenCounter | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not categories:
            raise ConfigurationError("CATEGORIES: name at least one category")
        self.client = client
        self.model = model
        self.categories = tuple(categories)
        self.settings = settings
        self.options = PromptOptions(
            self.categories, summary_sentences, settings.output_language, settings.rules
        )
        self.time_budget = time_budget
        self.where = where
        self.requests = requests
        self.tokens = tokens
        # A 429 pauses the requests bucket, which every process reads before sending.
        self.pauses = requests or pauses
        self.counter = counter or TokenCounter(model, use_tiktoken=settings.tokenizer == "auto")
        self.max_completion = settings.max_completion_tokens or (
            REASONING_COMPLETION_TOKENS if is_reasoning_model(model) else DEFAULT_COMPLETION_TOKENS
        )
        self._mode: StructuredMode = (
            "json_schema" if settings.structured_mode == "auto" else settings.structured_mode
        )
        self._lock = threading.Lock()
        self.pacer = Pacer(
            name=self.name,
            model=model,
            where=where,
            settings=settings,
            requests=requests,
            tokens=tokens,
            pauses=self.pauses,
            clock=clock,
            sleep=sleep,
        )
        self.chat = ChatRequests(
            client=client,
            name=self.name,
            model=model,
            categories=self.categories,
            settings=settings,
            where=where,
            counter=self.counter,
            max_completion=self.max_completion,
            pacer=self.pacer,
        )
        self.window = ContextWindow(
            model=model,
            where=where,
            options=self.options,
            settings=settings,
            counter=self.counter,
            max_completion=self.max_completion,
            chat=self.chat,
        )

    @property
    def clock(self) -> Callable[[], float]:
        """Return the clock deadlines and pauses are read on."""
        return self.pacer.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.pacer.clock = clock

    @property
    def sleep(self) -> Callable[[float], None]:
        """Return the function every wait of the requests goes through."""
        return self.pacer.sleep

    @sleep.setter
    def sleep(self, sleep: Callable[[float], None]) -> None:
        self.pacer.sleep = sleep

    @property
    def mode(self) -> StructuredMode:
        """Return the structured mode requests use now (it may step down once found out)."""
        return self._mode

    @property
    def context_tokens(self) -> int:
        """Return the context window assumed for the model (learned from the server)."""
        return self.window.tokens

    def article_budget(self, article: ArticleInput, existing_tags: Sequence[str]) -> int:
        """Return how many tokens of article text one request can carry."""
        return self.window.article_budget(article, existing_tags, self._mode)

    def enrich(self, article: ArticleInput, existing_tags: Sequence[str]) -> Enrichment:
        """Return the model's checked enrichment of ``article``, with its usage and cost."""
        deadline = Deadline(self.time_budget, self.clock)
        usage = Usage()
        text, parts = self.window.fit(article, existing_tags, self._mode, deadline, usage)
        answer = self._answer(article, text, parts, existing_tags, deadline, usage)
        return Enrichment(
            summary=answer.summary,
            category=answer.category,
            tags=answer.tags,
            sentiment=answer.sentiment,
            sentiment_score=answer.sentiment_score,
            language=answer.language,
            provider=self.name,
            model=self.model,
            prompt_tokens=usage.prompt,
            completion_tokens=usage.completion,
            cost_usd=None if usage.cost is None else round(usage.cost, 8),
        )

    def _answer(
        self,
        article: ArticleInput,
        text: str,
        parts: int,
        existing_tags: Sequence[str],
        deadline: Deadline,
        usage: Usage,
    ) -> Answer:
        """Ask for the enrichment; adapt to the server once; correct a bad answer once."""
        shrunk = False
        correction: list[dict[str, str]] = []
        while True:
            mode = self._mode
            messages = enrichment_messages(
                self.options, article, text, existing_tags, mode, parts=parts
            )
            try:
                reply = self.chat.complete(messages + correction, mode, deadline, usage)
            except Unsupported as ex:
                self._step_down(mode, str(ex))
                continue
            except ContextExceeded as ex:
                if shrunk:
                    raise ConfigurationError(
                        f"model {self.model} at {self.where} still reports its context "
                        f"window exceeded after the article was cut for {article.url}; set "
                        "AI_CONTEXT_TOKENS to the model's real window"
                    ) from None
                shrunk = True
                text = self.window.shrink(text, ex.limit, article, existing_tags, self._mode)
                continue
            try:
                answer = parse_answer(
                    reply.content,
                    self.categories,
                    min_tags=min_tags_for(article.text),
                    language=article.language,
                )
            except InvalidAnswer as ex:
                record_request(self.name, self.model, "invalid_answer")
                if reply.finish_reason == "length":
                    raise InvalidAnswer(
                        f"model {self.model}'s answer for {article.url} was cut at the "
                        f"completion budget of {self.max_completion} tokens ({ex}); raise "
                        "AI_MAX_COMPLETION_TOKENS"
                    ) from None
                if correction:
                    raise InvalidAnswer(
                        f"model {self.model} at {self.where} answered invalidly twice for "
                        f"{article.url}: {ex}"
                    ) from None
                logger.info("%s: invalid answer (%s), asking again", article.url, ex)
                correction = correction_messages(reply.content, str(ex))
                continue
            if answer.language is None:
                # The model named no usable language and the parser found none either.
                answer = replace(answer, language=detect_language(article.text))
            return answer

    def _step_down(self, mode: StructuredMode, reason: str) -> None:
        """Use the next structured mode from now on, unless the setting forces this one."""
        if self.settings.structured_mode != "auto" or mode == MODES[-1]:
            raise ConfigurationError(
                f"the server at {self.where} refuses response_format {mode} for model "
                f"{self.model} ({reason}); set AI_STRUCTURED_MODE=auto or a mode it supports"
            )
        following = MODES[MODES.index(mode) + 1]
        with self._lock:
            if self._mode == mode:
                logger.warning(
                    "the server at %s refuses %s (%s); using %s from now on",
                    self.where,
                    mode,
                    reason,
                    following,
                )
                self._mode = following


def build_openai_provider(
    settings: Settings, *, redis_client: redis.Redis | None = None
) -> OpenAIProvider:
    """Return the provider for ``OPENAI_*`` and ``AI_*`` settings, sharing limits through Redis."""
    ai = settings.ai
    key = settings.openai_api_key.get_secret_value().strip() if settings.openai_api_key else ""
    base_url = (settings.openai_base_url or "").strip() or None
    if not key and not base_url:
        raise ConfigurationError(
            "AI_PROVIDER=openai needs OPENAI_API_KEY, or OPENAI_BASE_URL for a server "
            "without keys (Ollama, vLLM, LM Studio)"
        )
    client = openai.OpenAI(
        # Local servers ignore the key, but the SDK insists on one.
        api_key=key or "unused",
        base_url=base_url,
        max_retries=0,
        timeout=settings.ai_timeout,
    )
    shared = redis_client or redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=5, socket_timeout=10
    )
    # The requests bucket exists without AI_RPM too: it carries the pauses after a 429.
    pauses = RateLimiter(shared, "ai:rpm", ai.rpm / 60 if ai.rpm else UNLIMITED_RATE)
    tokens = RateLimiter(shared, "ai:tpm", ai.tpm / 60) if ai.tpm else None
    return OpenAIProvider(
        client,
        model=settings.openai_model,
        categories=settings.categories,
        summary_sentences=settings.summary_sentences,
        settings=ai,
        time_budget=settings.ai_timeout * DEADLINE_SHARE,
        where=base_url or "the OpenAI API",
        requests=pauses if ai.rpm else None,
        tokens=tokens,
        pauses=pauses,
    )
