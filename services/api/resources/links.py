"""Links: create (or find) them by URL, list and search them, read one in full."""

from __future__ import annotations

import falcon

from services.api.auth import Access
from services.api.body import read_body
from services.api.envelope import reply
from services.api.schemas import LinksBody, LinksQuery, validate_query
from shared.link_stages import stage_outcomes
from shared.search.listing import LinkFilters, list_links
from shared.tasks import TaskService
from shared.views import link_view


class LinksResource:
    """``POST /api/links`` and ``GET /api/links``."""

    access = Access.READ

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create or find a link per URL; answer them in submission order."""
        links = self.tasks.create_links(read_body(req, LinksBody).urls)
        views = [link_view(link, full=False) for link in links]
        reply(resp, {"links": views, "link_ids": [link.id for link in links]}, 201)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer one page of links, filtered and searched."""
        query = validate_query(LinksQuery, req.params)
        reply(resp, list_links(LinkFilters(**query.model_dump())))


class LinkResource:
    """``GET /api/links/{id}``."""

    access = Access.READ

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        """Answer the link with its content, enrichment, publication and stage outcomes."""
        link = self.tasks.get_link(id)
        reply(resp, {**link, "stages": stage_outcomes(id)})
