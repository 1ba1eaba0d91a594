"""One tick per minute, however many schedulers run: a lock per minute in Redis."""

from __future__ import annotations

import time
from typing import Any

TICK_LOCK = "kbm:scheduler:tick:{minute}"


def first_tick_this_minute(client: Any, lock_seconds: int, now: float | None = None) -> bool:
    """Take this minute's tick lock; tell whether this process got it.

    Without Redis (the in-memory local mode) there is one process, so it always ticks.
    """
    if client is None:
        return True
    minute = int((now if now is not None else time.time()) // 60)
    return bool(client.set(TICK_LOCK.format(minute=minute), "1", nx=True, ex=lock_seconds))
