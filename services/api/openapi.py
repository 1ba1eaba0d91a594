"""The OpenAPI 3.1 document of the gateway, built from the request and response models.

:data:`OPERATIONS` lists every route and method the app serves; the API tests check it
against the app's router both ways, so the document cannot drift from the routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import falcon
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from services.api import operations as o
from services.api import responses as r
from services.api import schemas as s
from services.api.auth import Access
from services.api.envelope import envelope_schema
from services.api.errors import PROBLEM_JSON
from services.api.resources import tags as t
from services.api.resources.imports import IMPORTS_PATH, ImportQuery, ImportReportModel

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    """One method of one route, as documented."""

    method: str
    template: str
    summary: str
    tag: str
    status: int
    response: type[BaseModel] | None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    #: Other success statuses answered with the same model (200 for an update of a POST).
    also: tuple[int, ...] = ()
    #: The body is a file of any type (an import's export), not JSON.
    upload: bool = False


TASK = "/api/tasks/history/{id:id}"
FEED = "/api/feeds/{id:id}"
CREATE_ERRORS = (400, 404, 411, 413, 415, 503)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST", "/api/links", "Create (or find) links by URL", "links", 201,
        r.LinksCreated, body=s.LinksBody, errors=(400, 411, 413, 415, 503),
    ),
    Operation(
        "GET", "/api/links", "List and search links", "links", 200, r.LinkPage,
        query=s.LinksQuery, errors=(400,),
    ),
    Operation("GET", "/api/links/{id:id}", "Read a link", "links", 200, r.Link, errors=(404,)),
    Operation(
        "POST", "/api/pipeline", "Run stages (default all) for URLs or links", "tasks", 202,
        r.TaskCreated, body=s.PipelineBody, errors=CREATE_ERRORS,
    ),
    Operation(
        "POST", "/api/parsing/sync", "Parse links in the background", "tasks", 202,
        r.TaskCreated, body=s.ParsingBody, errors=CREATE_ERRORS,
    ),
    Operation(
        "POST", "/api/ai/process", "Enrich parsed links", "tasks", 202,
        r.TaskCreated, body=s.LinkIdsBody, errors=CREATE_ERRORS,
    ),
    Operation(
        "POST", "/api/notion/import", "Publish enriched links", "tasks", 202,
        r.TaskCreated, body=s.LinkIdsBody, errors=CREATE_ERRORS,
    ),
    Operation(
        "GET", "/api/tasks/history", "List tasks, newest first", "tasks", 200,
        r.TaskPage, query=s.HistoryQuery, errors=(400,),
    ),
    Operation("GET", TASK, "Read a task", "tasks", 200, r.Task, errors=(404,)),
    Operation(
        "GET", f"{TASK}/items", "List a task's items", "tasks", 200,
        r.ItemPage, query=s.ItemsQuery, errors=(400, 404),
    ),
    Operation(
        "POST", f"{TASK}/retry", "Retry a task's failed items", "tasks", 202,
        r.Retried, errors=(404, 409, 503),
    ),
    Operation(
        "POST", f"{TASK}/cancel", "Cancel a task", "tasks", 200,
        r.CancelledTask, errors=(404, 409),
    ),
    Operation(
        "POST", "/api/feeds", "Register a feed (or update the one with this URL)", "feeds",
        201, r.Feed, body=s.FeedBody, errors=(400, 411, 413, 415, 503), also=(200,),
    ),
    Operation(
        "GET", "/api/feeds", "List feeds", "feeds", 200, r.FeedPage, query=s.FeedsQuery,
        errors=(400,),
    ),
    Operation("GET", FEED, "Read a feed", "feeds", 200, r.Feed, errors=(404,)),
    Operation(
        "PATCH", FEED, "Pause or resume a feed", "feeds", 200, r.Feed, body=s.FeedChange,
        errors=(400, 404, 411, 413, 415),
    ),
    Operation("DELETE", FEED, "Remove a feed", "feeds", 200, r.FeedDeleted, errors=(404,)),
    Operation(
        "GET", "/api/tags", "List the tag vocabulary with counts", "tags", 200, t.TagPage,
        query=t.TagsQuery, errors=(400,),
    ),
    Operation(
        "POST", "/api/tags/merge", "Merge tags into one (every link; pages published again)",
        "tags", 200, t.TagsChanged, body=t.TagMergeBody, errors=(400, 404, 411, 413, 415, 503),
    ),
    Operation(
        "POST", "/api/tags/rename", "Rename a tag (every link; pages published again)",
        "tags", 200, t.TagsChanged, body=t.TagRenameBody, errors=(400, 404, 411, 413, 415, 503),
    ),
    Operation(
        "POST", IMPORTS_PATH, "Import a library export (the file as the body)", "imports", 202,
        ImportReportModel, query=ImportQuery, errors=(400, 411, 413, 429, 503), also=(200,),
        upload=True,
    ),
    Operation(
        "GET", "/api/monitoring/workers", "Workers seen in the last minute", "monitoring", 200,
        o.Workers, errors=(503,),
    ),
    Operation(
        "GET", "/api/monitoring/queues", "Queue depths", "monitoring", 200,
        o.Queues, errors=(503,),
    ),
    Operation(
        "GET", "/api/monitoring/health", "Health of Redis, database and schema", "monitoring",
        200, o.Health,
    ),
    Operation(
        "GET", "/api/monitoring/dead-letters", "Dead letters with their error", "monitoring",
        200, o.DeadLetters, query=s.DeadLettersQuery, errors=(400, 503),
    ),
    Operation(
        "POST", "/api/monitoring/dead-letters/requeue", "Send dead letters again", "monitoring",
        200, o.Requeued, body=s.RequeueBody, errors=(400, 411, 413, 415, 503),
    ),
    Operation("GET", "/metrics", "Prometheus metrics", "monitoring", 200, None),
    Operation("GET", "/api/openapi.json", "This document", "docs", 200, None),
)  # fmt: skip

REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    s.LinksBody, s.PipelineBody, s.ParsingBody, s.LinkIdsBody, s.HistoryQuery, s.ItemsQuery,
    s.DeadLettersQuery, s.RequeueBody, s.FeedBody, s.FeedChange, s.FeedsQuery, ImportQuery,
    s.LinksQuery, t.TagsQuery, t.TagMergeBody, t.TagRenameBody,
)  # fmt: skip
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    r.TaskCreated, r.TaskSummary, r.Task, r.CancelledTask, r.TaskPage, r.Item, r.ItemPage,
    r.Retried, r.LinkSummary, r.Link, r.LinksCreated, o.Queues, o.Workers, o.Health, r.Problem,
    o.DeadLetters, o.Requeued, r.Feed, r.FeedPage, r.FeedDeleted, ImportReportModel,
    r.LinkEntry, r.LinkPage, t.TagEntry, t.TagPage, t.TagsChanged,
)  # fmt: skip


def openapi_path(template: str) -> str:
    """Return a Falcon route template as an OpenAPI path (``{id:id}`` → ``{id}``)."""
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", template)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(schema: dict[str, Any], media_type: str = falcon.MEDIA_JSON) -> dict[str, Any]:
    return {"content": {media_type: {"schema": schema}}}


def _parameters(op: Operation, components: dict[str, Any]) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
        for name in re.findall(r"\{(\w+):id\}", op.template)
    ]
    if op.query is not None:
        schema = components[op.query.__name__]
        for name, prop in schema["properties"].items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in schema.get("required", ()),
                    "schema": prop,
                }
            )
    return params


def _responses(op: Operation, public: bool) -> dict[str, Any]:
    if op.template == "/metrics":
        ok = _json({"type": "string"}, "text/plain; version=0.0.4")
    elif op.response is None:
        ok = _json({"type": "object", "description": "an OpenAPI 3.1 document"})
    else:
        ok = _json(envelope_schema(_ref(op.response)))
    responses: dict[str, Any] = {str(op.status): {"description": op.summary, **ok}}
    for status in op.also:
        responses[str(status)] = {"description": f"{op.summary}: done before, updated", **ok}
    if op.status == 202:
        responses["202"]["headers"] = {
            "Location": {"description": "where to read the task", "schema": {"type": "string"}}
        }
    if op.response is o.Health:
        responses["503"] = {
            "description": "a part is down; data.checks says which",
            **_json(envelope_schema(_ref(o.Health), success=False)),
        }
    problem = _json(_ref(r.Problem), PROBLEM_JSON)
    # Every route may refuse a caller over its budget (429); guarded ones may also refuse
    # a missing token (401) or a read-only token (403).
    codes: tuple[int, ...] = (*op.errors, 429)
    if not public:
        codes = (*codes, 401, 403)
    for code in sorted(set(codes)):
        responses[str(code)] = {"description": "error (problem details)", **problem}
    responses["default"] = {"description": "unexpected error (problem details)", **problem}
    return responses


def _operation(op: Operation, components: dict[str, Any], public: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z]+', '_', op.template.lower())}".rstrip(
            "_"
        ),
        "summary": op.summary,
        "tags": [op.tag],
        "responses": _responses(op, public),
    }
    if public:
        doc["security"] = []
    parameters = _parameters(op, components)
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        doc["requestBody"] = {"required": True, **_json(_ref(op.body))}
    if op.upload:
        doc["requestBody"] = {
            "required": True,
            "description": "the export file; its format is recognised from its content",
            **_json({"type": "string", "format": "binary"}, "application/octet-stream"),
        }
    return doc


@cache
def build_document(open_templates: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Return the OpenAPI document (built once; treat it as read-only).

    ``open_templates`` are the routes whose resource answers without a token.
    """
    _, top = models_json_schema(
        [(model, "validation") for model in (*REQUEST_MODELS, *RESPONSE_MODELS)],
        ref_template=REF,
    )
    components: dict[str, Any] = top["$defs"]
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(openapi_path(op.template), {})[op.method.lower()] = _operation(
            op, components, op.template in open_templates
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Notion KB Manager gateway",
            "version": "1.0.0",
            "description": (
                "Links → parse → AI enrich → publish. Successful JSON answers are "
                '{"success": true, "data": …}; errors are application/problem+json.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


class OpenAPIResource:
    """``GET /api/openapi.json``: the document itself, not wrapped in the envelope."""

    access = Access.OPEN
    uses_database = False
    #: Set by the app once its routes are known: those whose resource is open.
    open_templates: frozenset[str] = frozenset()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer the document."""
        resp.media = build_document(self.open_templates)
