"""One Chat Completions request of the ``openai`` provider, with its retries and usage.

:class:`ChatRequests` builds the request's parameters, takes its slots from the
:class:`~services.ai.pacing.Pacer`, sends it, and accounts for the answer's tokens and
cost. A 429 or a transient failure goes to the pacer; a parameter the server rejects is
adapted once (``max_tokens`` or ``max_completion_tokens``); a refused structured mode
and an overflowed context window go back to the provider as :class:`Unsupported` and
:class:`ContextExceeded`; anything else no retry can change raises
:class:`ConfigurationError` naming the setting.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, NoReturn

import openai

from services.ai.api_errors import (
    context_limit,
    describe,
    error_text,
    exceeds_context,
    is_transient,
    outcome_of,
    refuses_format,
    rejection_advice,
    retry_after,
)
from services.ai.metrics import record_request, record_usage
from services.ai.pacing import Deadline, Pacer
from services.ai.prompt import response_format
from services.ai.tokens import TokenCounter, is_reasoning_model
from shared.ai_prices import cost_of
from shared.ai_settings import AISettings, StructuredMode
from shared.errors import ConfigurationError, EnrichmentError, PermanentError


class Unsupported(Exception):
    """The server refused the structured mode of the request."""


class ContextExceeded(Exception):
    """The prompt did not fit; ``limit`` is the window the server named, if any."""

    def __init__(self, limit: int | None) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True)
class Reply:
    """The text of an answered request and why the model stopped writing."""

    content: str
    finish_reason: str | None


class Usage:
    """Tokens and cost of one article's requests, added up from several threads."""

    def __init__(self) -> None:
        self.prompt = 0
        self.completion = 0
        self.cost: float | None = 0.0
        self._lock = threading.Lock()

    def add(self, prompt: int, completion: int, cost: float | None) -> None:
        """Add one request's tokens and cost."""
        with self._lock:
            self.prompt += prompt
            self.completion += completion
            # One request without a price makes the whole cost unknown, not smaller.
            self.cost = None if cost is None or self.cost is None else self.cost + cost


@dataclass(kw_only=True)
class ChatRequests:
    """Send chat requests for one model within the shared limits, and account for them."""

    client: openai.OpenAI
    name: str
    model: str
    categories: tuple[str, ...]
    settings: AISettings
    where: str
    counter: TokenCounter
    max_completion: int
    pacer: Pacer
    #: The parameter that carries the completion budget; the server may ask for the other.
    _token_parameter: str = field(init=False)

    def __post_init__(self) -> None:
        reasoning = is_reasoning_model(self.model)
        self._token_parameter = "max_completion_tokens" if reasoning else "max_tokens"

    def complete(
        self,
        messages: list[dict[str, str]],
        mode: StructuredMode,
        deadline: Deadline,
        usage: Usage,
    ) -> Reply:
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
            self.pacer.take_slots(prompt_estimate + self.max_completion, deadline)
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
                    self.pacer.rate_limited(
                        retry_after(ex), error_text(ex), rate_limit_waits, deadline
                    )
                    continue
                if ex.status_code in (400, 413, 422) and not adapted:
                    # Adapting twice would go round in circles between two parameters.
                    adapted = self._adapted(ex, parameters)
                    if adapted:
                        continue
                if not is_transient(ex):
                    self._reject(ex, mode)
                failures += 1
                self._back_off(ex, failures, deadline)
                continue
            except openai.APIConnectionError as ex:
                failures += 1
                self._back_off(ex, failures, deadline)
                continue
            return self._received(completion, prompt_estimate, usage)

    def _received(self, completion: Any, prompt_estimate: int, usage: Usage) -> Reply:
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
        return Reply(content, choice.finish_reason)

    def _back_off(self, ex: openai.APIError, failures: int, deadline: Deadline) -> None:
        """Have the pacer wait before the next try of a transient failure, or give up."""
        self.pacer.back_off(
            failures,
            deadline,
            outcome=outcome_of(ex),
            retry_after=retry_after(ex),
            description=describe(ex),
        )

    def _adapted(self, ex: openai.APIStatusError, parameters: dict[str, Any]) -> bool:
        """Tell whether a rejected request was adapted to be sent again; raise if it can be."""
        text = error_text(ex)
        if exceeds_context(ex):
            raise ContextExceeded(context_limit(text))
        if "response_format" in parameters and refuses_format(ex):
            raise Unsupported(text)
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
        raise ConfigurationError(
            f"{self.where} answered HTTP {ex.status_code} for model {self.model}: "
            f"{rejection_advice(ex, self.model, mode)} ({error_text(ex)})"
        ) from None
