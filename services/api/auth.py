"""Who is calling: bearer tokens (full or read-only), and a request budget per caller.

Every ``/api/*`` route but health and the OpenAPI document needs a token once any is
configured. Several full-access tokens may be valid at once (rotation: add the new one,
move clients, drop the old one); read-only tokens can only ``GET``. ``OPTIONS`` answers
without a token: it carries no data, only the allowed methods, as browsers' pre-flight
requests need. Each caller is known by a fingerprint of its token, never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import falcon
import redis

from shared.errors import RateLimited
from shared.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Principal:
    """The caller of a request: a token's fingerprint (or a client address) and its rights."""

    name: str
    read_only: bool = False


def fingerprint(token: str) -> str:
    """Return a short, non-reversible name for a token (for limits, ownership and logs)."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


class BearerAuth:
    """Require a valid bearer token on ``/api/*`` (except open paths) and note the caller."""

    def __init__(
        self,
        full_tokens: Sequence[str],
        read_tokens: Sequence[str] = (),
        *,
        prefix: str = "/api/",
        open_paths: frozenset[str],
    ) -> None:
        self._tokens = [(token.encode(), False) for token in full_tokens] + [
            (token.encode(), True) for token in read_tokens
        ]
        self.prefix = prefix
        self.open_paths = open_paths

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Refuse the request with 401 (or 403 for a read-only token's write)."""
        if (
            not req.path.startswith(self.prefix)
            or req.path in self.open_paths
            or req.method == "OPTIONS"
        ):
            return
        scheme, _, credentials = (req.get_header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise falcon.HTTPUnauthorized(
                description="send Authorization: Bearer <API_TOKEN>",
                challenges=["Bearer"],
            )
        given = credentials.strip().encode()
        read_only: bool | None = None
        # Every token is compared, in constant time: the time taken tells nothing.
        for token, is_read_only in self._tokens:
            if hmac.compare_digest(given, token) and read_only is None:
                read_only = is_read_only
        if read_only is None:
            raise falcon.HTTPUnauthorized(
                description="the bearer token is not valid",
                challenges=['Bearer error="invalid_token"'],
            )
        if read_only and req.method not in READ_METHODS:
            raise falcon.HTTPForbidden(
                title="Read-only token",
                description=f"this token may only read (GET); {req.method} needs a full token",
            )
        req.context.principal = Principal(fingerprint(given.decode()), read_only)


def principal_of(req: falcon.Request) -> Principal:
    """Return the request's caller: its token, or its address when no token is configured."""
    known: Principal | None = getattr(req.context, "principal", None)
    return known if known is not None else Principal(f"client:{req.remote_addr}")


class RequestBudget:
    """Limit each caller to ``rate`` requests per second (``burst`` at once): 429 beyond.

    The budget lives in Redis, shared by every gateway process. When Redis cannot be read
    the request goes through: the limit protects the service, it must not take it down.
    """

    def __init__(
        self, client: redis.Redis, rate: float, burst: int, *, prefix: str = "/api/"
    ) -> None:
        self.client = client
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self._limiters: dict[str, RateLimiter] = {}

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Spend one unit of the caller's budget, or answer 429 with ``Retry-After``."""
        if not req.path.startswith(self.prefix):
            return
        name = principal_of(req).name
        limiter = self._limiters.get(name)
        if limiter is None:
            limiter = RateLimiter(self.client, f"api:{name}", self.rate, float(self.burst))
            if len(self._limiters) < 10_000:  # bounded: callers are few, addresses may not be
                self._limiters[name] = limiter
        try:
            limiter.acquire(deadline=time.time())
        except RateLimited as ex:
            raise falcon.HTTPTooManyRequests(
                description=f"more than {self.rate:g} requests per second; slow down",
                retry_after=max(1, int(ex.retry_after + 0.999)),
            ) from None
        except redis.RedisError as ex:
            logger.warning("request budget unavailable, letting the request through: %r", ex)
