"""A Redis broker whose consumers take the next message as soon as a thread is free.

Dramatiq's Redis consumer treats "every prefetched message is still being run" like
"the queue is empty": it backs off, doubling its sleep up to the idle poll interval
(``dramatiq_worker_timeout``, ``WORKER_POLL_MS``). On a busy worker the backoff reaches
that interval, so a thread that frees up waits up to a whole interval before the next
message is fetched for it — with a 200 ms model call per message and 8 threads, a
tenth of the worker's time. Here a consumer that holds its full prefetch sleeps until a
worker thread acknowledges a message (an event, no polling of Redis) and fetches at
once; an empty queue is still polled with Dramatiq's backoff.

Because a free slot is refilled at once, workers prefetch one message per thread and
no more: a message held in a worker cannot be overtaken by an urgent one that arrives
at the head of the Redis queue after it.
"""

from __future__ import annotations

import threading
from typing import Any

from dramatiq.brokers.redis import RedisBroker, _RedisConsumer

#: The longest a full consumer sleeps between checks (it also wakes on every ack): its
#: worker's consumer thread moves delayed messages and notices a shutdown in between.
FULL_WAIT_SECONDS = 0.1


class PromptConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer, waking on acks instead of backing off when full."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slot_freed = threading.Event()

    def __next__(self) -> Any:
        if not self.message_cache and self.outstanding_message_count >= self.prefetch:
            self._slot_freed.wait(FULL_WAIT_SECONDS)
            self._slot_freed.clear()
            if self.outstanding_message_count >= self.prefetch:
                # Returning None lets the worker's consumer thread do its housekeeping.
                return None
        return super().__next__()

    def ack(self, message: Any) -> None:
        """Acknowledge a message and wake the consumer: a slot is free."""
        try:
            super().ack(message)
        finally:
            self._slot_freed.set()

    def nack(self, message: Any) -> None:
        """Reject a message and wake the consumer: a slot is free."""
        try:
            super().nack(message)
        finally:
            self._slot_freed.set()


class PromptRedisBroker(RedisBroker):
    """Dramatiq's Redis broker with :class:`PromptConsumer` consumers."""

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        """Return the consumer class the broker's ``consume`` builds."""
        return PromptConsumer
