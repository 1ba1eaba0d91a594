"""The Notion publisher: one page per link in the user's database, exactly once.

A page is written in as few requests as the limits allow (``blocks.py``): the create
carries the properties and the first blocks, appends carry the rest in order. Each step
is handed to ``progress`` the moment it exists, and a later attempt starts from it
(``page.py`` holds the requests):

* no publication: create the page;
* a create on its way (``page_id`` empty): its outcome is unknown. Once Notion has surely
  finished with that request (``create_settle`` after it was sent; until then the
  attempt waits without a request), look the page up by its URL property, once: found,
  continue it; not found, create it. A create refused (4xx, 429) or never sent leaves
  no marker, so it is simply sent again;
* a page being written: count the integration's top-level blocks, append the missing;
* a finished page with the same body: write the properties it still owns;
* a finished page with another body (or one being replaced): replace the integration's
  blocks with the new body; the user's blocks and property values stay.

The data source and its schema are read once and shared by every process through Redis
for :data:`SCHEMA_TTL` seconds. Only one worker publishes a link at a time (the caller
holds a lock), so these steps never race each other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.notion.blocks import body_hash, json_size, page_body
from services.notion.client import NotionAPI, NotionNotFound
from services.notion.properties import page_properties, schema_problems
from services.notion.publishers.base import (
    COMPLETE,
    CREATING,
    Progress,
    Publication,
    PublishDocument,
)
from services.notion.publishers.page import NAME, PageWrite, ignore
from shared.blocks import paragraphs_from_text
from shared.errors import ConfigurationError, RateLimited
from shared.notion_settings import PropertyNames

logger = logging.getLogger(__name__)

#: Seconds a data source's schema is reused (by every process) before it is read again.
SCHEMA_TTL = 600.0


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
        self._source_at = 0.0
        self._lock = threading.Lock()

    # The database ----------------------------------------------------------------------

    def data_source(self, *, deadline: float | None = None) -> DataSource:
        """Return the data source, resolved and checked once per :data:`SCHEMA_TTL`.

        One process reads it; the others take it from Redis meanwhile.
        """
        with self._lock:
            if self._source is None or self.clock() - self._source_at > SCHEMA_TTL:
                self._source = self._shared() or self._resolve(self._deadline(deadline))
                self._source_at = self.clock()
            return self._source

    def _schema_key(self) -> str:
        return f"schema:{self.api.token_id}:{self.database_id}:{self.data_source_id or ''}"

    def _shared(self) -> DataSource | None:
        """Return the data source another process read lately, checked here again."""
        cache = self.api.cache
        known = cache.get(self._schema_key()) if cache is not None else None
        if not isinstance(known, dict):
            return None
        try:
            return self._checked(known, str(known["database_id"]), share=False)
        except (KeyError, ConfigurationError):
            return None

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

    def _checked(
        self, source: dict[str, Any], database_id: str, *, share: bool = True
    ) -> DataSource:
        problems = schema_problems(source.get("properties") or {}, self.names)
        if problems:
            raise ConfigurationError(
                f"the Notion database {database_id} (data source {source['id']}) does not "
                f"have the properties pages need: {'; '.join(problems)}. Add or fix them in "
                "Notion, or map the names with NOTION_PROPERTY_* variables"
            )
        checked = DataSource(str(source["id"]), database_id, source.get("properties") or {})
        if share and self.api.cache is not None:
            self.api.cache.put(
                self._schema_key(),
                {"id": checked.id, "database_id": database_id, "properties": checked.properties},
                SCHEMA_TTL,
            )
        return checked

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
        identity = self.api.identity(deadline=until)
        properties = page_properties(document, self.names, source.properties)
        parent = {"type": "data_source_id", "data_source_id": source.id}
        overhead = json_size({"parent": parent, "properties": properties, "children": []})
        blocks = document.blocks or paragraphs_from_text(document.text)
        units = page_body(document.summary, blocks, overhead=overhead)
        prior = previous if previous is not None and previous.publisher == NAME else None
        page = PageWrite(
            api=self.api,
            source_id=source.id,
            document=document,
            properties=properties,
            units=units,
            digest=body_hash(units),
            overhead=overhead,
            report=progress or ignore,
            deadline=until,
            bot_id=identity.bot_id,
            written=prior.written_properties if prior is not None else None,
            tags_property=self.names.tags,
        )
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

    def _created_earlier(
        self, page: PageWrite, prior: Publication
    ) -> tuple[str, str | None] | None:
        """Return the page an earlier create made, or ``None`` if it surely made none.

        Until ``create_settle`` has passed since the create was sent, a look-up could miss
        a page still being made: the attempt waits instead, and looks once, after.
        """
        age = self.clock() - (prior.updated_at or 0.0)
        if age < self.create_settle:
            wait = self.create_settle - age
            raise RateLimited(
                f"link {page.document.link_id}: the last create of its page got no clear "
                f"answer; looking its page up in {wait:.0f} s, when Notion has surely "
                "finished that request",
                retry_after=wait,
            )
        found = self.api.pages_with_url(
            page.source_id, self.names.url, page.document.url, deadline=page.deadline
        )
        if found:
            logger.info("link %s: found the page of an unanswered create", page.document.link_id)
            return str(found[0]["id"]), found[0].get("url")
        return None

    def _deadline(self, deadline: float | None) -> float:
        return deadline if deadline is not None else self.clock() + self.stage_timeout
