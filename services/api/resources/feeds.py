"""Feeds: register RSS/Atom feeds to import on a schedule, list, pause, resume, remove."""

from __future__ import annotations

import falcon

from services.api.auth import Access, principal_of
from services.api.body import read_body
from services.api.envelope import reply
from services.api.schemas import FeedBody, FeedChange, FeedsQuery, validate_query
from shared.feeds import FeedService


def feed_url(feed_id: int) -> str:
    """Return where a feed is read."""
    return f"/api/feeds/{feed_id}"


class FeedsResource:
    """``POST /api/feeds`` and ``GET /api/feeds``."""

    access = Access.READ

    def __init__(self, feeds: FeedService) -> None:
        self.feeds = feeds

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Register a feed (201), or update the one with this URL (200)."""
        body = read_body(req, FeedBody)
        feed, created = self.feeds.add(
            body.url,
            every=body.every,
            stages=body.stages,
            priority=body.priority,
            owner=principal_of(req).name,
        )
        reply(resp, feed, 201 if created else 200, location=feed_url(feed["id"]))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer one page of feeds."""
        query = validate_query(FeedsQuery, req.params)
        reply(resp, self.feeds.list(limit=query.limit, offset=query.offset))


class FeedResource:
    """``GET``, ``PATCH`` (pause / resume) and ``DELETE /api/feeds/{id}``."""

    access = Access.READ

    def __init__(self, feeds: FeedService) -> None:
        self.feeds = feeds

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        """Answer the feed: its schedule, last poll, error and entries seen."""
        reply(resp, self.feeds.get(id))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        """Pause or resume the feed."""
        change = read_body(req, FeedChange)
        reply(resp, self.feeds.set_paused(id, change.paused))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        """Forget the feed (the tasks it made stay)."""
        self.feeds.remove(id)
        reply(resp, {"id": id, "deleted": True})
