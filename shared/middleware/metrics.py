"""Stage metrics of worker processes: durations and outcomes per stage.

Worker commands run Dramatiq's Prometheus middleware, which serves every worker process's
metrics on one port (9191) from a multiprocess folder. ``prometheus_client`` picks that
mode when it is first imported, so it is imported here only once the process has booted
(and :func:`shared.broker.setup` has pointed ``PROMETHEUS_MULTIPROC_DIR`` at the folder).
Labels are stage names and outcomes only: a bounded set, whatever the traffic.
"""

from __future__ import annotations

import time
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from shared.errors import outage_wait
from shared.middleware.tracking import is_final_failure
from shared.pipeline import stage_of_actor

STARTED_OPTION = "kbm_started"


class StageMetrics(Middleware):
    """Count stage outcomes and time stage runs."""

    def __init__(self) -> None:
        self.durations: Any = None
        self.outcomes: Any = None

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        """Create the metrics in the booted worker process."""
        import prometheus_client as prom

        self.durations = prom.Histogram(
            "kbm_stage_duration_seconds",
            "Time a stage's actor took, by stage.",
            ["stage"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )
        self.outcomes = prom.Counter(
            "kbm_stage_outcomes",
            "Stage runs by outcome: completed, retried, failed, skipped, waited.",
            ["stage", "outcome"],
        )

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Note when the stage started."""
        message.options[STARTED_OPTION] = time.monotonic()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        """Record the run's duration and outcome."""
        stage = stage_of_actor(message.actor_name)
        if stage is None or self.outcomes is None:
            return
        started = message.options.pop(STARTED_OPTION, None)
        if started is not None:
            self.durations.labels(stage.name).observe(time.monotonic() - started)
        if exception is None:
            outcome = "completed"
        elif outage_wait(exception) is not None:
            outcome = "waited"
        elif is_final_failure(broker.get_actor(message.actor_name), message, exception):
            outcome = "failed"
        else:
            outcome = "retried"
        self.outcomes.labels(stage.name, outcome).inc()

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Count a skipped delivery (duplicate, cancelled, running elsewhere)."""
        stage = stage_of_actor(message.actor_name)
        message.options.pop(STARTED_OPTION, None)
        if stage is not None and self.outcomes is not None:
            self.outcomes.labels(stage.name, "skipped").inc()
