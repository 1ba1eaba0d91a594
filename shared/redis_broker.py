"""Everything the project does with Dramatiq's Redis broker, in one place.

- :class:`Keys`: every Redis key and channel name the project reads or writes, Dramatiq's
  own layout included (it is private to Dramatiq: ``tests/shared/test_dramatiq_contract.py``
  fails when a Dramatiq release changes it, and ``pyproject.toml`` pins the minor version).
- :class:`PromptRedisBroker` and :class:`PromptConsumer` (below).
- :func:`to_front`: a high-ranked item's message moved to the head of its queue and
  announced, and the consumer's side of it (``_FETCH_NOTICED``).

A Redis broker whose consumers take the next message as soon as a thread is free.

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

A high-ranked item's message does not wait for a thread either. Workers run
``SPARE_THREADS`` threads beyond their prefetch, idle in bulk work. When the feeder
moves a message to the head of its queue (``feeding.to_front``) it publishes the
message's id on the queue's front channel (:meth:`Keys.front_channel`); every consumer of
that queue hears it, and one with a spare slot takes that very message (by id,
atomically, so exactly one consumer gets it and none takes a bulk message instead) and
hands it to its spare thread at once.
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.message import Message

from shared.urgency import URGENT_KEY

logger = logging.getLogger(__name__)

#: The longest a full consumer sleeps between checks (it also wakes on every ack): its
#: worker's consumer thread moves delayed messages and notices a shutdown in between.
FULL_WAIT_SECONDS = 0.1
#: Worker threads beyond the prefetch, kept for messages moved to the queue's head.
SPARE_THREADS = 1
#: How long the listener waits for a notice before it looks whether to stop.
LISTEN_SECONDS = 1.0
#: How long the listener waits before it subscribes again after a Redis error.
RELISTEN_SECONDS = 1.0

#: Take one noticed message off its queue into this worker's acknowledgements, as
#: Dramatiq's ``fetch`` does for the head of the queue: nothing if another took it.
_FETCH_NOTICED = """
if redis.call("lrem", KEYS[1], 1, ARGV[1]) > 0 then
    redis.call("sadd", KEYS[2], ARGV[1])
    return redis.call("hget", KEYS[3], ARGV[1])
end
return false
"""


#: Move a just-sent message from anywhere in its list to the head, and announce it; a
#: message a consumer took meanwhile is not pushed again.
_TO_FRONT = """
if redis.call("lrem", KEYS[1], 1, ARGV[1]) > 0 then
    redis.call("lpush", KEYS[1], ARGV[1])
    redis.call("publish", KEYS[2], ARGV[1])
end
"""

#: The suffix of a queue's delay queue (retries and delayed messages wait there).
DELAY_SUFFIX = ".DQ"


@dataclass(frozen=True)
class Keys:
    """The Redis names under one broker namespace (Dramatiq's default: ``dramatiq``)."""

    namespace: str = "dramatiq"

    def queue(self, queue_name: str) -> str:
        """Return the list of a queue's waiting message ids (Dramatiq)."""
        return f"{self.namespace}:{queue_name}"

    def messages(self, queue_name: str) -> str:
        """Return the hash of every unacknowledged message of a queue, by id (Dramatiq)."""
        return f"{self.queue(queue_name)}.msgs"

    def delayed(self, queue_name: str) -> str:
        """Return the hash of a queue's delayed and retrying messages (Dramatiq)."""
        return self.messages(f"{queue_name}{DELAY_SUFFIX}")

    def dead(self, queue_name: str) -> tuple[str, str]:
        """Return a queue's dead letters: the sorted set of ids by time, and their messages."""
        dead = f"{self.queue(queue_name)}.XQ"
        return dead, f"{dead}.msgs"

    def acks(self, broker_id: str, queue_name: str) -> str:
        """Return the set of a queue's messages one worker (broker id) holds (Dramatiq)."""
        return f"{self.acks_prefix()}{broker_id}.{queue_name}"

    def acks_prefix(self) -> str:
        """Return the prefix of every worker's acknowledgement sets (Dramatiq)."""
        return f"{self.namespace}:__acks__."

    def heartbeats(self) -> str:
        """Return the sorted set of broker ids by their last command, in ms (Dramatiq)."""
        return f"{self.namespace}:__heartbeats__"

    def front_channel(self, queue_name: str) -> str:
        """Return the channel announcing a message moved to the head of ``queue_name``."""
        return f"{self.namespace}:kbm:front:{queue_name}"

    def urgent_running(self, host: str) -> str:
        """Return the hash of urgent messages running on one host's worker processes."""
        return f"{self.namespace}:{URGENT_KEY}:{host}"


def is_delay_queue(queue_name: str) -> bool:
    """Tell whether ``queue_name`` is a delay queue (its messages are moved, never run)."""
    return queue_name.endswith(DELAY_SUFFIX)


def to_front(broker: dramatiq.Broker, message: dramatiq.Message[Any]) -> None:
    """Move a just-sent message to the head of its Redis list (RQ's ``at_front``).

    A queue is first in, first out; a high-priority item must not wait behind the
    messages fed before it. Dramatiq's Redis broker appends (RPUSH) and consumers take
    from the head (LPOP): the message is taken out and pushed at the head in one
    transaction, and announced on the queue's front channel, so that a worker's spare
    thread takes it at once (:class:`PromptConsumer`). Other brokers (local mode) keep it
    where it is.
    """
    if not isinstance(broker, RedisBroker):
        return
    message_id = message.options.get("redis_message_id")
    if not message_id:
        return
    keys = Keys(broker.namespace)
    queue = message.queue_name
    broker.client.eval(_TO_FRONT, 2, keys.queue(queue), keys.front_channel(queue), message_id)


class PromptConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer, waking on acks instead of backing off when full.

    It also listens on its queue's front channel and takes a noticed message into a
    spare slot (at most ``SPARE_THREADS`` beyond the prefetch).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake = threading.Event()
        self._noticed: collections.deque[str] = collections.deque()
        self._closed = threading.Event()
        if not is_delay_queue(self.queue_name):
            # A delay queue's messages are only moved, never run here: nothing to hear.
            listener = threading.Thread(
                target=self._listen, name=f"front-{self.queue_name}", daemon=True
            )
            listener.start()

    def __next__(self) -> Any:
        full = not self.message_cache and self.outstanding_message_count >= self.prefetch
        if full and not self._noticed:
            self._wake.wait(FULL_WAIT_SECONDS)
            self._wake.clear()
        noticed = self._take_noticed()
        if noticed is not None:
            return noticed
        if full and self.outstanding_message_count >= self.prefetch:
            # Returning None lets the worker's consumer thread do its housekeeping.
            return None
        return super().__next__()

    def ack(self, message: Any) -> None:
        """Acknowledge a message and wake the consumer: a slot is free."""
        try:
            super().ack(message)
        finally:
            self._wake.set()

    def nack(self, message: Any) -> None:
        """Reject a message and wake the consumer: a slot is free."""
        try:
            super().nack(message)
        finally:
            self._wake.set()

    def close(self) -> None:
        """Stop listening (within ``LISTEN_SECONDS``), then close as Dramatiq's does."""
        self._closed.set()
        super().close()

    def _take_noticed(self) -> MessageProxy | None:
        """Take a noticed message off the queue if a spare slot is free; else ``None``."""
        while self._noticed:
            if self.outstanding_message_count >= self.prefetch + SPARE_THREADS:
                # No spare slot: the message waits at the head for the next free one.
                self._noticed.clear()
                return None
            data = self._fetch_noticed(self._noticed.popleft())
            if data is not None:
                message = Message.decode(data)
                self.queued_message_ids.add(message.message_id)
                return MessageProxy(message)
        return None

    def _fetch_noticed(self, redis_message_id: str) -> bytes | None:
        broker = self.broker
        keys = Keys(broker.namespace)
        data: bytes | None = broker.client.eval(
            _FETCH_NOTICED,
            3,
            keys.queue(self.queue_name),
            keys.acks(broker.broker_id, self.queue_name),
            keys.messages(self.queue_name),
            redis_message_id,
        )
        return data

    def _listen(self) -> None:
        """Hear the messages moved to the head of the queue until the consumer closes."""
        channel = Keys(self.broker.namespace).front_channel(self.queue_name)
        while not self._closed.is_set():
            pubsub = self.broker.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(channel)
                while not self._closed.is_set():
                    notice = pubsub.get_message(timeout=LISTEN_SECONDS)
                    if notice and notice["type"] == "message":
                        self._noticed.append(notice["data"].decode())
                        self._wake.set()
            except Exception as ex:
                # Best effort: without notices a high-ranked message waits for a slot.
                logger.warning(
                    "listening on %s failed (%s); trying again in %s s",
                    channel,
                    ex,
                    RELISTEN_SECONDS,
                )
                self._closed.wait(RELISTEN_SECONDS)
            finally:
                pubsub.close()


class PromptRedisBroker(RedisBroker):
    """Dramatiq's Redis broker with :class:`PromptConsumer` consumers."""

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        """Return the consumer class the broker's ``consume`` builds."""
        return PromptConsumer
