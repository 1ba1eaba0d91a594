"""Pacing of the ``openai`` provider's requests: the deadline, shared limits, back-off.

The SDK's own retries are off: they know neither the stage's time limit nor the budget
the ai processes share. Instead every request first takes a slot of the
requests-per-minute and tokens-per-minute buckets in Redis (``AI_RPM``, ``AI_TPM``); a
429 pauses those buckets for every process for its ``retry-after``, then either waits
(short waits) or raises :class:`RateLimited`, which re-queues the message without using
up an attempt. Other transient failures are retried a few times while the deadline
allows, then fail the attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from services.ai.metrics import record_request
from shared.ai_settings import AISettings
from shared.errors import EnrichmentError, RateLimited
from shared.ratelimit import RateLimiter

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


class Deadline:
    """The moment one article's requests must be done by."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.end = clock() + seconds

    def remaining(self) -> float:
        """Return the seconds left before the deadline (negative once past)."""
        return self.end - self.clock()


@dataclass(kw_only=True)
class Pacer:
    """Take shared request and token slots, wait out 429s, back off transient failures.

    ``requests`` and ``tokens`` are the AI_RPM and AI_TPM buckets (None when unset);
    ``pauses`` is the bucket whose pauses every process honours. ``model`` and ``where``
    name the model and the server in errors, ``name`` the provider in metrics.
    """

    name: str
    model: str
    where: str
    settings: AISettings
    requests: RateLimiter | None
    tokens: RateLimiter | None
    pauses: RateLimiter | None
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    _next_pause_check: float = field(default=0.0, init=False)

    def take_slots(self, tokens: int, deadline: Deadline) -> None:
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

    def rate_limited(
        self, retry_after: float | None, detail: str, waits: int, deadline: Deadline
    ) -> None:
        """Pause every process for the server's retry-after; wait here or hand back.

        ``detail`` is the server's message; ``waits`` counts this attempt's 429s so far.
        """
        record_request(self.name, self.model, "rate_limited")
        wait = retry_after or DEFAULT_RATE_LIMIT_WAIT * waits
        if self.pauses is not None:
            self.pauses.pause(wait)
        if (
            waits > MAX_RATE_LIMIT_WAITS
            or wait > self.settings.max_inline_wait
            or wait >= deadline.remaining()
        ):
            raise RateLimited(
                f"model {self.model} at {self.where} is rate limited (HTTP 429): {detail}",
                retry_after=wait,
            )
        if self.requests is None:
            self.sleep(wait)
            self._next_pause_check = 0.0

    def back_off(
        self,
        failures: int,
        deadline: Deadline,
        *,
        outcome: str,
        retry_after: float | None,
        description: str,
    ) -> None:
        """Sleep before the next try of a transient failure, or raise when out of tries."""
        record_request(self.name, self.model, outcome)
        wait = retry_after or BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1]
        if failures <= self.settings.request_retries and wait < deadline.remaining():
            self.sleep(wait)
            return
        message = f"model {self.model} at {self.where}: {description}"
        if retry_after and retry_after > self.settings.max_inline_wait:
            # An overloaded server that names its wait is rate limiting in all but name.
            raise RateLimited(message, retry_after=retry_after) from None
        raise EnrichmentError(f"{message} (after {failures} tries)") from None
