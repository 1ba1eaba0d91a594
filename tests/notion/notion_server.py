"""A loopback Notion API (version 2025-09-03) that enforces Notion's limits, for tests and bench.

It serves the endpoints the publisher uses — databases with data sources, data source
queries, pages and block children — on 127.0.0.1, with bearer auth, the Notion-Version
check and Notion's error body ``{"object": "error", "status", "code", "message"}``.
Every documented limit answers 400 ``validation_error`` when broken
(:mod:`tests.notion.notion_rules`). Both rate limits are enforced: a token bucket per
integration (3 requests/s by default) and one per workspace shared by every integration
of it (``workspace_rate``), each answering 429 ``rate_limited`` with ``Retry-After`` and
``additional_data.rate_limit_reason`` (``connection`` or ``workspace``). Faults are
injected on demand (:meth:`NotionServer.inject`, :mod:`tests.notion.notion_faults`), a
529 ``service_overload`` among them, or every Nth request (``every=N``).

Like Notion, it knows who wrote what: ``GET /v1/users/me`` names the integration's bot
user and its workspace, and every block and page carries ``created_by``. The helpers
``user_*`` edit as a person in Notion's app would (a paragraph, a property value, a new
property), so tests can check that the publisher keeps what the user did. Deleted blocks
(``DELETE /v1/blocks/{id}``) and trashed pages are kept apart for tests to inspect.

Every request and page is recorded, so a test can count requests per page and see that
no URL has two pages. It imports nothing from the service it checks.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.notion.notion_faults import Fault, RequestRecord, TokenBucket, next_fault
from tests.notion.notion_rules import (
    MAX_OPTIONS,
    MAX_REQUEST_BLOCKS,
    MAX_REQUEST_BYTES,
    MAX_URL,
    NOTION_VERSION,
    NotionError,
    bare,
    check_array,
    check_children,
    check_option_name,
    check_rich_text,
    invalid,
    not_found,
)

__all__ = ["DEFAULT_SCHEMA", "NOTION_VERSION", "NotionServer", "RequestRecord"]

#: The properties the publisher expects, by default.
DEFAULT_SCHEMA: dict[str, str] = {
    "Name": "title",
    "URL": "url",
    "Tags": "multi_select",
    "Category": "select",
    "Sentiment": "select",
    "Summary": "rich_text",
    "Author": "rich_text",
    "Published": "date",
}


class NotionServer:
    """The loopback Notion API; ``base_url`` is what ``NOTION_BASE_URL`` should be."""

    def __init__(
        self,
        *,
        token: str = "secret-test-token",
        rate: float = 3.0,
        burst: float | None = None,
        schema: dict[str, str] | None = None,
        data_sources: int = 1,
        block_limit: int | None = None,
        latency: float = 0.0,
        workspace_rate: float | None = None,
    ) -> None:
        self.token = token
        self.bot_id = str(uuid.uuid4())
        self.user_id = str(uuid.uuid4())
        self.workspace_id = str(uuid.uuid4())
        #: token -> (its bot user's id, its per-integration bucket).
        self.integrations: dict[str, tuple[str, TokenBucket]] = {}
        self.workspace_bucket: TokenBucket | None = None
        self.trashed_blocks: dict[str, dict[str, Any]] = {}
        self.trashed_pages: set[str] = set()
        self.database_id = str(uuid.uuid4())
        self.data_source_ids = [str(uuid.uuid4()) for _ in range(data_sources)]
        self.data_source_id = self.data_source_ids[0]
        self.schema: dict[str, dict[str, Any]] = {
            name: _property_schema(name, kind) for name, kind in (schema or DEFAULT_SCHEMA).items()
        }
        self.block_limit = block_limit
        self.latency = latency
        self.bucket = TokenBucket(rate, burst if burst is not None else max(1.0, rate))
        self.integrations[token] = (self.bot_id, self.bucket)
        if workspace_rate is not None:
            self.workspace_bucket = TokenBucket(workspace_rate, max(1.0, workspace_rate))
        #: Who writes the request being served (a bot user id, or the person's).
        self._writer = self.bot_id
        self.pages: dict[str, dict[str, Any]] = {}
        self.blocks: dict[str, dict[str, Any]] = {}
        self.children: dict[str, list[str]] = {}
        self.records: list[RequestRecord] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self.closing = threading.Event()
        self.connections: set[socket.socket] = set()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    # Test controls ---------------------------------------------------------------------

    def inject(self, action: str, **options: Any) -> Fault:
        """Add a fault (see :class:`Fault`); ``skip=N-1`` hits the Nth matching request."""
        fault = Fault(action, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def set_rate(self, rate: float, burst: float | None = None) -> None:
        """Change the token bucket (full again)."""
        with self.lock:
            self.bucket = TokenBucket(rate, burst if burst is not None else max(1.0, rate))
            self.integrations[self.token] = (self.bot_id, self.bucket)

    def set_workspace_rate(self, rate: float, burst: float | None = None) -> None:
        """Limit the whole workspace (every integration together) to ``rate`` requests/s."""
        with self.lock:
            self.workspace_bucket = TokenBucket(
                rate, burst if burst is not None else max(1.0, rate)
            )

    def add_integration(self, rate: float = 3.0) -> str:
        """Add another integration of the same workspace; return its token."""
        token = f"secret-{uuid.uuid4().hex}"
        bucket = TokenBucket(rate, max(1.0, rate))
        with self.lock:
            self.integrations[token] = (str(uuid.uuid4()), bucket)
        return token

    def user_append(
        self, page_id: str, texts: list[str], *, after: str | None = None, at_start: bool = False
    ) -> list[str]:
        """Add paragraphs to a page as a person in Notion's app; return their block ids.

        They go at the end, after block ``after``, or first on the page (``at_start``).
        """
        blocks = [
            {"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": text}}]}}
            for text in texts
        ]
        with self.lock:
            self._writer = self.user_id
            try:
                parent = self._page(page_id)["id"]
                created = self._insert(parent, blocks, after)
            finally:
                self._writer = self.bot_id
            if at_start:
                rest = [child for child in self.children[parent] if child not in created]
                self.children[parent] = [*created, *rest]
            return created

    def user_set(self, page_id: str, name: str, value: dict[str, Any]) -> None:
        """Set a property of a page (``{"select": {"name": …}}``…) as a person would."""
        with self.lock:
            page = self._page(page_id)
            page["properties"].update(self._checked_properties({name: value}))

    def user_add_property(self, name: str, kind: str) -> None:
        """Add a property to the database as a person would (a Rating, a Status)."""
        with self.lock:
            self.schema[name] = _property_schema(name, kind)

    def close(self) -> None:
        """Stop serving; hanging requests give up."""
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        # Kept-alive connections go too, as when the real service goes away.
        with self.lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> NotionServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # What tests read -------------------------------------------------------------------

    def pages_with_url(self, url: str) -> list[dict[str, Any]]:
        """Return the pages (trashed too) whose URL property is ``url``."""
        with self.lock:
            return [page for page in self.pages.values() if _url_of(page) == url]

    def duplicates(self) -> dict[str, int]:
        """Return URL → number of pages, for every URL with more than one page."""
        counts: dict[str, int] = {}
        with self.lock:
            for page in self.pages.values():
                url = _url_of(page)
                if url is not None:
                    counts[url] = counts.get(url, 0) + 1
        return {url: count for url, count in counts.items() if count > 1}

    def top_level(self, page_id: str) -> list[dict[str, Any]]:
        """Return a page's top-level blocks (synced containers as they are)."""
        with self.lock:
            return [self.blocks[child] for child in self.children.get(page_id, [])]

    def content(self, page_id: str) -> list[tuple[str, str]]:
        """Return a page's blocks in reading order as (type, text), containers unwrapped."""
        with self.lock:
            return list(self._content(page_id))

    def _content(self, parent: str) -> Iterator[tuple[str, str]]:
        for child in self.children.get(parent, []):
            block = self.blocks[child]
            kind = block["type"]
            if kind == "synced_block":
                yield from self._content(child)
                continue
            text = "".join(item["text"]["content"] for item in block[kind].get("rich_text", []))
            yield kind, text
            yield from self._content(child)

    def requests(
        self, method: str | None = None, path: str | None = None, status: int | None = None
    ) -> list[RequestRecord]:
        """Return the recorded requests, filtered by method, path regex and status."""
        with self.lock:
            return [
                record
                for record in self.records
                if (method is None or record.method == method)
                and (path is None or re.search(path, record.path))
                and (status is None or record.status == status)
            ]

    # Serving ---------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> tuple[Any, ...]:
        """Answer one request: ("answer", status, headers, body) or ("drop", record)."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        record = RequestRecord(method, path, at=time.monotonic(), size=len(body))
        with self.lock:
            self.records.append(record)
            fault = next_fault(self.faults, method, path)
        if self.latency:
            time.sleep(self.latency)
        if fault is not None:
            record.fault = fault.action
        try:
            if fault is not None and fault.action == "hang":
                self.closing.wait(fault.seconds)
                return ("drop",)
            if fault is not None and fault.action == "error":
                raise fault.error()
            status, answer = self._serve(method, path, query, headers, body, record)
            if fault is not None and fault.action == "lose":
                self.closing.wait(fault.seconds)
                return ("drop",)
            if fault is not None and fault.action == "error_after":
                raise fault.error()
        except NotionError as ex:
            record.status = ex.status
            payload = {
                "object": "error",
                "status": ex.status,
                "code": ex.code,
                "message": ex.message,
                "request_id": str(uuid.uuid4()),
            }
            if ex.additional_data is not None:
                payload["additional_data"] = ex.additional_data
            return ("answer", ex.status, ex.headers, json.dumps(payload).encode())
        record.status = status
        return ("answer", status, {}, json.dumps(answer, ensure_ascii=False).encode())

    def _serve(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Any,
        body: bytes,
        record: RequestRecord,
    ) -> tuple[int, dict[str, Any]]:
        auth = str(headers.get("Authorization") or "")
        integration = self.integrations.get(auth.removeprefix("Bearer "))
        if not auth.startswith("Bearer ") or integration is None:
            raise NotionError(401, "unauthorized", "API token is invalid.")
        bot_id, bucket = integration
        version = headers.get("Notion-Version")
        if version is None:
            raise NotionError(400, "missing_version", "Notion-Version header should be defined.")
        if version != NOTION_VERSION:
            raise invalid(f"Notion-Version header should be {NOTION_VERSION}, got {version}.")
        with self.lock:
            reason, wait = "connection", bucket.take()
            if not wait and self.workspace_bucket is not None:
                reason, wait = "workspace", self.workspace_bucket.take()
        if wait:
            error = NotionError(429, "rate_limited", "You have been rate limited.")
            error.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            error.additional_data = {"rate_limit_reason": reason}
            raise error
        if len(body) > MAX_REQUEST_BYTES:
            raise invalid(
                f"Request body is {len(body)} bytes, which exceeds the limit of "
                f"{MAX_REQUEST_BYTES} bytes."
            )
        data: dict[str, Any] = {}
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                raise NotionError(400, "invalid_json", "Error parsing JSON body.") from None
        with self.lock:
            self._writer = bot_id
            return self._route(method, path, query, data, record)

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        data: dict[str, Any],
        record: RequestRecord,
    ) -> tuple[int, dict[str, Any]]:
        segments = path.strip("/").split("/")
        if segments[:1] != ["v1"]:
            raise NotionError(400, "invalid_request_url", "Invalid request URL.")
        route = segments[1:]
        if method == "GET" and route == ["users", "me"]:
            return 200, self._me()
        if method == "DELETE" and len(route) == 2 and route[0] == "blocks":
            return 200, self._delete_block(route[1], record)
        if method == "GET" and len(route) == 2 and route[0] == "databases":
            return 200, self._database(route[1])
        if method == "GET" and len(route) == 2 and route[0] == "data_sources":
            return 200, self._data_source(route[1])
        if method == "POST" and len(route) == 3 and route[0] == "data_sources":
            return 200, self._query(route[1], data)
        if method == "POST" and route == ["pages"]:
            return 200, self._create_page(data, record)
        if method == "GET" and len(route) == 2 and route[0] == "pages":
            return 200, self._page_object(self._page(route[1]))
        if method == "PATCH" and len(route) == 2 and route[0] == "pages":
            return 200, self._update_page(route[1], data, record)
        if len(route) == 3 and route[0] == "blocks" and route[2] == "children":
            if method == "PATCH":
                return 200, self._append(route[1], data, record)
            if method == "GET":
                return 200, self._list_children(route[1], query)
        raise NotionError(400, "invalid_request", f"Unsupported request: {method} {path}.")

    # Users and deletion ----------------------------------------------------------------

    def _me(self) -> dict[str, Any]:
        return {
            "object": "user",
            "id": self._writer,
            "type": "bot",
            "name": "KB Manager",
            "bot": {
                "owner": {"type": "workspace", "workspace": True},
                "workspace_name": "Test workspace",
                "workspace_id": self.workspace_id,
            },
        }

    def _delete_block(self, block_id: str, record: RequestRecord) -> dict[str, Any]:
        """Move a block (or a page) to the trash, as ``DELETE /v1/blocks/{id}`` does."""
        for key, page in self.pages.items():
            if bare(key) == bare(block_id):
                record.page_id = key
                page["in_trash"] = True
                self.trashed_pages.add(key)
                return {"object": "block", "id": key, "type": "child_page", "in_trash": True}
        found = next((key for key in self.blocks if bare(key) == bare(block_id)), None)
        if found is None:
            if any(bare(gone) == bare(block_id) for gone in self.trashed_blocks):
                raise invalid(
                    "Can't edit block that is archived. You must unarchive the block before "
                    "editing."
                )
            raise not_found("block", block_id)
        block = self.blocks[found]
        owner = self._page_of(block["parent_id"])
        record.page_id = owner["id"] if owner else None
        answer = {**self._block_object(found), "in_trash": True, "archived": True}
        self.children[block["parent_id"]].remove(found)
        self.trashed_blocks[found] = self.blocks.pop(found)
        return answer

    # Databases -------------------------------------------------------------------------

    def _database(self, database_id: str) -> dict[str, Any]:
        if bare(database_id) != bare(self.database_id):
            raise not_found("database", database_id)
        return {
            "object": "database",
            "id": self.database_id,
            "title": [{"type": "text", "text": {"content": "Knowledge base"}}],
            "data_sources": [
                {"id": source, "name": f"Source {index + 1}"}
                for index, source in enumerate(self.data_source_ids)
            ],
        }

    def _source_id(self, data_source_id: str) -> str:
        for source in self.data_source_ids:
            if bare(source) == bare(data_source_id):
                return source
        raise not_found("data source", data_source_id)

    def _data_source(self, data_source_id: str) -> dict[str, Any]:
        return {
            "object": "data_source",
            "id": self._source_id(data_source_id),
            "parent": {"type": "database_id", "database_id": self.database_id},
            "properties": json.loads(json.dumps(self.schema)),
        }

    def _query(self, data_source_id: str, data: dict[str, Any]) -> dict[str, Any]:
        source = self._source_id(data_source_id)
        condition = data.get("filter")
        matches = [
            page
            for page in self.pages.values()
            if page["parent"]["data_source_id"] == source
            and not page["in_trash"]
            and (condition is None or self._matches(page, condition))
        ]
        size = int(data.get("page_size") or 100)
        if not 1 <= size <= 100:
            raise invalid("body.page_size should be ≤ `100`.")
        start = int(data.get("start_cursor") or 0)
        chunk = matches[start : start + size]
        more = start + size < len(matches)
        return {
            "object": "list",
            "results": [self._page_object(page) for page in chunk],
            "has_more": more,
            "next_cursor": str(start + size) if more else None,
        }

    def _matches(self, page: dict[str, Any], condition: dict[str, Any]) -> bool:
        name = condition.get("property")
        if name not in self.schema:
            raise invalid(f"Could not find property with name or id: {name}")
        kind = self.schema[name]["type"]
        if kind not in condition:
            raise invalid(f"body.filter.{kind} should be defined for property {name}.")
        wanted = condition[kind].get("equals")
        value = page["properties"].get(name, {}).get(kind)
        if kind in ("title", "rich_text"):
            value = "".join(item["text"]["content"] for item in value or [])
        return bool(value == wanted)

    # Pages -----------------------------------------------------------------------------

    def _page(self, page_id: str) -> dict[str, Any]:
        for key, page in self.pages.items():
            if bare(key) == bare(page_id):
                return page
        raise not_found("page", page_id)

    def _page_object(self, page: dict[str, Any]) -> dict[str, Any]:
        return {
            "object": "page",
            "id": page["id"],
            "created_by": {"object": "user", "id": page["created_by"]},
            "created_time": page["created_time"],
            "in_trash": page["in_trash"],
            "archived": page["in_trash"],
            "url": page["url"],
            "parent": page["parent"],
            "properties": {
                name: {"id": self.schema[name]["id"], "type": self.schema[name]["type"], **value}
                for name, value in page["properties"].items()
            },
        }

    def _create_page(self, data: dict[str, Any], record: RequestRecord) -> dict[str, Any]:
        parent = data.get("parent")
        if not isinstance(parent, dict) or parent.get("type") != "data_source_id":
            raise invalid("body.parent.data_source_id should be defined.")
        source = self._source_id(str(parent.get("data_source_id")))
        properties = self._checked_properties(data.get("properties") or {})
        counter = [0]
        children = data.get("children") or []
        check_children(children, "body.children", 1, counter)
        self._check_request_blocks(counter[0])
        page_id = str(uuid.uuid4())
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        page = {
            "id": page_id,
            "created_by": self._writer,
            "created_time": now,
            "in_trash": False,
            "url": f"https://www.notion.so/{page_id.replace('-', '')}",
            "parent": {"type": "data_source_id", "data_source_id": source},
            "properties": properties,
        }
        self.pages[page_id] = page
        self.children[page_id] = []
        self._insert(page_id, children, None)
        record.page_id, record.blocks = page_id, counter[0]
        return self._page_object(page)

    def _update_page(
        self, page_id: str, data: dict[str, Any], record: RequestRecord
    ) -> dict[str, Any]:
        page = self._page(page_id)
        record.page_id = page["id"]
        trash = data.get("in_trash", data.get("archived"))
        if page["in_trash"] and trash is not False:
            raise invalid(
                "Can't edit block that is archived. You must unarchive the block before editing."
            )
        page["properties"].update(self._checked_properties(data.get("properties") or {}))
        if data.get("erase_content"):
            for child in self.children.get(page["id"], []):
                self._drop(child)
            self.children[page["id"]] = []
        if trash is not None:
            page["in_trash"] = bool(trash)
            if trash:
                self.trashed_pages.add(page["id"])
        return self._page_object(page)

    def _checked_properties(self, properties: dict[str, Any]) -> dict[str, Any]:
        checked = {}
        for name, value in properties.items():
            if name not in self.schema:
                raise invalid(f"{name} is not a property that exists.")
            kind = self.schema[name]["type"]
            if not isinstance(value, dict) or kind not in value:
                raise invalid(f"{name} is expected to be {kind}.")
            where = f"body.properties.{name}.{kind}"
            inner = value[kind]
            if kind in ("title", "rich_text"):
                check_rich_text(inner, where)
            elif kind == "url":
                if inner is not None and (not isinstance(inner, str) or len(inner) > MAX_URL):
                    raise invalid(f"{where}.length should be ≤ `{MAX_URL}`.")
            elif kind == "select":
                if inner is not None:
                    self._check_option(name, inner, where)
            elif kind == "multi_select":
                for index, option in enumerate(check_array(inner, where, MAX_OPTIONS)):
                    self._check_option(name, option, f"{where}[{index}]")
            elif kind == "date" and inner is not None:
                try:
                    datetime.date.fromisoformat(str(inner.get("start"))[:10])
                except ValueError:
                    raise invalid(f"{where}.start should be an ISO 8601 date.") from None
            checked[name] = {kind: inner}
        return checked

    def _check_option(self, name: str, option: Any, where: str) -> None:
        option_name = check_option_name(option, where)
        options = self.schema[name][self.schema[name]["type"]]["options"]
        if option_name not in {known["name"] for known in options}:
            # Notion adds a new option to the property the first time a page uses it.
            options.append({"id": str(uuid.uuid4())[:8], "name": option_name, "color": "default"})

    # Blocks ----------------------------------------------------------------------------

    def _append(self, block_id: str, data: dict[str, Any], record: RequestRecord) -> dict[str, Any]:
        parent = self._parent(block_id)
        page = self._page_of(parent)
        record.page_id = page["id"] if page else None
        if page is not None and page["in_trash"]:
            raise invalid(
                "Can't edit block that is archived. You must unarchive the block before editing."
            )
        children = data.get("children")
        if not isinstance(children, list):
            raise invalid("body.children should be defined, instead was `undefined`.")
        counter = [0]
        check_children(children, "body.children", 1, counter)
        self._check_request_blocks(counter[0])
        after = data.get("after")
        if after is not None and after not in self.children[parent]:
            raise invalid(f"body.after should be a child of {block_id}, instead was `{after}`.")
        record.blocks = counter[0]
        created = self._insert(parent, children, after)
        return {"object": "list", "results": [self._block_object(child) for child in created]}

    def _parent(self, block_id: str) -> str:
        for key in self.children:
            if bare(key) == bare(block_id):
                return key
        raise not_found("block", block_id)

    def _page_of(self, block_id: str) -> dict[str, Any] | None:
        while block_id not in self.pages:
            block = self.blocks.get(block_id)
            if block is None:
                return None
            block_id = block["parent_id"]
        return self.pages[block_id]

    def _list_children(self, block_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        parent = self._parent(block_id)
        size = int(query.get("page_size", ["100"])[0])
        if not 1 <= size <= 100:
            raise invalid("page_size should be ≤ `100`.")
        start = int(query.get("start_cursor", ["0"])[0])
        children = self.children[parent]
        chunk = children[start : start + size]
        more = start + size < len(children)
        return {
            "object": "list",
            "results": [self._block_object(child) for child in chunk],
            "has_more": more,
            "next_cursor": str(start + size) if more else None,
        }

    def _block_object(self, block_id: str) -> dict[str, Any]:
        block = self.blocks[block_id]
        kind = block["type"]
        return {
            "object": "block",
            "id": block_id,
            "type": kind,
            "has_children": bool(self.children.get(block_id)),
            "created_by": {"object": "user", "id": block["created_by"]},
            "last_edited_by": {"object": "user", "id": block["created_by"]},
            "in_trash": False,
            kind: block[kind],
        }

    def _check_request_blocks(self, count: int) -> None:
        if count > MAX_REQUEST_BLOCKS:
            raise invalid(
                f"body failed validation: the request holds {count} blocks, more than "
                f"{MAX_REQUEST_BLOCKS}."
            )
        if self.block_limit is not None and len(self.blocks) + count > self.block_limit:
            raise invalid(
                "This workspace has reached its block limit. Upgrade your plan to add more content."
            )

    def _insert(self, parent: str, children: list[dict[str, Any]], after: str | None) -> list[str]:
        created = []
        for block in children:
            kind = block["type"]
            payload = {key: value for key, value in block[kind].items() if key != "children"}
            block_id = str(uuid.uuid4())
            self.blocks[block_id] = {
                "type": kind,
                kind: payload,
                "parent_id": parent,
                "created_by": self._writer,
            }
            self.children[block_id] = []
            created.append(block_id)
            self._insert(block_id, block[kind].get("children") or [], None)
        siblings = self.children[parent]
        position = siblings.index(after) + 1 if after is not None else len(siblings)
        siblings[position:position] = created
        return created

    def _drop(self, block_id: str) -> None:
        for child in self.children.pop(block_id, []):
            self._drop(child)
        self.blocks.pop(block_id, None)


def _handler(server: NotionServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            with server.lock:
                server.connections.add(self.connection)

        def finish(self) -> None:
            with server.lock:
                server.connections.discard(self.connection)
            super().finish()

        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            outcome = server.handle(self.command, self.path, self.headers, body)
            if outcome[0] == "drop":
                self.close_connection = True
                return
            _, status, headers, payload = outcome
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _respond

    return Handler


def _property_schema(name: str, kind: str) -> dict[str, Any]:
    config: dict[str, Any] = {"options": []} if kind in ("select", "multi_select") else {}
    return {"id": uuid.uuid4().hex[:4], "name": name, "type": kind, kind: config}


def _url_of(page: dict[str, Any]) -> str | None:
    for value in page["properties"].values():
        if "url" in value:
            return str(value["url"]) if value["url"] is not None else None
    return None
