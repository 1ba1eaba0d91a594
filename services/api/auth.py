"""Who is calling and what they may reach: tokens, hosts and budgets, decided per resource.

Access is decided on the **routed resource**, never on the path as sent: Falcon routes
``//api/pipeline``, ``/api%2Fpipeline`` and ``/api/pipeline`` to the same resource, so a
check on the spelling of the path can be walked around, a check on the resource cannot.
Each resource declares its :class:`Access`; one that declares nothing needs the full
token for every method (deny by default), so a route added without a thought is closed.

- :class:`HostCheck`: without a token the gateway answers only requests whose ``Host`` is
  a loopback name or address (or listed in ``API_ALLOWED_HOSTS``): a web page that
  rebinds its own name to 127.0.0.1 cannot reach it.
- :class:`BearerAuth`: the token of each request. Several full tokens may be valid at once
  (rotation); read-only tokens may ``GET`` (and ``HEAD``) what a resource declares
  readable. Wrong tokens count against a budget per client address (429 beyond it).
- :class:`RequestBudget`: requests per second for each caller.

Each caller is known by a fingerprint of its token, never the token.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import falcon
import redis

from shared.errors import RateLimited
from shared.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD"})


class Access(enum.Enum):
    """What a resource lets callers do; a resource declares it as ``access``."""

    #: No token: carries no data of the knowledge base (health, the API document, metrics).
    OPEN = "open"
    #: ``GET``/``HEAD`` with a read-only token (or a full one); other methods a full token.
    READ = "read"
    #: A full token for every method. The default of a resource that declares nothing.
    FULL = "full"


def access_of(resource: Any) -> Access:
    """Return the access ``resource`` declares; anything but an :class:`Access` is FULL."""
    declared = getattr(resource, "access", Access.FULL)
    return declared if isinstance(declared, Access) else Access.FULL


@dataclass(frozen=True)
class Principal:
    """The caller of a request: a token's fingerprint (or a client address) and its rights."""

    name: str
    read_only: bool = False


def fingerprint(token: str) -> str:
    """Return a short, non-reversible name for a token (for limits, ownership and logs)."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


def principal_of(req: falcon.Request) -> Principal:
    """Return the request's caller: its token, or its address when it sent none."""
    known: Principal | None = getattr(req.context, "principal", None)
    return known if known is not None else Principal(f"client:{req.remote_addr}")


def is_loopback_host(host: str) -> bool:
    """Tell whether ``host`` (no port) names this machine only: localhost or a loopback IP.

    ``*.localhost`` names are loopback too (RFC 6761): browsers resolve them to this
    machine without asking DNS, so no web page can rebind them.
    """
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """Return the host of a ``Host`` header value, without its port or IPv6 brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header[1:]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostCheck:
    """Answer 403 to a request whose ``Host`` is not loopback nor an allowed name.

    Installed when the gateway has no token (it then listens on loopback only) or when
    ``API_ALLOWED_HOSTS`` lists names. A request without ``Host`` (HTTP/1.0) names no
    other site and is served.
    """

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = frozenset(host_name(name) for name in allowed if name.strip())

    def allows(self, header: str) -> bool:
        """Tell whether a ``Host`` header value may be served."""
        name = host_name(header)
        return name in self.allowed or is_loopback_host(name)

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Refuse a foreign ``Host`` before anything else runs."""
        header = req.get_header("Host")
        if header is not None and not self.allows(header):
            raise falcon.HTTPForbidden(
                title="Host not allowed",
                description=(
                    f"this gateway does not answer for Host {header[:100]!r}: it serves "
                    "loopback names (localhost, 127.0.0.1, [::1]) and API_ALLOWED_HOSTS"
                ),
            )


class FailureBudget:
    """At most ``limit`` wrong tokens per client address in ``window_s`` seconds.

    A fixed window counted in Redis, shared by every gateway process. Beyond the limit the
    address gets 429 for whatever token it sends, the right one included, until the
    window ends: guessing is then as slow as the budget. When Redis cannot be read the
    tokens are still checked; only the budget is skipped.
    """

    def __init__(self, client: redis.Redis, limit: int, window_s: int = 60) -> None:
        self.client = client
        self.limit = limit
        self.window_s = window_s

    @staticmethod
    def key(address: str) -> str:
        """Return the Redis key counting ``address``'s failures."""
        return f"kbm:auth-failures:{address}"

    def check(self, address: str) -> None:
        """Raise 429 when ``address`` has used its budget of failures."""
        try:
            count = self.client.get(self.key(address))
            if count is None or int(count) < self.limit:
                return
            retry_after = max(1, int(self.client.ttl(self.key(address))))
        except redis.RedisError as ex:
            logger.warning("authentication budget unavailable: %r", ex)
            return
        raise falcon.HTTPTooManyRequests(
            title="Too many failed authentications",
            description=(
                f"more than {self.limit} wrong tokens from {address} in {self.window_s} s; "
                f"try again in {retry_after} s"
            ),
            retry_after=retry_after,
        )

    def spend(self, address: str) -> None:
        """Count one failure of ``address``."""
        key = self.key(address)
        try:
            with self.client.pipeline() as pipe:
                pipe.incr(key)
                pipe.expire(key, self.window_s, nx=True)
                pipe.execute()
        except redis.RedisError as ex:
            logger.warning("authentication budget unavailable: %r", ex)


class BearerAuth:
    """Require the token each resource's :class:`Access` asks for, and note the caller."""

    def __init__(
        self,
        full_tokens: Sequence[str],
        read_tokens: Sequence[str] = (),
        *,
        failures: FailureBudget | None = None,
    ) -> None:
        self._tokens = [(token.encode(), False) for token in full_tokens] + [
            (token.encode(), True) for token in read_tokens
        ]
        self.failures = failures

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        """Refuse with 401 (no or a wrong token), 403 (a read-only token's write) or 429."""
        access = access_of(resource)
        if access is Access.OPEN:
            return
        scheme, _, credentials = (req.get_header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise falcon.HTTPUnauthorized(
                description="send Authorization: Bearer <API_TOKEN>",
                challenges=["Bearer"],
            )
        address = str(req.remote_addr)
        if self.failures is not None:
            self.failures.check(address)
        given = credentials.strip().encode()
        read_only: bool | None = None
        # Every token is compared, in constant time: the time taken tells nothing.
        for token, is_read_only in self._tokens:
            if hmac.compare_digest(given, token) and read_only is None:
                read_only = is_read_only
        if read_only is None:
            if self.failures is not None:
                self.failures.spend(address)
            raise falcon.HTTPUnauthorized(
                description="the bearer token is not valid",
                challenges=['Bearer error="invalid_token"'],
            )
        if read_only and (access is Access.FULL or req.method not in READ_METHODS):
            raise falcon.HTTPForbidden(
                title="Read-only token",
                description=(
                    f"this token may only read (GET); {req.method} {req.path} needs a full token"
                ),
            )
        req.context.principal = Principal(fingerprint(given.decode()), read_only)


class RequestBudget:
    """Limit each caller to ``rate`` requests per second (``burst`` at once): 429 beyond.

    Every routed request spends from its caller's budget (its token, or its address). The
    budget lives in Redis, shared by every gateway process. When Redis cannot be read the
    request goes through: the limit protects the service, it must not take it down.
    """

    def __init__(self, client: redis.Redis, rate: float, burst: int) -> None:
        self.client = client
        self.rate = rate
        self.burst = burst
        self._limiters: dict[str, RateLimiter] = {}

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        """Spend one unit of the caller's budget, or answer 429 with ``Retry-After``."""
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
