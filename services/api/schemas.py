"""Request bodies and query strings as pydantic models, and their errors as ``InvalidRequest``.

The models reject unknown fields and check types and ranges; what a URL or a stage name
must be is the task service's rule (``shared.tasks``, ``shared.urls``), not repeated here.
Their JSON schemas are also the request schemas of the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from shared.errors import InvalidRequest
from shared.models import Status
from shared.pipeline import STAGE_NAMES

LinkId = Annotated[StrictInt, Field(ge=1, description="id of an existing link")]
#: Only documented here: the task service checks the names and says which exist.
StageName = Annotated[str, Field(json_schema_extra={"enum": list(STAGE_NAMES)})]
#: Documented rules only: the task service checks URLs itself and says exactly what is wrong.
Url = Annotated[
    str,
    Field(
        json_schema_extra={
            "minLength": 1,
            "maxLength": 2048,
            "pattern": r"^\s*[hH][tT][tT][pP][sS]?://",
        }
    ),
]
Urls = Annotated[
    list[Url],
    Field(min_length=1, description="absolute http(s) URLs; duplicates after normalisation merge"),
]
LinkIds = Annotated[list[LinkId], Field(min_length=1)]
Priority = Annotated[
    Literal["high", "normal", "low"],
    Field(
        description="feeding order of the task's items: high first, then normal, then low; "
        "tasks of one priority take turns (a small normal task may be fed as high)"
    ),
]

#: Pages beyond this are refused: an offset must stay a cheap, bounded query.
MAX_OFFSET = 10_000_000

ASYNC_ONLY = (
    "only background processing is supported: the task always runs in the background; "
    'send "async": true (or leave it out) and poll GET /api/tasks/history/{task_id} '
    "for its progress"
)


class Strict(BaseModel):
    """Base of every body and query model: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


RunAt = Annotated[
    str,
    Field(
        description="start the task at this time (ISO 8601 with its zone, e.g. "
        "2026-12-24T08:00:00Z), at most a year ahead; until then it is pending and can be "
        "cancelled; a time in the past starts it now",
        json_schema_extra={"format": "date-time"},
    ),
]
Every = Annotated[
    str | StrictInt,
    Field(description="how often to poll: 30m, 1h, 1d, 1h30m or seconds (5 minutes to 7 days)"),
]


class TaskBody(Strict):
    """Base of the bodies of task-creating routes: a priority and an optional start time."""

    priority: Priority = "normal"
    run_at: RunAt | None = None

    def task_arguments(self) -> dict[str, Any]:
        """Return the keyword arguments of ``TaskService.create_task`` this body gives."""
        return {"priority": self.priority, "run_at": self.run_at, **self.links_and_stages()}

    def links_and_stages(self) -> dict[str, Any]:
        """Return the links (and stages) of the task to create."""
        raise NotImplementedError


class LinksBody(Strict):
    """``POST /api/links``: URLs to create (or find) links for."""

    urls: Urls


class PipelineBody(TaskBody):
    """``POST /api/pipeline``: URLs or existing links, and the stages to run (default all)."""

    urls: Urls | None = None
    link_ids: LinkIds | None = None
    stages: Annotated[list[StageName], Field(min_length=1)] | None = None

    model_config = ConfigDict(
        json_schema_extra={"description": "Give exactly one of urls and link_ids."}
    )

    def links_and_stages(self) -> dict[str, Any]:
        """Return the links and stages of the task to create."""
        return {"urls": self.urls, "link_ids": self.link_ids, "stages": self.stages}


class ParsingBody(TaskBody):
    """``POST /api/parsing/sync``: links (or URLs) to parse, always in the background."""

    link_ids: LinkIds | None = None
    urls: Urls | None = None
    run_async: Literal[True] = Field(True, alias="async")

    model_config = ConfigDict(
        json_schema_extra={"description": "Give exactly one of link_ids and urls."}
    )

    @field_validator("run_async", mode="before")
    @classmethod
    def _background_only(cls, value: Any) -> Any:
        # The original route ran the work inline with "async": false; a gateway worker
        # must never block on a fetch, so say how to get the same result instead.
        if value is False:
            raise PydanticCustomError("async_unsupported", ASYNC_ONLY)
        return value

    def links_and_stages(self) -> dict[str, Any]:
        """Return the links of the parsing task to create."""
        return {"urls": self.urls, "link_ids": self.link_ids}


class LinkIdsBody(TaskBody):
    """``POST /api/ai/process`` and ``POST /api/notion/import``: existing links."""

    link_ids: LinkIds

    def links_and_stages(self) -> dict[str, Any]:
        """Return the links of the task to create."""
        return {"link_ids": self.link_ids}


class FeedBody(Strict):
    """``POST /api/feeds``: an RSS or Atom feed to import on a schedule."""

    url: Url
    every: Every | None = None
    stages: Annotated[list[StageName], Field(min_length=1)] | None = None
    #: A new feed's default is normal; an existing feed keeps its own unless given.
    priority: Priority | None = None


class FeedChange(Strict):
    """``PATCH /api/feeds/{id}``: pause or resume a feed."""

    paused: bool


class FeedsQuery(Strict):
    """``GET /api/feeds``: page."""

    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


LinkStatus = Literal["new", "parsed", "enriched", "published", "failed"]


class LinksQuery(Strict):
    """``GET /api/links``: filters, a full-text query and the page."""

    q: (
        Annotated[
            str,
            Field(
                max_length=500,
                description='full-text query: words, "a phrase", -excluded, OR; matched in '
                "each link's language (title, tags, summary, article text), best match first",
            ),
        ]
        | None
    ) = None
    tag: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    category: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    status: LinkStatus | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class HistoryQuery(Strict):
    """``GET /api/tasks/history``: filter and page."""

    status: Status | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class ItemsQuery(Strict):
    """``GET /api/tasks/history/{id}/items``: filter and page."""

    status: Status | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class DeadLettersQuery(Strict):
    """``GET /api/monitoring/dead-letters``: one queue or all, newest first."""

    queue: Literal["parsing", "ai", "notion", "default"] | None = None
    limit: int = Field(100, ge=1, le=1000)


class RequeueBody(Strict):
    """``POST /api/monitoring/dead-letters/requeue``: the ids to send again, or all."""

    ids: Annotated[list[str], Field(min_length=1, max_length=1000)] | None = None
    all: bool = False


class RequestValidationError(InvalidRequest):
    """An ``InvalidRequest`` that keeps every problem pydantic found, not only the first."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__(problems[0]["field"], problems[0]["message"])
        self.problems = problems


def field_path(location: tuple[int | str, ...], root: str = "body") -> str:
    """Return a pydantic error location as a field path, e.g. ``urls[2]``."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or root


def _problem(error: ErrorDetails, root: str) -> dict[str, str]:
    return {"field": field_path(error["loc"], root), "message": error["msg"]}


M = TypeVar("M", bound=BaseModel)


#: JSON's names of the values a body may be.
_JSON_KINDS = {
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
}


def _json_kind(value: Any) -> str:
    """Return what a JSON value is, as JSON calls it."""
    return "null" if value is None else _JSON_KINDS.get(type(value), type(value).__name__)


def validate(model: type[M], data: Any, *, root: str = "body") -> M:
    """Return ``data`` as ``model``; raise ``InvalidRequest`` naming each bad field."""
    if not isinstance(data, dict):
        # Pydantic would name the model class, which means nothing to a caller.
        raise RequestValidationError(
            [{"field": root, "message": f"expected a JSON object, got {_json_kind(data)}"}]
        )
    try:
        return model.model_validate(data)
    except ValidationError as ex:
        raise RequestValidationError([_problem(error, root) for error in ex.errors()]) from None


def validate_query(model: type[M], params: Mapping[str, Any]) -> M:
    """Return a query string as ``model``; raise ``InvalidRequest`` naming each bad one."""
    return validate(model, dict(params), root="query")
