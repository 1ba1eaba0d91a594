"""Urgent items first inside a worker process: bulk work pauses while one runs.

A high-priority item reaches the head of its Redis queue (``redis_broker.to_front``) and the
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

The CPU-bound part of a parse runs under :meth:`UrgentGate.cpu_turn`: one thread of a
process at a time (``CPU_TURNS``), urgent threads first. Under the interpreter's lock
more would only take turns slice by slice: measured on the 61 article pages in one
process, 1 thread extracts 23.8 pages/s, 2 threads 24.1 and 4 threads 18.4. Other
threads fetch and write meanwhile. An urgent page then waits for at most the one
extraction under way in its process (which also yields its turn at its next
checkpoint), not for every bulk page its process has started.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
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
#: How long a process trusts its last look at the other processes' urgent work. A look
#: is a Redis round trip; at every 10 ms it was 3 % of a parse worker's CPU.
REMOTE_CHECK_SECONDS = 0.025
#: How often a checkpoint looks again while another process runs urgent work.
REMOTE_POLL_SECONDS = 0.005
#: Threads of one process that run CPU-bound work at once (see the module's doc).
CPU_TURNS = 1
#: The longest a thread waits for a CPU turn; then it runs beside the holder.
TURN_WAIT_SECONDS = 5.0
#: The longest a wait for a turn sleeps between looks: a stage's time limit (an
#: exception Dramatiq raises in the thread) is delivered between them.
TURN_WAIT_SLICE_SECONDS = 0.1


class UrgentGate:
    """Counts the urgent messages a process runs; holds bulk work at checkpoints."""

    def __init__(self, turns: int = CPU_TURNS) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self._turns = turns
        self._holders = 0
        self._urgent_waiting = 0
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

    @contextlib.contextmanager
    def cpu_turn(self) -> Iterator[None]:
        """Run the block as one of the process's ``CPU_TURNS`` threads, urgent ones first.

        A bulk thread also waits, at most ``MAX_PAUSE_SECONDS``, while an urgent message
        runs in the process: it will want the turn once its fetch is done.
        """
        self._take_turn()
        self._thread.turn = True
        try:
            yield
        finally:
            self._thread.turn = False
            self._give_turn()

    def _take_turn(self) -> None:
        urgent = getattr(self._thread, "urgent", False)
        started = time.monotonic()
        patience, give_up = started + MAX_PAUSE_SECONDS, started + TURN_WAIT_SECONDS
        with self._changed:
            if urgent:
                self._urgent_waiting += 1
            try:
                # A page that keeps its turn for long (a huge document) must not run the
                # other threads into their time limits: past TURN_WAIT_SECONDS they share.
                while not self._turn_free(urgent, patience) and time.monotonic() < give_up:
                    self._changed.wait(TURN_WAIT_SLICE_SECONDS)
            finally:
                if urgent:
                    self._urgent_waiting -= 1
            self._holders += 1

    def _turn_free(self, urgent: bool, patience: float) -> bool:
        if self._holders >= self._turns:
            return False
        if urgent:
            return True
        urgent_ahead = self._urgent_waiting or (self._running and time.monotonic() < patience)
        return not urgent_ahead

    def _give_turn(self) -> None:
        with self._changed:
            self._holders -= 1
            self._changed.notify_all()

    def yield_to_urgent(self, timeout: float = MAX_PAUSE_SECONDS) -> None:
        """Wait while urgent work runs (here or elsewhere), unless this thread runs it.

        A thread holding a CPU turn gives it up while it waits.
        """
        if getattr(self._thread, "urgent", False):
            return
        if not (self._running or self._urgent_waiting or self._elsewhere()):
            return
        holding = getattr(self._thread, "turn", False)
        if holding:
            self._give_turn()
        try:
            self._wait_for_urgent(timeout)
        finally:
            if holding:
                self._take_turn()

    def _wait_for_urgent(self, timeout: float) -> None:
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
        """Tell whether another process runs urgent work (looked up at most every 25 ms)."""
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
