"""The ``openai`` provider: any OpenAI-compatible server through Chat Completions.

One request per article asks for a JSON object (summary, category, tags, sentiment,
language), with a strict JSON schema where the server supports it. A server that refuses
``response_format`` is asked again in JSON mode, then in plain text, and the mode that
worked is kept for the process's later articles (``AI_STRUCTURED_MODE`` forces one).
An answer that breaks the contract is sent back once with what is wrong; a second bad
answer fails the attempt.

Failures and limits. The SDK's own retries are off: they know neither the stage's time
limit nor the budget the ai processes share. Instead every request first takes a slot of
the requests-per-minute and tokens-per-minute buckets in Redis (``AI_RPM``, ``AI_TPM``);
a 429 pauses those buckets for every process for its ``retry-after``, then either waits
(short waits) or raises :class:`RateLimited`, which re-queues the message without using
up an attempt. 5xx answers, timeouts and connection errors are retried a few times while
the deadline allows, then fail the attempt. Answers that can never succeed (bad key,
unknown model, invalid request) raise :class:`ConfigurationError` naming the setting.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import openai
import redis

from services.ai.answer import Answer, InvalidAnswer, parse_answer
from services.ai.metrics import record_request, record_usage
from services.ai.prices import cost_of
from services.ai.prompt import (
    PromptOptions,
    correction_messages,
    enrichment_messages,
    enrichment_schema,
    part_messages,
    response_format,
)
from services.ai.providers.base import ArticleInput, Enrichment, min_tags_for
from services.ai.settings import AISettings, StructuredMode
from services.ai.text import detect_language
from services.ai.tokens import TokenCounter, context_window, is_reasoning_model
from shared.errors import ConfigurationError, EnrichmentError, PermanentError, RateLimited
from shared.ratelimit import RateLimiter
from shared.settings import Settings

logger = logging.getLogger(__name__)

#: Share of the stage's time limit (AI_TIMEOUT) the requests may use; the rest is for
#: reading and storing.
DEADLINE_SHARE = 0.9
MODES: tuple[StructuredMode, ...] = ("json_schema", "json_object", "text")
DEFAULT_COMPLETION_TOKENS = 1_000
REASONING_COMPLETION_TOKENS = 8_000
#: Fewer article tokens than this leave nothing worth summarising.
MIN_ARTICLE_TOKENS = 200
#: Parallel requests of one map-reduce summary (each still takes its bucket slots).
MAP_WORKERS = 4
#: Waits between retries of a failed request when the server gives no retry-after.
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0)
#: 429s one attempt waits out in place before handing the message back.
MAX_RATE_LIMIT_WAITS = 3
#: The wait after a 429 that gives no retry-after.
DEFAULT_RATE_LIMIT_WAIT = 5.0
#: The requests bucket when AI_RPM is unset: no pacing, but 429 pauses are still shared.
UNLIMITED_RATE = 1e9
#: How often a process without AI_RPM reads whether another one set a pause.
PAUSE_CHECK_SECONDS = 0.25

_CONTEXT_ERROR = re.compile(
    r"context[ _]length|context window|maximum context|too many tokens|prompt is too long|"
    r"exceeds? the (?:model'?s? )?(?:maximum|context)",
    re.IGNORECASE,
)
_CONTEXT_LIMIT = re.compile(r"(?:maximum context length|context window|limit) (?:is|of) (\d+)")
_FORMAT_ERROR = re.compile(r"response_format|json_schema|json_object|structured output", re.I)


class _Unsupported(Exception):
    """The server refused the structured mode of the request."""


class _ContextExceeded(Exception):
    """The prompt did not fit; ``limit`` is the window the server named, if any."""

    def __init__(self, limit: int | None) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True)
class _Reply:
    content: str
    finish_reason: str | None


class _Usage:
    """Tokens and cost of one article's requests, added up from several threads."""

    def __init__(self) -> None:
        self.prompt = 0
        self.completion = 0
        self.cost: float | None = 0.0
        self._lock = threading.Lock()

    def add(self, prompt: int, completion: int, cost: float | None) -> None:
        with self._lock:
            self.prompt += prompt
            self.completion += completion
            # One request without a price makes the whole cost unknown, not smaller.
            self.cost = None if cost is None or self.cost is None else self.cost + cost


class _Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.end = clock() + seconds

    def remaining(self) -> float:
        return self.end - self.clock()


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
        self._next_pause_check = 0.0
        self.counter = counter or TokenCounter(model, use_tiktoken=settings.tokenizer == "auto")
        self.clock = clock
        self.sleep = sleep
        reasoning = is_reasoning_model(model)
        self.max_completion = settings.max_completion_tokens or (
            REASONING_COMPLETION_TOKENS if reasoning else DEFAULT_COMPLETION_TOKENS
        )
        self._mode: StructuredMode = (
            "json_schema" if settings.structured_mode == "auto" else settings.structured_mode
        )
        self._token_parameter = "max_completion_tokens" if reasoning else "max_tokens"
        self._context = settings.context_tokens
        self._lock = threading.Lock()

    @property
    def mode(self) -> StructuredMode:
        """Return the structured mode requests use now (it may step down once found out)."""
        return self._mode

    @property
    def context_tokens(self) -> int:
        """Return the context window assumed for the model (learned from the server)."""
        return self._context or context_window(self.model)

    def enrich(self, article: ArticleInput, existing_tags: Sequence[str]) -> Enrichment:
        """Return the model's checked enrichment of ``article``, with its usage and cost."""
        deadline = _Deadline(self.time_budget, self.clock)
        usage = _Usage()
        text, parts = self._fitted_text(article, existing_tags, deadline, usage)
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

    # Fitting the article in the context window

    def article_budget(self, article: ArticleInput, existing_tags: Sequence[str]) -> int:
        """Return how many tokens of article text one request can carry."""
        window = self.context_tokens
        empty = enrichment_messages(self.options, article, "", existing_tags, self._mode)
        overhead = self.counter.count_messages(empty)
        if self._mode == "json_schema":
            overhead += self.counter.count(json.dumps(enrichment_schema(self.categories)))
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

    def _fitted_text(
        self,
        article: ArticleInput,
        existing_tags: Sequence[str],
        deadline: _Deadline,
        usage: _Usage,
    ) -> tuple[str, int]:
        """Return the text to send and, when it is the summaries of parts, how many."""
        budget = self.article_budget(article, existing_tags)
        text = article.text.strip()
        if self.counter.count(text) <= budget:
            return text, 0
        if self.settings.long_text == "map_reduce":
            return self._map_reduce(article, text, budget, deadline, usage)
        return self.counter.truncate(text, budget), 0

    def _map_reduce(
        self, article: ArticleInput, text: str, budget: int, deadline: _Deadline, usage: _Usage
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
                return self._complete(messages, "text", deadline, usage).content.strip()
            except _ContextExceeded:
                raise ConfigurationError(
                    f"model {self.model} at {self.where} reports its context window "
                    f"exceeded by a part of {article.url} sized for {self.context_tokens} "
                    "tokens; set AI_CONTEXT_TOKENS to the model's real window"
                ) from None

        with ThreadPoolExecutor(max_workers=min(MAP_WORKERS, len(parts))) as pool:
            summaries = list(pool.map(summarise, enumerate(parts, 1)))
        joined = "\n\n".join(
            f"Part {index}: {summary}" for index, summary in enumerate(summaries, 1)
        )
        return self.counter.truncate(joined, budget), len(parts)

    def _shrunk(
        self, text: str, limit: int | None, article: ArticleInput, existing_tags: Sequence[str]
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
            self._context = limit
        current = self.counter.count(text)
        budget = self.article_budget(article, existing_tags) if limit else current // 2
        # A budget no smaller than what failed would fail again: the count is off.
        if budget >= current:
            budget = current // 2
        return self.counter.truncate(text, max(budget, 1))

    # Asking and checking

    def _answer(
        self,
        article: ArticleInput,
        text: str,
        parts: int,
        existing_tags: Sequence[str],
        deadline: _Deadline,
        usage: _Usage,
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
                reply = self._complete(messages + correction, mode, deadline, usage)
            except _Unsupported as ex:
                self._step_down(mode, str(ex))
                continue
            except _ContextExceeded as ex:
                if shrunk:
                    raise ConfigurationError(
                        f"model {self.model} at {self.where} still reports its context "
                        f"window exceeded after the article was cut for {article.url}; set "
                        "AI_CONTEXT_TOKENS to the model's real window"
                    ) from None
                shrunk = True
                text = self._shrunk(text, ex.limit, article, existing_tags)
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

    # One request, with its limits and its retries

    def _complete(
        self,
        messages: list[dict[str, str]],
        mode: StructuredMode,
        deadline: _Deadline,
        usage: _Usage,
    ) -> _Reply:
        """Send one chat request within the shared limits; retry what may pass."""
        parameters: dict[str, Any] = {"model": self.model, "messages": messages}
        answer_format = response_format(mode, self.categories)
        if answer_format is not None:
            parameters["response_format"] = answer_format
        if self.settings.temperature is not None:
            parameters["temperature"] = self.settings.temperature
        prompt_estimate = self.counter.count_messages(messages)
        if mode == "json_schema":
            prompt_estimate += self.counter.count(json.dumps(answer_format))
        failures = rate_limit_waits = 0
        adapted = False
        while True:
            parameters[self._token_parameter] = self.max_completion
            self._take_slots(prompt_estimate + self.max_completion, deadline)
            remaining = deadline.remaining()
            if remaining <= 0:
                raise EnrichmentError(
                    f"model {self.model} at {self.where}: no time left within AI_TIMEOUT"
                )
            timeout = min(remaining, self.settings.request_timeout or remaining)
            try:
                completion = self.client.chat.completions.create(**parameters, timeout=timeout)
            except openai.APIStatusError as ex:
                if ex.status_code == 429 and ex.code != "insufficient_quota":
                    rate_limit_waits += 1
                    self._rate_limited(ex, rate_limit_waits, deadline)
                    continue
                if ex.status_code in (400, 413, 422) and not adapted:
                    # Adapting twice would go round in circles between two parameters.
                    adapted = self._adapted(ex, parameters)
                    if adapted:
                        continue
                if not _is_transient(ex):
                    self._reject(ex, mode)
                failures += 1
                self._back_off(ex, failures, deadline, _outcome(ex))
                continue
            except openai.APIConnectionError as ex:
                failures += 1
                self._back_off(ex, failures, deadline, _outcome(ex))
                continue
            return self._received(completion, prompt_estimate, usage)

    def _take_slots(self, tokens: int, deadline: _Deadline) -> None:
        """Take one request and ``tokens`` from the shared buckets, waiting briefly at most."""
        wait_at_most = max(0.0, min(deadline.remaining(), self.settings.max_inline_wait))
        if self.requests is not None:
            self.requests.acquire(1, deadline=self.requests.clock() + wait_at_most)
        else:
            self._honour_pause(wait_at_most)
        if self.tokens is not None:
            self.tokens.acquire(tokens, deadline=self.tokens.clock() + wait_at_most)

    def _honour_pause(self, wait_at_most: float) -> None:
        """Wait out a pause another process set after a 429, or hand the message back.

        Without AI_RPM there is no bucket to take from, only pauses to respect; they are
        read from Redis at most every PAUSE_CHECK_SECONDS, as each read costs a round trip.
        """
        if self.pauses is None or self.clock() < self._next_pause_check:
            return
        paused = self.pauses.paused_for()
        self._next_pause_check = self.clock() + (0.0 if paused else PAUSE_CHECK_SECONDS)
        if not paused:
            return
        if paused > wait_at_most:
            raise RateLimited(
                f"model {self.model} at {self.where}: every ai process is paused for "
                f"{paused:.1f} s after a rate limit",
                retry_after=paused,
            )
        self.sleep(paused)

    def _received(self, completion: Any, prompt_estimate: int, usage: _Usage) -> _Reply:
        """Account for an answered request and return its text."""
        if not completion.choices:
            raise EnrichmentError(f"model {self.model} at {self.where} answered no choices")
        choice = completion.choices[0]
        content = choice.message.content or ""
        reported = completion.usage
        # Some servers report no usage: count what was sent and received instead.
        prompt_tokens = reported.prompt_tokens if reported else prompt_estimate
        completion_tokens = reported.completion_tokens if reported else self.counter.count(content)
        cost = cost_of(self.model, prompt_tokens, completion_tokens, self.settings.prices)
        if cost is None and completion.model:
            cost = cost_of(completion.model, prompt_tokens, completion_tokens, self.settings.prices)
        usage.add(prompt_tokens, completion_tokens, cost)
        record_usage(self.name, self.model, prompt_tokens, completion_tokens, cost)
        record_request(self.name, self.model, "ok")
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            raise PermanentError(f"model {self.model} refused to describe the article: {refusal}")
        return _Reply(content, choice.finish_reason)

    def _rate_limited(self, ex: openai.APIStatusError, waits: int, deadline: _Deadline) -> None:
        """Pause every process for the server's retry-after; wait here or hand back."""
        record_request(self.name, self.model, "rate_limited")
        wait = _retry_after(ex) or DEFAULT_RATE_LIMIT_WAIT * waits
        if self.pauses is not None:
            self.pauses.pause(wait)
        if (
            waits > MAX_RATE_LIMIT_WAITS
            or wait > self.settings.max_inline_wait
            or wait >= deadline.remaining()
        ):
            raise RateLimited(
                f"model {self.model} at {self.where} is rate limited (HTTP 429): {_error_text(ex)}",
                retry_after=wait,
            )
        if self.requests is None:
            self.sleep(wait)
            self._next_pause_check = 0.0

    def _back_off(
        self, ex: openai.APIError, failures: int, deadline: _Deadline, outcome: str
    ) -> None:
        """Sleep before the next try of a transient failure, or raise when out of tries."""
        record_request(self.name, self.model, outcome)
        retry_after = _retry_after(ex) if isinstance(ex, openai.APIStatusError) else None
        wait = retry_after or BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1]
        if failures <= self.settings.request_retries and wait < deadline.remaining():
            self.sleep(wait)
            return
        description = f"model {self.model} at {self.where}: {_describe(ex)}"
        if retry_after and retry_after > self.settings.max_inline_wait:
            # An overloaded server that names its wait is rate limiting in all but name.
            raise RateLimited(description, retry_after=retry_after) from None
        raise EnrichmentError(f"{description} (after {failures} tries)") from None

    def _adapted(self, ex: openai.APIStatusError, parameters: dict[str, Any]) -> bool:
        """Tell whether a rejected request was adapted to be sent again; raise if it can be."""
        text = _error_text(ex)
        if ex.code == "context_length_exceeded" or ex.status_code == 413:
            raise _ContextExceeded(_context_limit(text))
        if ex.code != "model_not_found" and _CONTEXT_ERROR.search(text):
            raise _ContextExceeded(_context_limit(text))
        if "response_format" in parameters and (
            (ex.param or "").startswith("response_format") or _FORMAT_ERROR.search(text)
        ):
            raise _Unsupported(text)
        other = "max_completion_tokens" if self._token_parameter == "max_tokens" else "max_tokens"
        if ex.param == self._token_parameter or (self._token_parameter in text and other in text):
            # OpenAI's reasoning models take only max_completion_tokens, older servers
            # only max_tokens: switch once and remember.
            parameters.pop(self._token_parameter, None)
            self._token_parameter = other
            return True
        return False

    def _reject(self, ex: openai.APIStatusError, mode: StructuredMode) -> NoReturn:
        """Raise the permanent error of an answer no retry can change, naming the setting."""
        record_request(self.name, self.model, "rejected")
        text = _error_text(ex)
        status = ex.status_code
        if ex.code == "insufficient_quota":
            advice = "the account behind OPENAI_API_KEY has no quota left (check its billing)"
        elif status == 401:
            advice = "the server refused the key: check OPENAI_API_KEY"
        elif status == 403:
            advice = f"OPENAI_API_KEY may not use model {self.model}: check OPENAI_MODEL"
        elif status == 404 or ex.code == "model_not_found":
            advice = (
                f"model {self.model} or its endpoint was not found: check OPENAI_MODEL, and "
                "OPENAI_BASE_URL (it usually ends in /v1)"
            )
        elif ex.param == "temperature":
            advice = f"model {self.model} refuses AI_TEMPERATURE: unset it"
        else:
            advice = (
                f"the request was rejected as invalid (structured mode {mode}): check "
                "OPENAI_MODEL, OPENAI_BASE_URL and the AI_* settings"
            )
        raise ConfigurationError(
            f"{self.where} answered HTTP {status} for model {self.model}: {advice} ({text})"
        ) from None


def build_openai_provider(
    settings: Settings, ai: AISettings, *, redis_client: redis.Redis | None = None
) -> OpenAIProvider:
    """Return the provider for ``OPENAI_*`` settings, sharing limits through Redis."""
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


def _is_transient(ex: openai.APIStatusError) -> bool:
    """Tell whether an error status may pass on a later try (timeouts, conflicts, 5xx)."""
    return ex.status_code in (408, 409) or ex.status_code >= 500


def _outcome(ex: openai.APIError) -> str:
    if isinstance(ex, openai.APITimeoutError):
        return "timeout"
    if isinstance(ex, openai.APIConnectionError):
        return "connection_error"
    return "server_error"


def _describe(ex: openai.APIError) -> str:
    if isinstance(ex, openai.APITimeoutError):
        return "the request timed out"
    if isinstance(ex, openai.APIConnectionError):
        return f"cannot connect ({ex.__cause__ or ex})"
    if isinstance(ex, openai.APIStatusError):
        return f"HTTP {ex.status_code}: {_error_text(ex)}"
    return str(ex)


def _error_text(ex: openai.APIError) -> str:
    """Return the server's own error message, without the SDK's decoration."""
    body = ex.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return ex.message


def _context_limit(text: str) -> int | None:
    """Return the context window an error message names, if it names one."""
    match = _CONTEXT_LIMIT.search(text)
    return int(match.group(1)) if match else None


def _retry_after(ex: openai.APIStatusError) -> float | None:
    """Return the seconds the server asks to wait (retry-after-ms, retry-after), if any."""
    headers = ex.response.headers
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the other form of the header: an HTTP date
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
