"""What every notion worker process may reuse for a while: JSON values in Redis with a TTL.

The integration's identity (its bot user and workspace) and the database's schema change
rarely; reading them once per process costs a request per process and per restart, and
more when Notion misbehaves. One process reads them and the others take them from here
until they expire. A Redis that does not answer only costs the request the cache saves.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import redis

logger = logging.getLogger(__name__)


@dataclass
class SharedCache:
    """JSON values under ``kbm:notion:<key>`` in Redis, each kept ``ttl`` seconds."""

    client: redis.Redis
    ttl: float = 300.0
    prefix: str = "kbm:notion:"

    def get(self, key: str) -> Any | None:
        """Return the value stored under ``key``, or ``None`` (none, expired, unreadable)."""
        try:
            raw = self.client.get(self.prefix + key)
        except redis.RedisError as ex:
            logger.warning("notion cache: cannot read %s (%s)", key, ex)
            return None
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (the cache's own by default)."""
        try:
            self.client.set(self.prefix + key, json.dumps(value), px=int((ttl or self.ttl) * 1000))
        except redis.RedisError as ex:
            logger.warning("notion cache: cannot store %s (%s)", key, ex)

    def drop(self, key: str) -> None:
        """Forget ``key`` (a schema that turned out wrong)."""
        try:
            self.client.delete(self.prefix + key)
        except redis.RedisError as ex:
            logger.warning("notion cache: cannot drop %s (%s)", key, ex)
