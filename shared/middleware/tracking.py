"""Record each item's stage transitions in the database around its actor.

Placed after ``Retries`` in the broker's middleware list, so its after-hook runs before
``Retries`` re-enqueues a failed message: a new delivery always finds the previous
outcome recorded. It therefore decides
by itself, with the rules ``Retries`` applies, whether a failure is final.

Once an outcome is recorded a slot of the stage's queue may be free and the item may
wait at its next stage: the middleware feeds those queues (see ``shared.feeding``).
A success is the hand-off: one statement ends the stage from the item as its start
read it and counts what the two queues hold; one feed tops up those that run short.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware, SkipMessage
from dramatiq.middleware.time_limit import TimeLimitExceeded

from shared import items
from shared.errors import outage_wait
from shared.feed_limits import FeedLimits
from shared.feeding import feed_all, hand_off
from shared.items.rules import ItemState
from shared.pipeline import stage_of_actor
from shared.redis_broker import Keys

logger = logging.getLogger(__name__)

ATTEMPT_OPTION = "kbm_attempt"


def describe_error(exception: BaseException, message: MessageProxy) -> str:
    """Return the error a user reads for a failed stage."""
    if isinstance(exception, TimeLimitExceeded):
        limit = message.options.get("time_limit")
        return f"time limit exceeded ({limit / 1000:g} s)" if limit else "time limit exceeded"
    text = str(exception) or "no details"
    return f"{type(exception).__name__}: {text}"


def is_final_failure(
    actor: dramatiq.Actor[Any, Any], message: MessageProxy, exception: BaseException
) -> bool:
    """Tell whether ``Retries`` will give up on this message (the same rules it applies).

    It reads the retries where ``Retries`` does, the message's options and then the
    actor's: a stage actor's are its stage's own (``Settings.stage_retries``, set by
    ``shared.pipeline.actor_options``), a housekeeping actor's those it declares.
    """
    if outage_wait(exception) is not None:
        return False
    throws = message.options.get("throws") or actor.options.get("throws")
    if throws and isinstance(exception, throws):
        return True
    retries = int(message.options.get("retries", 0))
    max_retries = message.options.get("max_retries", actor.options.get("max_retries", 20))
    return max_retries is not None and retries >= max_retries


def worker_liveness(broker: dramatiq.Broker) -> Callable[[str], bool] | None:
    """Return a check of whether a worker process still sends heartbeats, if knowable."""
    if not isinstance(broker, RedisBroker):
        return None
    client, timeout_ms = broker.client, broker.heartbeat_timeout

    def alive(worker: str) -> bool:
        last = client.zscore(Keys(broker.namespace).heartbeats(), worker)
        return last is not None and time.time() * 1000 - float(last) < timeout_ms

    return alive


class ItemTracking(Middleware):
    """Move task items through their stages as their messages run."""

    def __init__(
        self,
        max_deliveries: Callable[[str], int],
        grace_seconds: float,
        limits: FeedLimits | None = None,
    ) -> None:
        #: Queue → starts of one stage before its item fails (``Settings.stage_max_deliveries``).
        self.max_deliveries = max_deliveries
        self.grace_seconds = grace_seconds
        self.limits = limits or FeedLimits()
        #: The item as each running message's start read it, by message id: its finish
        #: writes from it without reading the item again.
        self._seen: dict[str, ItemState] = {}

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Mark the item's stage running, or skip a message that must not run."""
        stage = stage_of_actor(message.actor_name)
        if stage is None:
            return
        time_limit_ms = broker.get_actor(message.actor_name).options.get("time_limit")
        decision = items.current().start_stage(
            int(message.args[0]),
            stage.name,
            lease_seconds=(time_limit_ms / 1000 + self.grace_seconds) if time_limit_ms else None,
            max_deliveries=self.max_deliveries(stage.queue),
            worker=getattr(broker, "broker_id", None),
            worker_alive=worker_liveness(broker),
        )
        if not decision.run:
            logger.info("skipping %s: %s", message, decision.reason)
            raise SkipMessage(decision.reason)
        message.options[ATTEMPT_OPTION] = decision.attempt
        if decision.state is not None:
            self._seen[message.message_id] = decision.state

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        """Record the stage's outcome: next stage, completed, retrying or failed."""
        stage = stage_of_actor(message.actor_name)
        if stage is None:
            return
        item_id = int(message.args[0])
        seen = self._seen.pop(message.message_id, None)
        if exception is None:
            handoff = items.current().finish_stage(item_id, stage.name, seen=seen)
            self._feed(lambda: hand_off(broker, handoff, self.limits), stage.name)
            return
        final = is_final_failure(broker.get_actor(message.actor_name), message, exception)
        items.current().fail_stage(
            item_id,
            stage.name,
            describe_error(exception, message),
            final=final,
            attempt=int(message.options.get(ATTEMPT_OPTION, 0)),
            counts=outage_wait(exception) is None,
        )
        if final:  # a retry keeps its slot; a final failure frees it
            self._feed(lambda: feed_all(broker, self.limits, [stage.name]), stage.name)

    @staticmethod
    def _feed(top_up: Callable[[], int], stage: str) -> None:
        # The outcome is committed; a failed feed is repaired by the reconciler's.
        try:
            top_up()
        except Exception as ex:
            logger.warning("feeding after the %s stage failed (the reconciler will): %r", stage, ex)
