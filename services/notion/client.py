"""Notion API calls within the shared rate limit, the stage's time and a clear outcome.

Every request first takes a slot from the Redis token bucket that all notion workers
share, then goes out through ``notion-client`` with the SDK's own retries turned off:
the SDK would sleep outside the shared limiter, past the stage's time limit, and would
repeat a POST whose first try may have landed. Instead:

* 429 ``rate_limited`` and 529 ``service_overload`` were not processed: every process
  pauses for ``Retry-After`` and the request goes again, while the time limit allows,
  else :class:`RateLimited` ends the attempt without using it up.
* A timeout, a dropped connection or a 5xx leaves the outcome of a write unknown:
  reads and idempotent writes are repeated, a create or an append raises
  :class:`OutcomeUnknown` for the publisher to find out what happened.
* Errors that no retry fixes become :class:`PermanentError`s that say what to do.
"""

from __future__ import annotations

import logging
import math
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
from shared.errors import ConfigurationError, PermanentError, PublishError, RateLimited
from shared.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

NOTION_VERSION = "2025-09-03"
#: A request needs at least this long; with less time left the attempt ends here.
MIN_REQUEST_SECONDS = 2.0
#: Waits when a 429/529 gives no Retry-After, and before repeating a failed read.
DEFAULT_RETRY_AFTER = 1.0
#: Repeats of a read or idempotent write after a 5xx or timeout within one attempt.
READ_RETRIES = 2
OVERLOADED = 529


class OutcomeUnknown(PublishError):
    """A write may or may not have been applied (timeout, dropped connection, 5xx)."""


class NotionNotFound(PermanentError):
    """Notion knows no such object, or it is not shared with the integration."""


@dataclass
class NotionAPI:
    """The Notion endpoints the publisher uses, paced by ``limiter``."""

    token: str
    base_url: str
    limiter: RateLimiter
    request_timeout: float = 30.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        # One SDK client per thread: each request sets its own timeout on it.
        self._local = threading.local()

    # Endpoints ------------------------------------------------------------------------

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
        self, block_id: str, children: list[dict[str, Any]], *, deadline: float
    ) -> dict[str, Any]:
        """Append ``children`` at the end of a page or block."""
        return self.call(
            "appending blocks",
            lambda sdk: sdk.blocks.children.append(block_id=block_id, children=children),
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
    ) -> Any:
        """Send ``request`` within the rate limit and ``deadline``; classify its failure."""
        failures = 0
        while True:
            self.limiter.acquire(deadline=deadline - MIN_REQUEST_SECONDS)
            if self.limiter.paused_for() > 0:
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
                    metrics.record_rate_limited()
                    logger.info("%s: %s from Notion; everyone waits %.1f s", what, ex.status, wait)
                    self.limiter.pause(wait)
                    continue
                if ex.status < 500:
                    raise _client_error(ex, what) from ex
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
            self.sleep(min(DEFAULT_RETRY_AFTER * failures, max(0.0, deadline - self.clock())))

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
        if ex.status not in (429, OVERLOADED) and ex.code != "rate_limited":
            return None
        header = ex.headers.get("retry-after") if ex.headers else None
        try:
            wait = float(header) if header else DEFAULT_RETRY_AFTER
        except ValueError:
            wait = DEFAULT_RETRY_AFTER
        return max(0.0, wait) if math.isfinite(wait) else DEFAULT_RETRY_AFTER


def _list_children(sdk: Client, *, arguments: dict[str, Any]) -> Any:
    return sdk.blocks.children.list(**arguments)


def _client_error(ex: HTTPResponseError, what: str) -> Exception:
    """Return the error a 4xx (other than 429) becomes, with what the user should do."""
    message = str(ex)
    if ex.status == 401 or ex.code == "unauthorized":
        return ConfigurationError(
            f"{what}: Notion refused NOTION_TOKEN (401 unauthorized: {message}). Copy the "
            "secret of your integration from https://www.notion.so/profile/integrations "
            "into NOTION_TOKEN"
        )
    if ex.status == 403 or ex.code == "restricted_resource":
        return ConfigurationError(
            f"{what}: the integration lacks a capability (403 restricted_resource: {message}). "
            "Give it the Read, Update and Insert content capabilities at "
            "https://www.notion.so/profile/integrations"
        )
    if ex.status == 404 or ex.code == "object_not_found":
        return NotionNotFound(f"{what}: {message}")
    if "block limit" in message.lower():
        return PermanentError(
            f"{what}: the Notion workspace has reached its plan's block limit ({message}). "
            "Upgrade the workspace's plan or delete content, then retry the task"
        )
    if ex.status == 409 or ex.code == "conflict_error":
        return PublishError(f"{what}: Notion reported a conflict ({message}); trying again")
    if "archived" in message.lower() or "in trash" in message.lower():
        return PermanentError(
            f"{what}: the page is in Notion's trash ({message}). Restore it, or delete it "
            "for good so that the next publish creates a new page, then retry the task"
        )
    return PermanentError(
        f"{what}: Notion rejected the request ({ex.status} {ex.code}: {message}). Run "
        "`kbm doctor` to check the database's properties; if they are right, report this "
        "message as a bug"
    )
