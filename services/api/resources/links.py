"""Links: create (or find) them by URL, read one with what the stages made of it."""

from __future__ import annotations

import falcon

from services.api.auth import Access
from services.api.body import read_body
from services.api.envelope import reply
from services.api.schemas import LinksBody
from shared.tasks import TaskService
from shared.views import link_view


class LinksResource:
    """``POST /api/links``."""

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create or find a link per URL; answer them in submission order."""
        links = self.tasks.create_links(read_body(req, LinksBody).urls)
        views = [link_view(link, full=False) for link in links]
        reply(resp, {"links": views, "link_ids": [link.id for link in links]}, 201)


class LinkResource:
    """``GET /api/links/{id}``."""

    access = Access.READ

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        """Answer the link with its content, enrichment and publication."""
        reply(resp, self.tasks.get_link(id))
