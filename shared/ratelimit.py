"""A token bucket in Redis shared by every process of a service.

One bucket per name (``notion:<token hash>``, ``ai:rpm``, ``ai:tpm``): ``rate`` units per
second refill it up to ``capacity``. ``acquire`` takes ``cost`` units, waiting as long as
needed (up to a deadline); the arithmetic runs in one Lua script, so any number of
worker processes on any number of hosts share the budget exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from shared.errors import RateLimited

#: KEYS[1] bucket hash; ARGV: rate/s, capacity, cost, now (ms). Returns the wait in ms
#: before the cost can be taken (0 = taken now), or, while the bucket is paused
#: (:meth:`RateLimiter.pause`), minus the ms left of the pause, taking nothing. The bucket
#: goes negative by at most one reservation, so callers that must wait are served in
#: arrival order. One call per acquire: the gateway spends a budget on every request.
_ACQUIRE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'paused_until')
local paused_until = tonumber(state[3]) or 0
if cost > 0 and paused_until > now then return now - paused_until end
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (math.max(0, now - at) / 1000.0) * rate)
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity / rate) * 1000) + 60000)
if tokens >= 0 then return 0 end
return math.ceil((-tokens / rate) * 1000)
"""

#: Hold the whole bucket back (a 429's Retry-After): no process sends until ``until``.
_PAUSE = """
local until_ms = tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'paused_until')) or 0
if until_ms > current then
  redis.call('HSET', KEYS[1], 'paused_until', until_ms)
  local keep = until_ms - tonumber(ARGV[2]) + 60000
  redis.call('PEXPIRE', KEYS[1], math.max(redis.call('PTTL', KEYS[1]), keep))
end
return 0
"""


@dataclass
class RateLimiter:
    """Pace calls to a remote API across every process that shares ``name``."""

    client: redis.Redis
    name: str
    rate: float
    capacity: float | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("rate must be positive")
        self.capacity = self.capacity if self.capacity is not None else max(1.0, self.rate)
        self.key = f"kbm:ratelimit:{self.name}"
        self._acquire = self.client.register_script(_ACQUIRE)
        self._pause = self.client.register_script(_PAUSE)

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def paused_for(self) -> float:
        """Return the seconds left of a pause set by :meth:`pause` (0 when none)."""
        until = self.client.hget(self.key, "paused_until")
        return max(0.0, (int(float(until)) - self._now_ms()) / 1000) if until else 0.0

    def acquire(self, cost: float = 1.0, *, deadline: float | None = None) -> float:
        """Take ``cost`` units, sleeping until they are available; return the time waited.

        Raise :class:`RateLimited` (with the wait it would need) instead of sleeping past
        ``deadline`` (a ``clock()`` time): the caller's time limit must hold.
        """
        waited = 0.0
        wait_ms = self._take(cost)
        while wait_ms < 0:  # paused: nothing was taken
            paused = -wait_ms / 1000
            self._check_deadline(paused, deadline)
            self.sleep(paused)
            waited += paused
            wait_ms = self._take(cost)
        if wait_ms:
            # The units are reserved: the caller only has to wait for its turn, unless
            # that is too late, when the reservation is handed back.
            try:
                self._check_deadline(wait_ms / 1000, deadline)
            except RateLimited:
                self._take(-cost)
                raise
            self.sleep(wait_ms / 1000)
            waited += wait_ms / 1000
        return waited

    def _take(self, cost: float) -> int:
        args = [self.rate, float(self.capacity or 1.0), cost, self._now_ms()]
        return int(self._acquire(keys=[self.key], args=args))

    def _check_deadline(self, wait: float, deadline: float | None) -> None:
        if deadline is not None and self.clock() + wait > deadline:
            raise RateLimited(
                f"rate limit {self.name}: the next slot is {wait:.1f} s away, past the time limit",
                retry_after=wait,
            )

    def pause(self, seconds: float) -> None:
        """Hold every process back for ``seconds`` (the server said Retry-After)."""
        now = self._now_ms()
        self._pause(keys=[self.key], args=[now + int(seconds * 1000), now])
