"""Dead letters: messages Dramatiq gave up on, with the error that put them there.

Dramatiq keeps a dead-lettered message (``dramatiq:<queue>.XQ`` with its body in
``.XQ.msgs``) but not why it died; the item's row holds the error, recorded by the
tracking middleware. Requeueing a stage message reopens its item, which is fed again from
the failed stage, exactly as a task retry does; any other message is sent again as is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import dramatiq
import redis

from shared import items
from shared.feed_limits import FeedLimits
from shared.feeding import feed_all
from shared.models import StageRun, TaskItem
from shared.pipeline import QUEUES, stage_of_actor
from shared.redis_broker import DELAY_SUFFIX, Keys


def _keys(queue: str) -> tuple[str, str]:
    return Keys().dead(queue)


def _decode(raw: bytes | str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        data: dict[str, Any] = json.loads(raw)
        return data
    except ValueError:
        return {}


def _error_of(actor_name: str, args: list[Any]) -> tuple[int | None, str | None]:
    stage = stage_of_actor(actor_name)
    if stage is None or not args:
        return None, None
    item_id = int(args[0])
    run = StageRun.get_or_none((StageRun.item == item_id) & (StageRun.stage == stage.name))
    item = TaskItem.get_or_none(TaskItem.id == item_id)
    error = (run.error if run else None) or (item.error if item else None)
    return item_id, error


def list_dead_letters(
    client: redis.Redis, *, queue: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Return dead-lettered messages, newest first, each with its recorded error."""
    letters: list[dict[str, Any]] = []
    for name in [queue] if queue else QUEUES:
        xq, bodies = _keys(name)
        entries: list[tuple[bytes, float]] = client.zrevrange(xq, 0, limit - 1, withscores=True)  # type: ignore[assignment]
        if not entries:
            continue
        raw_bodies = client.hmget(bodies, [member for member, _ in entries])
        for (member, score), raw in zip(entries, raw_bodies, strict=True):
            message = _decode(raw)
            actor = str(message.get("actor_name", ""))
            args = list(message.get("args", []))
            item_id, error = _error_of(actor, args)
            options = message.get("options", {})
            letters.append(
                {
                    "id": member.decode(),
                    "queue": name,
                    "actor": actor,
                    "args": args,
                    "item_id": item_id,
                    "error": error,
                    "retries": options.get("retries"),
                    "traceback_tail": (options.get("traceback") or "").strip().splitlines()[-1:],
                    # Dramatiq scores a dead letter with the time it died.
                    "dead_at": datetime.fromtimestamp(score / 1000, UTC)
                    .isoformat(timespec="seconds")
                    .replace("+00:00", "Z"),
                }
            )
    letters.sort(key=lambda letter: letter["dead_at"], reverse=True)
    return letters[:limit]


def requeue_dead_letters(
    client: redis.Redis,
    broker: dramatiq.Broker,
    ids: Iterable[str] | None = None,
    limits: FeedLimits | None = None,
) -> dict[str, Any]:
    """Send dead letters again (all, or those whose ids are given); drop them from the XQ.

    Return how many were requeued, how many skipped (their item could not be reopened),
    and the given ids that are no dead letter (``unknown``: a typo, or one already sent).
    """
    wanted = set(ids) if ids is not None else None
    requeued = skipped = 0
    reopened: list[str] = []
    found: set[str] = set()
    for queue in QUEUES:
        xq, bodies = _keys(queue)
        members = [member.decode() for member in client.zrange(xq, 0, -1)]  # type: ignore[union-attr]
        for member in members:
            if wanted is not None and member not in wanted:
                continue
            found.add(member)
            message = _decode(client.hget(bodies, member))
            if message and _send_again(broker, message, reopened):
                requeued += 1
            else:
                skipped += 1
            pipe = client.pipeline()
            pipe.zrem(xq, member)
            pipe.hdel(bodies, member)
            pipe.execute()
    if reopened:
        feed_all(broker, limits or FeedLimits(), reopened)
    unknown = sorted(wanted - found) if wanted is not None else []
    return {"requeued": requeued, "skipped": skipped, "unknown": unknown}


def _send_again(broker: dramatiq.Broker, message: dict[str, Any], reopened: list[str]) -> bool:
    actor = str(message.get("actor_name", ""))
    args = list(message.get("args", []))
    if stage_of_actor(actor) is not None and args:
        chains = items.current().reopen_failed_items(item_ids=[int(args[0])])
        reopened += [stages[0] for _, stages in chains]
        return bool(chains)
    broker.enqueue(
        dramatiq.Message(
            queue_name=str(message.get("queue_name", "default")).removesuffix(DELAY_SUFFIX),
            actor_name=actor,
            args=tuple(args),
            kwargs=message.get("kwargs") or {},
            options={},
        )
    )
    return True
