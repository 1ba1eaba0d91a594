"""The one pipeline definition: stages, their queues, actors, limits and retries.

Each service declares its actor with :func:`stage_actor`; feeders (``shared.feeding``)
build one stage's message for one item from its :class:`Stage` (queue and actor by
name), so nothing imports a service; the tracking middleware maps an actor back to its
stage. An item advances one stage at a time through the database, never through a chain
of messages: when a stage ends, the item waits ``pending`` at the next stage of its task
(``shared.items.rules.next_stage``) until a feed sends that stage's message. A task's
stages are put in pipeline order here (:func:`ordered_stages`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import dramatiq

from shared.errors import PermanentError
from shared.settings import Settings, get_settings


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline and the service that runs it."""

    name: str
    queue: str
    actor_name: str
    service: str


PARSE = Stage("parse", "parsing", "parse_item", "parser")
ENRICH = Stage("enrich", "ai", "enrich_item", "ai")
PUBLISH = Stage("publish", "notion", "publish_item", "notion")

STAGES: tuple[Stage, ...] = (PARSE, ENRICH, PUBLISH)
STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)
QUEUES: tuple[str, ...] = ("parsing", "ai", "notion", "default")

#: Task types of the original routes: which stages each runs.
TASK_TYPES: dict[str, tuple[str, ...]] = {
    "pipeline": STAGE_NAMES,
    "parsing": ("parse",),
    "ai": ("enrich",),
    "notion": ("publish",),
}

#: Each stage by its name.
BY_NAME: dict[str, Stage] = {stage.name: stage for stage in STAGES}
_BY_ACTOR = {stage.actor_name: stage for stage in STAGES}


def get_stage(name: str) -> Stage:
    """Return the stage called ``name``; raise ``KeyError`` naming the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r}; stages are {', '.join(STAGE_NAMES)}") from None


def stage_of_actor(actor_name: str) -> Stage | None:
    """Return the stage an actor runs, or ``None`` for housekeeping actors."""
    return _BY_ACTOR.get(actor_name)


def ordered_stages(names: Sequence[str]) -> list[str]:
    """Return ``names`` validated, deduplicated and in pipeline order."""
    wanted = {get_stage(name).name for name in names}
    if not wanted:
        raise ValueError("at least one stage is needed")
    return [name for name in STAGE_NAMES if name in wanted]


def time_limit_ms(queue: str, settings: Settings) -> int:
    """Return the time limit of a queue's messages in milliseconds, as Dramatiq takes it."""
    return int(settings.stage_timeout(queue) * 1000)


def actor_options(stage: Stage, settings: Settings) -> dict[str, Any]:
    """Return the Dramatiq actor options of a stage: queue, time limit, retries.

    The retries are the stage's own (``Settings.stage_retries``); the delays between
    them are set per queue by the ``RetrySchedule`` middleware.
    """
    return {
        "actor_name": stage.actor_name,
        "queue_name": stage.queue,
        "time_limit": time_limit_ms(stage.queue, settings),
        "max_retries": settings.stage_retries(stage.queue),
        # Permanent errors (404, no article, bad input) end the item at once.
        "throws": (PermanentError,),
    }


F = TypeVar("F", bound=Callable[..., Any])


def stage_actor(stage: Stage) -> Callable[[F], dramatiq.Actor[Any, Any]]:
    """Declare a function as the actor of ``stage`` on the current broker."""

    def decorate(fn: F) -> dramatiq.Actor[Any, Any]:
        return dramatiq.actor(fn, **actor_options(stage, get_settings()))

    return decorate
