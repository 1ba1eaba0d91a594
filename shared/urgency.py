"""Urgent items first inside a worker process: bulk work pauses while one runs.

A high-priority item reaches the head of its Redis queue (``feeding.to_front``) and the
first free worker thread, but the other threads of its process go on with the bulk
import, and on CPU-bound stages they share the interpreter's lock with it: a parse
that takes 30 ms alone took 400 ms beside three bulk parses. The feeder marks an
urgent item's message (``URGENT_OPTION``); the worker counts the urgent messages it
runs (:class:`shared.middleware.urgency.UrgentFirst`), and the CPU-bound steps of a
bulk item call :func:`yield_to_urgent` between their parts, which waits while one
runs — in this process, and, with Redis, in any worker process of the same host
(they share its cores), so an urgent parse runs alone. Each urgent message is a member
of the host's Redis sorted set, scored with the time its pause ends at the latest
(``REMOTE_PAUSE_SECONDS``), so the pauses end even if the worker running it dies. Only
items of tasks created with ``"priority": "high"`` pause bulk work (small tasks that
are promoted go first in the queue but do not). An urgent item never waits for
another, and no single pause lasts more than ``MAX_PAUSE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

#: The message option that marks an urgent item's stage message.
URGENT_OPTION = "kbm_urgent"
#: The Redis sorted set of urgent messages running on one host (under the broker's
#: namespace, followed by the host name): processes of one host share its cores.
URGENT_KEY = "kbm:urgent-running"
#: The longest one checkpoint waits for urgent work to end.
MAX_PAUSE_SECONDS = 2.0
#: How long other processes hold their bulk work for one urgent message at most.
REMOTE_PAUSE_SECONDS = 5.0
#: How long a process trusts its last look at the other processes' urgent work.
REMOTE_CHECK_SECONDS = 0.01
#: How often a checkpoint looks again while another process runs urgent work.
REMOTE_POLL_SECONDS = 0.005


class UrgentGate:
    """Counts the urgent messages a process runs; holds bulk work at checkpoints."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self._thread = threading.local()
        self._client: Any = None
        self._key = ""
        self._seen: tuple[float, bool] = (float("-inf"), False)

    def share(self, client: Any, key: str) -> None:
        """Share urgent work with the other worker processes through a Redis sorted set."""
        self._client, self._key = client, key

    @property
    def running(self) -> int:
        """Return how many urgent messages this process runs now."""
        return self._running

    def enter(self, message_id: str = "") -> None:
        """Count an urgent message this thread starts."""
        with self._changed:
            self._running += 1
        self._thread.urgent = True
        if self._client is not None and message_id:
            self._remote("zadd", self._key, {message_id: time.time() + REMOTE_PAUSE_SECONDS})

    def leave(self, message_id: str = "") -> None:
        """Count the urgent message this thread ended; let bulk work go on if none runs.

        A thread that runs no urgent message has nothing to leave: a message that ends
        twice (skipped, then processed) is counted once.
        """
        if not getattr(self._thread, "urgent", False):
            return
        self._thread.urgent = False
        with self._changed:
            self._running -= 1
            if self._running == 0:
                self._changed.notify_all()
        if self._client is not None and message_id:
            self._remote("zrem", self._key, message_id)

    def yield_to_urgent(self, timeout: float = MAX_PAUSE_SECONDS) -> None:
        """Wait while urgent work runs (here or elsewhere), unless this thread runs it."""
        if getattr(self._thread, "urgent", False):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._running:
                with self._changed:
                    self._changed.wait_for(
                        lambda: self._running == 0, max(0.0, deadline - time.monotonic())
                    )
            elif self._elsewhere():
                time.sleep(REMOTE_POLL_SECONDS)
            else:
                return

    def _elsewhere(self) -> bool:
        """Tell whether another process runs urgent work (looked up at most every 10 ms)."""
        if self._client is None:
            return False
        now = time.monotonic()
        at, running = self._seen
        if now - at >= REMOTE_CHECK_SECONDS:
            running = bool(self._remote("zcount", self._key, time.time(), "+inf"))
            self._seen = (now, running)
        return running

    def _remote(self, command: str, *args: Any) -> Any:
        # Best effort: without Redis, urgent work is only preferred in its own process.
        try:
            return getattr(self._client, command)(*args)
        except Exception:
            return 0


GATE = UrgentGate()


def yield_to_urgent() -> None:
    """Let urgent work in this process run alone (a checkpoint of CPU-bound bulk work)."""
    GATE.yield_to_urgent()
