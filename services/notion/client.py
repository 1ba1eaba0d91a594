"""Notion API calls within both rate limits, the stage's time and a clear outcome.

Notion limits each integration (its token) and, separately, each workspace: every
integration of a workspace shares that budget. Every request takes a slot from two Redis
token buckets that all notion workers share: the token's and the workspace's (the
workspace is the one of the token's bot user, ``GET /v1/users/me``, read once and kept
in Redis for a day). Requests go out through ``notion-client`` with the SDK's own
retries turned off. What the SDK (3.x, ``_can_retry``) would do, and why not: it retries
a 429 on every method (twice, waiting ``Retry-After`` up to 60 s), sleeping outside the
shared buckets and past the stage's time limit; a 500 ``internal_server_error`` or 503
``service_unavailable`` only on GET and DELETE; and never a 504 ``gateway_timeout``, a
502 or a 529 ``service_overload`` (not an API error code to it:
``UnknownHTTPResponseError``), nor any 5xx on POST or PATCH (a data source query is a
POST). So here:

* 429 ``rate_limited`` and 529 ``service_overload`` were not processed: the bucket the
  answer names (``additional_data.rate_limit_reason``: the workspace's, else the
  token's) pauses every process for ``Retry-After`` and the request goes again, while
  the time limit allows, else :class:`RateLimited` ends the attempt without using it
  up. Each is counted by reason (``metrics.py``).
* A timeout, a dropped connection or another 5xx leaves the outcome of a write unknown:
  reads and idempotent writes (property updates, deletes) are repeated, a create or an
  append raises :class:`OutcomeUnknown` for the publisher to find out what happened.
  An answer that surely changed nothing (a 4xx, a refused connection) says so.
* Errors that no retry fixes become :class:`PermanentError`s that say what to do.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
from notion_client import Client
from notion_client.errors import HTTPResponseError, RequestTimeoutError

from services.notion import metrics
from services.notion.answers import (
    DEFAULT_RETRY_AFTER,
    NotionNotFound,
    OutcomeUnknown,
    client_error,
    is_throttle,
    retry_after,
    throttle_reason,
)
from services.notion.shared_state import SharedCache
from shared.errors import PermanentError, PublishError, RateLimited
from shared.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

NOTION_VERSION = "2025-09-03"
#: A request needs at least this long; with less time left the attempt ends here.
MIN_REQUEST_SECONDS = 2.0
#: Repeats of a read or idempotent write after a 5xx or timeout within one attempt.
READ_RETRIES = 2
#: How long the token's bot user and workspace are kept in Redis.
IDENTITY_TTL = 86_400.0


@dataclass(frozen=True)
class Identity:
    """The integration's bot user (the author of what it writes) and its workspace."""

    bot_id: str
    workspace: str


@dataclass
class NotionAPI:
    """The Notion endpoints the publisher uses, paced by ``limiter``."""

    token: str
    base_url: str
    limiter: RateLimiter
    request_timeout: float = 30.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    #: Shared by every process: the identity (and the publisher's schema) live here.
    cache: SharedCache | None = None
    #: Requests per second of the workspace's budget (the token's rate when unset).
    workspace_rate: float | None = None

    def __post_init__(self) -> None:
        # One SDK client per thread: each request sets its own timeout on it.
        self._local = threading.local()
        self._identity: Identity | None = None
        self._workspace: RateLimiter | None = None
        self._identity_lock = threading.Lock()
        self.token_id = hashlib.sha256(self.token.encode()).hexdigest()[:16]

    # Who we are -----------------------------------------------------------------------

    def identity(self, *, deadline: float) -> Identity:
        """Return the token's bot user and workspace (read once, shared for a day)."""
        with self._identity_lock:
            if self._identity is not None:
                return self._identity
            # The token names the integration; the base URL tells one Notion from another.
            where = hashlib.sha256(f"{self.token}@{self.base_url}".encode()).hexdigest()[:16]
            key = f"identity:{where}"
            known = self.cache.get(key) if self.cache is not None else None
            if isinstance(known, dict) and known.get("bot_id") and known.get("workspace"):
                self._identity = Identity(str(known["bot_id"]), str(known["workspace"]))
                return self._identity
            me = self.call(
                "reading the integration's bot user",
                lambda sdk: sdk.users.me(),
                deadline=deadline,
                paced_by_workspace=False,
            )
            bot = me.get("bot") or {}
            workspace = bot.get("workspace_id") or bot.get("workspace_name") or self.token_id
            self._identity = Identity(str(me.get("id") or ""), str(workspace))
            if self.cache is not None:
                self.cache.put(key, vars(self._identity), IDENTITY_TTL)
            return self._identity

    def workspace_limiter(self, *, deadline: float) -> RateLimiter:
        """Return the workspace's shared bucket (every token of the workspace uses it)."""
        if self._workspace is None:
            workspace = self.identity(deadline=deadline).workspace
            name = hashlib.sha256(workspace.encode()).hexdigest()[:16]
            self._workspace = RateLimiter(
                self.limiter.client,
                f"notion:workspace:{name}",
                self.workspace_rate or self.limiter.rate,
                self.limiter.capacity,
                clock=self.limiter.clock,
                sleep=self.limiter.sleep,
            )
        return self._workspace

    # Endpoints ------------------------------------------------------------------------

    def page(self, page_id: str, *, deadline: float) -> dict[str, Any]:
        """Return a page with its properties as they are in Notion now."""
        return self.call(
            "reading the page",
            lambda sdk: sdk.pages.retrieve(page_id=page_id),
            deadline=deadline,
        )

    def delete_block(self, block_id: str, *, deadline: float) -> None:
        """Move a block the integration wrote to the trash (done if it is gone already)."""
        try:
            self.call(
                "removing a block it wrote",
                lambda sdk: sdk.blocks.delete(block_id=block_id),
                deadline=deadline,
            )
        except NotionNotFound:
            return
        except PermanentError as ex:
            if "archived" not in str(ex).lower() and "in trash" not in str(ex).lower():
                raise

    def database(self, database_id: str, *, deadline: float) -> dict[str, Any]:
        """Return a database (with its ``data_sources``)."""
        return self.call(
            "reading the database",
            lambda sdk: sdk.databases.retrieve(database_id=database_id),
            deadline=deadline,
        )

    def data_source(self, data_source_id: str, *, deadline: float) -> dict[str, Any]:
        """Return a data source (with its ``properties`` schema)."""
        return self.call(
            "reading the data source",
            lambda sdk: sdk.data_sources.retrieve(data_source_id=data_source_id),
            deadline=deadline,
        )

    def pages_with_url(
        self, data_source_id: str, prop: str, url: str, *, deadline: float
    ) -> list[dict[str, Any]]:
        """Return the pages whose URL property equals ``url``, oldest first."""
        response = self.call(
            "looking the page up by its URL",
            lambda sdk: sdk.data_sources.query(
                data_source_id=data_source_id,
                filter={"property": prop, "url": {"equals": url}},
                sorts=[{"timestamp": "created_time", "direction": "ascending"}],
                page_size=10,
            ),
            deadline=deadline,
        )
        return [page for page in response.get("results", ()) if page.get("object") == "page"]

    def create_page(
        self,
        data_source_id: str,
        properties: dict[str, Any],
        children: list[dict[str, Any]],
        *,
        deadline: float,
        before_send: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Create a page in a data source; ``before_send`` runs just before each try."""
        return self.call(
            "creating the page",
            lambda sdk: sdk.pages.create(
                parent={"type": "data_source_id", "data_source_id": data_source_id},
                properties=properties,
                children=children,
            ),
            deadline=deadline,
            idempotent=False,
            before_send=before_send,
        )

    def update_page(
        self,
        page_id: str,
        properties: dict[str, Any],
        *,
        erase_content: bool = False,
        deadline: float,
    ) -> dict[str, Any]:
        """Set a page's properties, and erase its content if asked (both idempotent)."""
        extra = {"erase_content": True} if erase_content else {}
        return self.call(
            "updating the page",
            lambda sdk: sdk.pages.update(page_id=page_id, properties=properties, **extra),
            deadline=deadline,
        )

    def append(
        self,
        block_id: str,
        children: list[dict[str, Any]],
        *,
        deadline: float,
        after: str | None = None,
    ) -> dict[str, Any]:
        """Append ``children`` to a page or block: at its end, or after block ``after``."""
        extra = {"after": after} if after else {}
        return self.call(
            "appending blocks",
            lambda sdk: sdk.blocks.children.append(block_id=block_id, children=children, **extra),
            deadline=deadline,
            idempotent=False,
        )

    def children(self, block_id: str, *, deadline: float) -> list[dict[str, Any]]:
        """Return every child of a page or block (all result pages)."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            arguments: dict[str, Any] = {"block_id": block_id, "page_size": 100}
            if cursor:
                arguments["start_cursor"] = cursor
            response = self.call(
                "reading the page's blocks",
                partial(_list_children, arguments=arguments),
                deadline=deadline,
            )
            found += response.get("results", [])
            cursor = response.get("next_cursor")
            if not response.get("has_more") or not cursor:
                return found

    # The request loop -----------------------------------------------------------------

    def call(
        self,
        what: str,
        request: Callable[[Client], Any],
        *,
        deadline: float,
        idempotent: bool = True,
        before_send: Callable[[], None] | None = None,
        paced_by_workspace: bool = True,
    ) -> Any:
        """Send ``request`` within both rate limits and ``deadline``; classify its failure."""
        failures = 0
        while True:
            limiters = [self.limiter]
            if paced_by_workspace:
                limiters.append(self.workspace_limiter(deadline=deadline))
            for limiter in limiters:
                limiter.acquire(deadline=deadline - MIN_REQUEST_SECONDS)
            if any(limiter.paused_for() > 0 for limiter in limiters):
                # Another worker got a 429 while this one waited for its slot: that slot
                # is void, so wait out the pause and queue again.
                continue
            left = deadline - self.clock()
            if left < MIN_REQUEST_SECONDS:
                raise RateLimited(
                    f"{what}: no time left in this attempt; the next one continues",
                    retry_after=DEFAULT_RETRY_AFTER,
                )
            sdk = self._sdk()
            sdk.client.timeout = httpx.Timeout(min(self.request_timeout, left))
            if before_send is not None:
                before_send()
            cause: BaseException
            sent = True
            try:
                answer = request(sdk)
                metrics.record_request("200")
                return answer
            except HTTPResponseError as ex:
                metrics.record_request(str(ex.status))
                wait = self._throttled(ex)
                if wait is not None:
                    reason = throttle_reason(ex)
                    metrics.record_rate_limited(reason)
                    logger.info(
                        "%s: %s (%s) from Notion; everyone waits %.1f s",
                        what,
                        ex.status,
                        reason,
                        wait,
                    )
                    limiters[-1 if reason == "workspace" else 0].pause(wait)
                    continue
                if ex.status < 500:
                    raise client_error(ex, what) from ex
                problem, cause = f"Notion answered {ex.status} {ex.code}", ex
            except httpx.ConnectError as ex:
                # No connection, no request: even a create may simply go again.
                metrics.record_request("connection_error")
                problem, cause, sent = f"cannot connect to Notion ({ex})", ex, False
            except RequestTimeoutError as ex:
                metrics.record_request("timeout")
                problem, cause = f"no answer within {min(self.request_timeout, left):g} s", ex
            except httpx.TransportError as ex:
                metrics.record_request("connection_error")
                problem, cause = f"the connection failed ({type(ex).__name__}: {ex})", ex
            if not idempotent and sent:
                raise OutcomeUnknown(f"{what}: {problem}; the outcome is unknown") from cause
            failures += 1
            if failures > READ_RETRIES:
                raise PublishError(f"{what}: {problem}") from cause
            pause = DEFAULT_RETRY_AFTER * failures
            if (
                isinstance(cause, HTTPResponseError)
                and cause.headers
                and (cause.headers.get("retry-after"))
            ):
                pause = retry_after(cause)  # a 503 may say when to come back
            self.sleep(min(pause, max(0.0, deadline - self.clock())))

    def _sdk(self) -> Client:
        sdk: Client | None = getattr(self._local, "sdk", None)
        if sdk is None:
            sdk = Client(
                auth=self.token,
                base_url=self.base_url,
                notion_version=NOTION_VERSION,
                timeout_ms=int(self.request_timeout * 1000),
                # Retries happen in call(): inside the shared limiter and the time limit,
                # and never a blind repeat of a create or an append.
                retry=False,
                logger=logging.getLogger("notion_client"),
            )
            self._local.sdk = sdk
        return sdk

    @staticmethod
    def _throttled(ex: HTTPResponseError) -> float | None:
        """Return how long to wait after a 429 or 529, or ``None`` for other errors."""
        return retry_after(ex) if is_throttle(ex) else None


def _list_children(sdk: Client, *, arguments: dict[str, Any]) -> Any:
    return sdk.blocks.children.list(**arguments)
