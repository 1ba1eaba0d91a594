"""One item's hand-off between stages, followed call by call: each module is entered once.

The hand-off is what a worker does after a stage's actor returns: the item's stage is
marked done, its next stage is found, and the freed slot and the next stage's queue are
topped up. Followed with a profiler on a real Redis broker and PostgreSQL, the project's
modules it calls into must form a path that never comes back to a module it has left:
a rule that moves an item lives in one place, not spread over modules calling each other.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import dramatiq
import pytest
from dramatiq.broker import MessageProxy

from shared.broker import build_broker
from shared.middleware.tracking import ItemTracking
from shared.models import TaskItem
from shared.pipeline import PARSE, STAGES, actor_options
from shared.settings import Settings
from shared.tasks import TaskService

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("shared", "services")


def _module_of(frame: FrameType) -> str | None:
    """Return the project module a frame runs in (``shared.items.postgres``), or None."""
    path = Path(frame.f_code.co_filename)
    if not path.is_relative_to(ROOT):
        return None
    relative = path.relative_to(ROOT).with_suffix("")
    if relative.parts[0] not in PROJECT_PACKAGES:
        return None
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


class ModuleWalk:
    """The project modules entered by calls, in order, while it is active."""

    def __init__(self) -> None:
        self.entered: list[str] = []

    def __enter__(self) -> ModuleWalk:
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *_: object) -> None:
        sys.setprofile(None)

    def _profile(self, frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call":
            return
        module = _module_of(frame)
        caller = frame.f_back
        if module is None or (caller is not None and _module_of(caller) == module):
            return
        self.entered.append(module)

    def path(self) -> list[str]:
        """Return the modules in the order first entered."""
        return list(dict.fromkeys(self.entered))

    def reentered(self) -> list[str]:
        """Return the modules entered again after the walk had gone on to another."""
        seen: set[str] = set()
        again: list[str] = []
        previous = None
        for module in self.entered:
            if module in seen and module != previous and module not in again:
                again.append(module)
            seen.add(module)
            previous = module
        return again


@pytest.fixture()
def broker(settings: Settings) -> Iterator[dramatiq.Broker]:
    built = build_broker(settings)
    for stage in STAGES:
        dramatiq.actor(lambda item_id: None, broker=built, **actor_options(stage, settings))
    yield built
    built.close()


def test_one_items_hand_off_enters_each_module_once(broker: dramatiq.Broker) -> None:
    service = TaskService(broker)
    service.create_task(urls=["http://127.0.0.1/handoff"])
    item = TaskItem.get()
    tracking = next(m for m in broker.middleware if isinstance(m, ItemTracking))
    message = MessageProxy(
        dramatiq.Message(
            queue_name=PARSE.queue,
            actor_name=PARSE.actor_name,
            args=(item.id,),
            kwargs={},
            options={},
        )
    )
    tracking.before_process_message(broker, message)

    with ModuleWalk() as walk:
        tracking.after_process_message(broker, message, result=None)

    assert TaskItem.get_by_id(item.id).stage == "enrich"
    assert walk.reentered() == [], f"the hand-off walks {' → '.join(walk.entered)}"
