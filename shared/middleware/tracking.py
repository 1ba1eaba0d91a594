"""Record each item's stage transitions in the database around its actor.

Placed after ``Pipelines`` and before ``Retries`` in the broker's middleware list, so its
after-hook runs once ``Retries`` has decided (``message.failed`` tells a final failure
from one that will be retried) and before ``Pipelines`` sends the next stage's message.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware, SkipMessage
from dramatiq.middleware.time_limit import TimeLimitExceeded

from shared import lifecycle
from shared.pipeline import stage_of_actor

logger = logging.getLogger(__name__)

ATTEMPT_OPTION = "kbm_attempt"


def describe_error(exception: BaseException, message: MessageProxy) -> str:
    """Return the error a user reads for a failed stage."""
    if isinstance(exception, TimeLimitExceeded):
        limit = message.options.get("time_limit")
        return f"time limit exceeded ({limit / 1000:g} s)" if limit else "time limit exceeded"
    text = str(exception) or "no details"
    return f"{type(exception).__name__}: {text}"


class ItemTracking(Middleware):
    """Move task items through their stages as their messages run."""

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Mark the item's stage running, or skip a message that must not run."""
        stage = stage_of_actor(message.actor_name)
        if stage is None:
            return
        decision = lifecycle.start_stage(int(message.args[0]), stage.name)
        if not decision.run:
            logger.info("skipping %s: %s", message, decision.reason)
            raise SkipMessage(decision.reason)
        message.options[ATTEMPT_OPTION] = decision.attempt

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
        if exception is None:
            lifecycle.finish_stage(item_id, stage.name)
            return
        lifecycle.fail_stage(
            item_id,
            stage.name,
            describe_error(exception, message),
            final=message.failed,
            attempt=int(message.options.get(ATTEMPT_OPTION, 0)),
        )
