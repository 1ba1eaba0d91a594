"""What the operations routes answer: workers, queues, dead letters and health.

Response schemas of the OpenAPI document, beside :mod:`services.api.responses`; they
describe the documents of ``shared.monitoring``.
"""

from __future__ import annotations

from typing import Any, Literal

from services.api.responses import Shape


class QueueDepth(Shape):
    """One queue's messages by state."""

    waiting: int
    delayed: int
    unacked: int
    dead: int


class Queues(Shape):
    """Every queue's depths."""

    queues: dict[str, QueueDepth]


class Worker(Shape):
    """A broker seen in Redis's heartbeats in the last minute."""

    id: str
    last_heartbeat_at: str
    last_heartbeat_age_s: float
    queues: dict[str, int]
    gateway: bool
    #: ``worker``: a worker process consuming ``consumes``; ``client``: a process that only
    #: sends (the gateway, ``kbm doctor``, a script).
    kind: Literal["worker", "client"]
    consumes: list[str]
    pid: int | None
    host: str | None


class Workers(Shape):
    """The brokers seen recently, and how many of them are worker processes."""

    workers: list[Worker]
    #: Brokers whose last heartbeat is older than this are not listed (seconds).
    window_s: float
    alive: int


class DeadLetter(Shape):
    """A message Dramatiq gave up on, with the error recorded for its item."""

    id: str
    queue: str
    actor: str
    args: list[Any]
    item_id: int | None
    error: str | None
    dead_at: str


class DeadLetters(Shape):
    """Dead letters, newest first."""

    dead_letters: list[DeadLetter]


class Requeued(Shape):
    """What a requeue sent again."""

    requeued: int
    skipped: int
    #: Ids given that are no dead letter (mistyped, or sent again already).
    unknown: list[str]


class Check(Shape):
    """One dependency's health."""

    ok: bool
    latency_ms: float | None = None
    error: str | None = None


class MigrationCheck(Shape):
    """Whether the schema is up to date."""

    ok: bool
    pending: list[int] | None


class HealthChecks(Shape):
    """Every part the gateway needs."""

    redis: Check
    database: Check
    migrations: MigrationCheck


class Health(Shape):
    """The gateway's health."""

    status: Literal["healthy", "unhealthy"]
    checks: HealthChecks
