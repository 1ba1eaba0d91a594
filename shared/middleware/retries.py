"""Retry delays on a schedule (0 s, 30 s, 300 s by default) instead of doubling.

Each queue may have its own schedule (``PARSING_RETRY_DELAYS``…, else ``RETRY_DELAYS``):
the middleware asks :meth:`shared.settings.Settings.retry_delay` for the delay of a retry
of an actor's queue, so the rule lives with the settings.

Local mode also reports each failed attempt as it happens (:class:`RetryNotices`): one
line per retry for the person watching, instead of the worker's traceback.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from shared.errors import outage_wait
from shared.middleware.tracking import ATTEMPT_OPTION

#: (queue, 0-based retry number) → seconds to wait before that retry.
DelayOf = Callable[[str, int], float]


class RetrySchedule(Middleware):
    """Set the backoff of the next retry from its queue's schedule of delays.

    Placed after ``Retries`` so its after-hook runs first: it sets the message's
    ``min_backoff``/``max_backoff`` so that ``Retries`` waits between half the scheduled
    delay and the delay itself (Dramatiq always adds jitter), before it re-enqueues.
    """

    def __init__(self, delay_of: DelayOf) -> None:
        self.delay_of = delay_of

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        """Choose the delay of the retry that ``Retries`` is about to schedule."""
        if exception is None:
            return
        retry = int(message.options.get("retries", 0))
        wait = outage_wait(exception)
        if wait is not None:
            # Waiting for a rate limit or an outage is not a failed attempt: step the
            # counter back by one so that Retries' increment leaves it where it was.
            message.options["retries"] = retry - 1
            delay = int(wait * 1000)
            message.options["min_backoff"] = delay / 2 ** max(retry - 1, 0)
            message.options["max_backoff"] = max(delay, 1)
            return
        # The actor's queue, not the message's: a retried message comes back from its
        # queue's delay queue (``<q>.DQ``).
        queue = broker.get_actor(message.actor_name).queue_name
        delay = int(self.delay_of(queue, retry) * 1000)
        # Retries computes factor * 2**retry * uniform(1, 2) and, above max_backoff,
        # max_backoff * uniform(0.5, 1): with these two values the wait is in [delay/2, delay].
        message.options["min_backoff"] = delay / 2**retry
        message.options["max_backoff"] = delay


@dataclass(frozen=True)
class RetryNotice:
    """What someone watching a run reads when a stage failed: retried soon, or not at all.

    ``delay`` is the wait before the retry in seconds, ``None`` when the failure is final.
    """

    actor: str
    item: int | None
    attempt: int
    delay: float | None
    cause: str

    def line(self) -> str:
        """Return the notice as one line, e.g. ``retrying in 5 s: connection refused``."""
        if self.delay is None:
            return f"gave up after attempt {self.attempt}: {self.cause}"
        seconds = f"{self.delay:.0f}" if self.delay >= 10 else f"{round(self.delay, 1):g}"
        return f"retrying in {seconds} s: {self.cause}"


def short_cause(exception: BaseException) -> str:
    """Return the root of an exception's chain in a few words (``connection refused``).

    An OS error speaks for itself (its ``strerror``); anything else gives its own text,
    or its class name when it has none. The chain follows ``raise … from …``.
    """
    root = exception
    while root.__cause__ is not None:
        root = root.__cause__
    if isinstance(root, OSError) and root.strerror:
        return _lower_first(root.strerror)
    text = str(root)
    # An OS error wrapped by a library that kept only its text: "[Errno 111] Connection refused".
    errno_text = _ERRNO_PREFIX.sub("", text)
    if errno_text != text:
        return _lower_first(errno_text)
    return text or type(root).__name__


_ERRNO_PREFIX = re.compile(r"^\[Errno -?\d+\]\s*")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


class RetryNotices(Middleware):
    """Report every failed attempt of a stage once, as a :class:`RetryNotice`.

    Placed before ``Retries`` in the broker's list, so its after-hook runs after
    ``Retries`` has decided: the delay of the retry is read where ``Retries`` enqueues
    it (``before_enqueue``, in the same thread), and no retry enqueued means the failure
    was final. A wait for a rate limit or an outage is not a failed attempt and is told
    as such by ``cause``.
    """

    def __init__(self, notify: Callable[[RetryNotice], None]) -> None:
        self.notify = notify
        self._delays = threading.local()

    def before_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        """Remember the delay of a retry this thread is enqueueing."""
        if delay is not None and message.options.get("retries"):
            self._delays.last = (message.message_id, delay / 1000)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        """Tell of a failed attempt: the retry's delay, or that it was the last one."""
        if exception is None:
            return
        last = getattr(self._delays, "last", None)
        self._delays.last = None
        delay = last[1] if last is not None and last[0] == message.message_id else None
        args = message.args
        self.notify(
            RetryNotice(
                actor=message.actor_name,
                item=args[0] if args and isinstance(args[0], int) else None,
                # The stage's own count where tracking set it; else Dramatiq's failures.
                attempt=int(
                    message.options.get(ATTEMPT_OPTION) or message.options.get("retries") or 1
                ),
                delay=delay,
                cause=short_cause(exception),
            )
        )
