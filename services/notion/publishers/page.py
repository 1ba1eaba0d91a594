"""One publish of one page: the requests that create, continue or replace it.

The page's article lives in container blocks the integration wrote (``blocks.py``);
everything else on the page is the user's. Every step is reported (``report``) the
moment it exists, so that a later attempt continues from it:

* create: the create carries the properties and the first containers, appends the rest;
* resume (a page being written): count the integration's top-level blocks and append the
  missing ones; a page whose whole body went with its create is complete as it is;
* update (the same body): write the properties the integration still owns;
* replace (another body): write the properties, then append the new body after the
  first of the integration's old blocks, and remove the old ones. Blocks the user wrote
  before, after or between them stay, and no page is ever deleted or trashed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from services.notion.blocks import Unit, batches
from services.notion.client import NotionAPI, NotionNotFound, OutcomeUnknown
from services.notion.ownership import merge, owned, written_values
from services.notion.publishers.base import (
    COMPLETE,
    CREATING,
    REPLACING,
    Progress,
    Publication,
    PublishDocument,
)
from shared.errors import PermanentError

logger = logging.getLogger(__name__)

NAME = "notion"


@dataclass
class PageWrite:
    """One publish call: the page's content and the requests that write it."""

    api: NotionAPI
    source_id: str
    document: PublishDocument
    properties: dict[str, Any]
    units: list[Unit]
    digest: str
    overhead: int
    report: Progress
    deadline: float
    #: The integration's bot user: the blocks it created are the ones it may replace.
    bot_id: str
    #: The property values last written (``None``: not known).
    written: dict[str, Any] | None = None
    #: The tags property's name, merged with the user's tags.
    tags_property: str | None = None
    #: The page's tags as read in this publish (``None``: the page was not read).
    page_tags: list[str] | None = None
    #: Set once a stored page turned out to be gone, so a new one is created only once.
    recreated: bool = False

    def state(self, state: str, page_id: str, url: str | None, written: int) -> Publication:
        """Report and return the publication at this step."""
        publication = Publication(
            NAME,
            page_id,
            url,
            None,
            state,
            written,
            self.digest,
            written_properties=self.written,
            page_tags=self.page_tags,
        )
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
                self.source_id,
                self.properties,
                first,
                deadline=self.deadline,
                before_send=lambda: self.report(marker),
            )
        except OutcomeUnknown:
            raise
        except Exception:
            # Refused (a 4xx), never sent (out of time, no connection) or throttled past
            # the time limit: no page exists, so the next attempt need not look for one.
            self.report(previous)
            raise
        page_id, url = str(response["id"]), response.get("url")
        self.written = written_values(self.properties)
        self.state(CREATING, page_id, url, len(first))
        return self.append_from(page_id, url, len(first))

    def resume(self, page_id: str, url: str | None, *, written_from: str | None) -> Publication:
        """Continue a page the integration created: append the top-level blocks it lacks."""
        if written_from != self.digest:
            return self.replace(page_id, url)
        if self.written is None:
            # Its create carried these properties.
            self.written = written_values(self.properties)
        if len(batches(self.units, first_overhead=self.overhead)) <= 1:
            # A create is all or nothing: a page that exists has its whole first batch.
            return self.state(COMPLETE, page_id, url, len(self.units))
        try:
            existing = self.ours(page_id)
        except NotionNotFound:
            return self.gone(page_id)
        present = [block.get("type") for block in existing]
        expected = [unit["type"] for unit in self.units]
        if len(present) > len(expected) or present != expected[: len(present)]:
            logger.warning(
                "link %s: page %s does not hold what was written to it; rewriting its body",
                self.document.link_id,
                page_id,
            )
            return self.replace(page_id, url)
        self.state(CREATING, page_id, url, len(present))
        return self.append_from(page_id, url, len(present))

    def replace(self, page_id: str, url: str | None) -> Publication:
        """Write the properties, then the new body in place of the integration's old one."""
        self.state(REPLACING, page_id, url, 0)
        try:
            self.sync_properties(page_id)
            old = self.ours(page_id)
        except NotionNotFound:
            return self.gone(page_id)
        anchor = str(old[0]["id"]) if old else None
        for block in old[1:]:
            self.api.delete_block(str(block["id"]), deadline=self.deadline)
        # After the first old block, so the article stays where it was among the user's
        # blocks (API 2025-09-03 cannot insert at a page's start); it goes last.
        after, written = anchor, 0
        for batch in batches(self.units):
            try:
                response = self.api.append(page_id, batch, deadline=self.deadline, after=after)
            except NotionNotFound:
                return self.gone(page_id)
            created = [item for item in response.get("results") or [] if item.get("id")]
            after = str(created[-1]["id"]) if after and created else after
            written += len(batch)
            self.state(REPLACING, page_id, url, written)
        if anchor is not None:
            self.api.delete_block(anchor, deadline=self.deadline)
        return self.state(COMPLETE, page_id, url, written)

    def update(self, prior: Publication) -> Publication:
        """Write a finished page's properties: its body is already this one."""
        try:
            self.sync_properties(prior.page_id)
        except NotionNotFound:
            return self.gone(prior.page_id)
        return self.state(COMPLETE, prior.page_id, prior.page_url, prior.blocks_written)

    def sync_properties(self, page_id: str) -> None:
        """Read the page; write the properties it owns that the user has not changed."""
        page = self.api.page(page_id, deadline=self.deadline)
        if page.get("in_trash") or page.get("archived"):
            raise PermanentError(
                f"link {self.document.link_id}: its page {page_id} is in Notion's trash. "
                "Restore it, or delete it for good so that the next publish creates a new "
                "page, then retry the task"
            )
        result = merge(
            self.properties,
            page.get("properties") or {},
            self.written,
            tags=self.tags_property,
        )
        if result.to_write:
            self.api.update_page(page_id, result.to_write, deadline=self.deadline)
        self.written, self.page_tags = result.written, result.tags

    def ours(self, page_id: str) -> list[dict[str, Any]]:
        """Return the page's top-level blocks that the integration wrote, in order."""
        children = self.api.children(page_id, deadline=self.deadline)
        return [block for block in children if owned(block, self.bot_id)]

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
        self.written = None
        return self.create(None)


def ignore(publication: Publication | None) -> None:
    """Drop a progress report (no one asked for them)."""
