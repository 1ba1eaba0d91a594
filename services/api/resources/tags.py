"""The tag vocabulary: list it with counts, merge tags, rename a tag.

A merge or a rename changes every link that carries the tag (its enrichment's tags and
its tag rows, :mod:`shared.tags`), then publishes the published ones again as
``kbm republish`` does: publish-only tasks of the ``notion`` type, whose pages keep what
users changed in Notion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import falcon
from pydantic import Field

from services.api.auth import Access, principal_of
from services.api.body import read_body
from services.api.envelope import reply
from services.api.responses import Shape
from services.api.schemas import MAX_OFFSET, Strict, validate_query
from shared import tags
from shared.models import Publication
from shared.tasks import TaskService

TagName = Annotated[str, Field(min_length=1, max_length=tags.MAX_NAME_CHARS)]


class TagsQuery(Strict):
    """``GET /api/tags``: the page (the most used tags first)."""

    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class TagMergeBody(Strict):
    """``POST /api/tags/merge``: tags to merge into another one."""

    tags: Annotated[list[TagName], Field(min_length=1, max_length=100)]
    into: TagName


class TagRenameBody(Strict):
    """``POST /api/tags/rename``: a tag and its new name (an existing name merges)."""

    name: TagName
    to: TagName


class TagEntry(Shape):
    """A tag of the vocabulary and how many links carry it."""

    name: str
    source: Literal["ai", "user", "notion", "edit"]
    uses: int


class TagPage(Shape):
    """One page of the vocabulary, the most used tags first."""

    tags: list[TagEntry]
    total: int
    limit: int
    offset: int


class TagsChanged(Shape):
    """What a merge or a rename changed, and the tasks publishing the pages again."""

    tag: str
    links: list[int]
    republish_tasks: list[int]


class TagsResource:
    """``GET /api/tags``."""

    access = Access.READ

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer one page of the vocabulary with each tag's count of links."""
        query = validate_query(TagsQuery, req.params)
        every = tags.vocabulary()
        page = every[query.offset : query.offset + query.limit]
        reply(
            resp,
            {
                "tags": [vars(tag) for tag in page],
                "total": len(every),
                "limit": query.limit,
                "offset": query.offset,
            },
        )


class TagMergeResource:
    """``POST /api/tags/merge`` (a full token)."""

    access = Access.FULL

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Merge the tags into ``into`` on every link; publish those links again."""
        body = read_body(req, TagMergeBody)
        link_ids = tags.merge_tags(body.tags, body.into)
        reply(resp, self.changed(req, body.into, link_ids))

    def changed(self, req: falcon.Request, tag: str, link_ids: Sequence[int]) -> dict[str, object]:
        """Return the answer of a change, after asking for the pages to be published again."""
        return {
            "tag": tag,
            "links": list(link_ids),
            "republish_tasks": republish(self.tasks, link_ids, principal_of(req).name),
        }


class TagRenameResource(TagMergeResource):
    """``POST /api/tags/rename`` (a full token)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Rename the tag on every link (merge it into an existing name); publish again."""
        body = read_body(req, TagRenameBody)
        link_ids = tags.rename_tag(body.name, body.to)
        reply(resp, self.changed(req, " ".join(body.to.split()), link_ids))


def republish(tasks: TaskService, link_ids: Sequence[int], owner: str | None) -> list[int]:
    """Publish the published ones of ``link_ids`` again; return the tasks created."""
    query = Publication.select(Publication.link).where(Publication.link.in_(list(link_ids)))
    published = sorted(int(row.__data__["link"]) for row in query)
    created = []
    for start in range(0, len(published), tasks.max_urls):
        chunk = published[start : start + tasks.max_urls]
        task = tasks.create_task(link_ids=chunk, task_type="notion", owner=owner)
        created.append(int(task["task_id"]))
    return created
