"""Retry delays on a schedule (0 s, 30 s, 300 s by default) instead of doubling.

Each queue may have its own schedule (``PARSING_RETRY_DELAYS``…, else ``RETRY_DELAYS``):
the middleware asks :meth:`shared.settings.Settings.retry_delay` for the delay of a retry
of an actor's queue, so the rule lives with the settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from shared.errors import outage_wait

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
