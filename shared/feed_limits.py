"""The caps of feeding (``shared.feeding``): items in flight per queue and per task, ranks.

A task's feed rank is its priority's (``high`` first), a small ``normal`` task's that of
``high``; a worker tops its stage's queue up only when fewer than a quarter of the caps
wait in it (:func:`stocked`).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.items.rules import Stock
from shared.settings import Settings

#: Task priorities, most urgent first; an index is a feed rank.
PRIORITIES: tuple[str, ...] = ("high", "normal", "low")


@dataclass(frozen=True)
class FeedLimits:
    """The caps on items in flight per stage queue, and the small-task promotion."""

    queue: int = 100
    task: int = 50
    promote_up_to: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedLimits:
        """Return the limits ``QUEUE_MAX_IN_FLIGHT`` … ``PROMOTE_TASKS_UP_TO`` set."""
        return cls(
            settings.queue_max_in_flight,
            settings.task_max_in_flight,
            settings.promote_tasks_up_to,
        )

    def rank(self, priority: str, total_items: int) -> int:
        """Return the feed rank of a task: its priority's, or high for a small normal one."""
        rank = PRIORITIES.index(priority)
        if rank == 1 and total_items <= self.promote_up_to:
            return 0
        return rank


def low_water(limits: FeedLimits) -> int:
    """Return the queue length below which a worker tops its stage's queue up.

    A quarter of the smaller cap: one task alone fills its queue up to its own cap
    (less the messages being run), so the task cap bounds what a queue holds as well.
    """
    return max(1, min(limits.queue, limits.task) // 4)


def stocked(stock: Stock | None, limits: FeedLimits) -> bool:
    """Tell whether a worker may skip topping a stage's queue up after a finished item.

    True while at least :func:`low_water` items are ``queued`` at the stage (their
    messages wait in its queue) and no high-priority item waits to be fed (that one is
    fed at the next finished item, as ever). Unknown stock is never stocked.
    """
    return stock is not None and stock.queued >= low_water(limits) and not stock.urgent
