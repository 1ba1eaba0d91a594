"""The Notion publisher: one page per link in the user's database, exactly once.

A page is written in as few requests as the limits allow (``blocks.py``): the create
carries the properties and the first blocks, appends carry the rest in order. Each step
is handed to ``progress`` the moment it exists, and a later attempt starts from it:

* no publication: create the page;
* a create on its way (``page_id`` empty): its outcome is unknown, so look the page up
  by its URL property; found, continue it; not found once Notion has surely finished
  with the request (``create_settle``), create it;
* a page being written: count its top-level blocks and append the missing ones;
* a finished page with the same body: update its properties only;
* a finished page with another body (or one being replaced): erase its content and
  write the new body into the same page.

Only one worker publishes a link at a time (the caller holds a lock), so these steps
never race each other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.notion.blocks import Unit, batches, body_hash, json_size, page_body
from services.notion.client import NotionAPI, NotionNotFound, OutcomeUnknown
from services.notion.properties import page_properties, schema_problems
from services.notion.publishers.base import (
    COMPLETE,
    CREATING,
    REPLACING,
    Progress,
    Publication,
    PublishDocument,
)
from services.notion.settings import PropertyNames
from shared.blocks import paragraphs_from_text
from shared.errors import ConfigurationError, RateLimited

logger = logging.getLogger(__name__)

NAME = "notion"


@dataclass(frozen=True)
class DataSource:
    """The data source pages are created in, and its property schema."""

    id: str
    database_id: str
    properties: dict[str, Any]


class NotionPublisher:
    """Publish each link as one page of a Notion database."""

    name = NAME

    def __init__(
        self,
        api: NotionAPI,
        database_id: str,
        names: PropertyNames | None = None,
        *,
        data_source_id: str | None = None,
        stage_timeout: float = 60.0,
        create_settle: float = 65.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self.database_id = database_id
        self.names = names or PropertyNames()
        self.data_source_id = data_source_id
        self.stage_timeout = stage_timeout
        self.create_settle = create_settle
        self.clock = clock
        self._source: DataSource | None = None
        self._lock = threading.Lock()

    # The database ----------------------------------------------------------------------

    def data_source(self, *, deadline: float | None = None) -> DataSource:
        """Return the data source, resolved and checked once per process."""
        with self._lock:
            if self._source is None:
                self._source = self._resolve(self._deadline(deadline))
            return self._source

    def _resolve(self, deadline: float) -> DataSource:
        """Find the database's data source and check its properties."""
        try:
            database = self.api.database(self.database_id, deadline=deadline)
        except NotionNotFound as ex:
            try:
                # Since API 2025-09-03 some copy a data source's id for the database's.
                source = self.api.data_source(self.database_id, deadline=deadline)
            except NotionNotFound:
                raise ConfigurationError(
                    f"NOTION_DATABASE_ID={self.database_id}: Notion finds no such database "
                    "for this integration. Share the database with it (in Notion: the "
                    "database's ••• menu → Connections → add the integration) and check "
                    "the id (the 32 hex digits in the database's URL)"
                ) from ex
            parent = source.get("parent") or {}
            return self._checked(source, parent.get("database_id") or self.database_id)
        sources = database.get("data_sources") or []
        chosen = self._choose(sources)
        source = self.api.data_source(chosen, deadline=deadline)
        return self._checked(source, self.database_id)

    def _choose(self, sources: list[dict[str, Any]]) -> str:
        listed = ", ".join(f"{each['id']} ({each.get('name') or 'unnamed'})" for each in sources)
        if self.data_source_id:
            wanted = self.data_source_id.replace("-", "")
            for source in sources:
                if source["id"].replace("-", "") == wanted:
                    return str(source["id"])
            raise ConfigurationError(
                f"NOTION_DATA_SOURCE_ID={self.data_source_id} is not a data source of database "
                f"{self.database_id}; its data sources are: {listed or 'none'}"
            )
        if len(sources) == 1:
            return str(sources[0]["id"])
        if not sources:
            raise ConfigurationError(
                f"NOTION_DATABASE_ID={self.database_id}: the database has no data source "
                "the integration can see; share it with the integration"
            )
        raise ConfigurationError(
            f"NOTION_DATABASE_ID={self.database_id} has {len(sources)} data sources: set "
            f"NOTION_DATA_SOURCE_ID to the one to publish into: {listed}"
        )

    def _checked(self, source: dict[str, Any], database_id: str) -> DataSource:
        problems = schema_problems(source.get("properties") or {}, self.names)
        if problems:
            raise ConfigurationError(
                f"the Notion database {database_id} (data source {source['id']}) does not "
                f"have the properties pages need: {'; '.join(problems)}. Add or fix them in "
                "Notion, or map the names with NOTION_PROPERTY_* variables"
            )
        return DataSource(str(source["id"]), database_id, source.get("properties") or {})

    # Publishing ------------------------------------------------------------------------

    def publish(
        self,
        document: PublishDocument,
        previous: Publication | None,
        *,
        progress: Progress | None = None,
        deadline: float | None = None,
    ) -> Publication:
        """Create, continue or update the link's page; return it once complete."""
        until = self._deadline(deadline)
        source = self.data_source(deadline=until)
        properties = page_properties(document, self.names)
        parent = {"type": "data_source_id", "data_source_id": source.id}
        overhead = json_size({"parent": parent, "properties": properties, "children": []})
        blocks = document.blocks or paragraphs_from_text(document.text)
        units = page_body(document.summary, blocks, overhead=overhead)
        page = _Page(
            api=self.api,
            source=source,
            document=document,
            properties=properties,
            units=units,
            digest=body_hash(units),
            overhead=overhead,
            report=progress or _ignore,
            deadline=until,
        )
        prior = previous if previous is not None and previous.publisher == NAME else None
        if prior is None:
            return page.create(previous)
        if not prior.page_id:
            found = self._created_earlier(page, prior)
            if found is None:
                return page.create(None)
            return page.resume(*found, written_from=prior.content_hash)
        if prior.state == COMPLETE and prior.content_hash == page.digest:
            return page.update(prior)
        if prior.state == CREATING and prior.content_hash == page.digest:
            return page.resume(prior.page_id, prior.page_url, written_from=prior.content_hash)
        return page.replace(prior.page_id, prior.page_url)

    def _created_earlier(self, page: _Page, prior: Publication) -> tuple[str, str | None] | None:
        """Return the page an earlier create made, or ``None`` if it surely made none."""
        found = self.api.pages_with_url(
            page.source.id, self.names.url, page.document.url, deadline=page.deadline
        )
        if found:
            logger.info("link %s: found the page of an unanswered create", page.document.link_id)
            return str(found[0]["id"]), found[0].get("url")
        age = self.clock() - (prior.updated_at or 0.0)
        if age < self.create_settle:
            wait = self.create_settle - age
            raise RateLimited(
                f"link {page.document.link_id}: the last create of its page got no answer and "
                f"no page has its URL yet; looking again in {wait:.0f} s, when Notion has "
                "surely finished that request",
                retry_after=wait,
            )
        return None

    def _deadline(self, deadline: float | None) -> float:
        return deadline if deadline is not None else self.clock() + self.stage_timeout


def _ignore(publication: Publication | None) -> None:
    """Drop a progress report (no one asked for them)."""
    pass


@dataclass
class _Page:
    """One publish call: the page's content and the requests that write it."""

    api: NotionAPI
    source: DataSource
    document: PublishDocument
    properties: dict[str, Any]
    units: list[Unit]
    digest: str
    overhead: int
    report: Progress
    deadline: float
    #: Set once a stored page turned out to be gone, so a new one is created only once.
    recreated: bool = False

    def state(self, state: str, page_id: str, url: str | None, written: int) -> Publication:
        publication = Publication(NAME, page_id, url, None, state, written, self.digest)
        self.report(publication)
        return publication

    def create(self, previous: Publication | None) -> Publication:
        """Create the page with its first blocks, then append the rest.

        ``previous`` is stored back if the create surely made no page.
        """
        first = (batches(self.units, first_overhead=self.overhead) or [[]])[0]
        marker = Publication(NAME, "", None, None, CREATING, 0, self.digest)
        try:
            response = self.api.create_page(
                self.source.id,
                self.properties,
                first,
                deadline=self.deadline,
                before_send=lambda: self.report(marker),
            )
        except OutcomeUnknown:
            raise
        except Exception:
            # Refused (a 4xx) or never sent (out of time): no page exists, so the next
            # attempt need not look for one.
            self.report(previous)
            raise
        page_id, url = str(response["id"]), response.get("url")
        self.state(CREATING, page_id, url, len(first))
        return self.append_from(page_id, url, len(first))

    def resume(self, page_id: str, url: str | None, *, written_from: str | None) -> Publication:
        """Continue a page: append the top-level blocks it lacks."""
        if written_from != self.digest:
            return self.replace(page_id, url)
        try:
            self.api.update_page(page_id, self.properties, deadline=self.deadline)
            existing = self.api.children(page_id, deadline=self.deadline)
        except NotionNotFound:
            return self.gone(page_id)
        present = [block.get("type") for block in existing]
        expected = [unit["type"] for unit in self.units]
        if len(present) > len(expected) or present != expected[: len(present)]:
            logger.warning(
                "link %s: page %s does not hold what was written to it; rewriting it",
                self.document.link_id,
                page_id,
            )
            return self.replace(page_id, url)
        self.state(CREATING, page_id, url, len(present))
        return self.append_from(page_id, url, len(present))

    def replace(self, page_id: str, url: str | None) -> Publication:
        """Erase the page's content (idempotent, so safe to repeat) and write the body."""
        self.state(REPLACING, page_id, url, 0)
        try:
            self.api.update_page(
                page_id, self.properties, erase_content=True, deadline=self.deadline
            )
        except NotionNotFound:
            return self.gone(page_id)
        self.state(CREATING, page_id, url, 0)
        return self.append_from(page_id, url, 0)

    def update(self, prior: Publication) -> Publication:
        """Set a finished page's properties: its body is already this one."""
        try:
            self.api.update_page(prior.page_id, self.properties, deadline=self.deadline)
        except NotionNotFound:
            return self.gone(prior.page_id)
        return self.state(COMPLETE, prior.page_id, prior.page_url, prior.blocks_written)

    def append_from(self, page_id: str, url: str | None, written: int) -> Publication:
        """Append the units from ``written`` on, storing progress after each request."""
        for batch in batches(self.units[written:]):
            try:
                self.api.append(page_id, batch, deadline=self.deadline)
            except NotionNotFound:
                return self.gone(page_id)
            written += len(batch)
            self.state(CREATING, page_id, url, written)
        return self.state(COMPLETE, page_id, url, written)

    def gone(self, page_id: str) -> Publication:
        """Create a new page when the stored one no longer exists (deleted for good)."""
        if self.recreated:
            raise NotionNotFound(f"page {page_id} vanished while it was being written")
        logger.warning(
            "link %s: page %s no longer exists in Notion; creating a new one",
            self.document.link_id,
            page_id,
        )
        self.recreated = True
        return self.create(None)
