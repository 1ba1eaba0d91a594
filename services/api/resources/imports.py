"""``POST /api/imports``: a library export as the request body → one task and its report.

The body is the export file itself (any content type: CSV, HTML, JSON, OPML, zip or a
list of URLs); its format is recognised from its content. It is copied to a spooled
temporary file (memory up to ``SPOOL_IN_MEMORY``, disk beyond) and read from there as a
stream, so a file of a hundred thousand links never sits in memory as objects. The
answer is the fidelity report, given once the links and the task's items are written
and before any link is processed: ``202`` with the task to follow, or ``200`` when
there was nothing new to do (or ``dry_run``).
"""

from __future__ import annotations

import tempfile
from typing import Any, Literal

import falcon
from pydantic import BaseModel, Field

from services.api.auth import Access, principal_of
from services.api.body import too_large
from services.api.envelope import reply
from services.api.schemas import Strict, validate_query
from shared.imports.create import Importer, ImportOptions
from shared.imports.detect import BY_NAME
from shared.imports.records import FileTooLarge

IMPORTS_PATH = "/api/imports"
#: Bytes of an upload kept in memory before it is spooled to disk.
SPOOL_IN_MEMORY = 1_048_576
CHUNK = 256 * 1024


class ImportQuery(Strict):
    """``POST /api/imports`` query string."""

    dry_run: bool = Field(False, description="report what would be imported; import nothing")
    stages: str | None = Field(
        None, description="comma-separated stages to run (default: parse,enrich,publish)"
    )
    priority: Literal["high", "normal", "low"] = "normal"
    format: str | None = Field(
        None,
        description="skip recognition and read the file as this format",
        json_schema_extra={"enum": list(BY_NAME)},
    )


class Refusal(BaseModel):
    """A row that was not imported."""

    row: int
    url: str
    reason: str


class ImportReportModel(BaseModel):
    """The fidelity report of an import: each row is one of the row outcomes."""

    format: str
    format_label: str
    dry_run: bool
    task_id: int | None
    status: str
    total_items: int
    rows_read: int
    links_new: int
    already_known: int
    merged_by_normalisation: int
    duplicate_rows: int
    refused: int
    feeds_subscribed: int
    feeds_known: int
    links_updated: int
    items_queued: int
    refusals: list[Refusal]
    refusals_listed: int
    warnings: list[dict[str, Any]]


class ImportsResource:
    """``POST /api/imports``: needs the full token (it creates work)."""

    access = Access.FULL

    def __init__(self, importer: Importer, max_bytes: int) -> None:
        self.importer = importer
        self.max_bytes = max_bytes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Import the body; answer the fidelity report."""
        query = validate_query(ImportQuery, req.params)
        stages = [s.strip() for s in query.stages.split(",") if s.strip()] if query.stages else None
        options = ImportOptions(
            stages=stages,
            priority=query.priority,
            owner=principal_of(req).name,
            dry_run=query.dry_run,
            max_bytes=self.max_bytes,
            format=query.format,
        )
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            self._spool(req, spool)
            try:
                report = self.importer.run(spool, options)  # type: ignore[arg-type]
            except FileTooLarge as ex:
                raise too_large(ex.limit) from None
        data = report.as_dict()
        if report.task_id is not None and not report.dry_run:
            reply(resp, data, 202, location=f"/api/tasks/history/{report.task_id}")
        else:
            reply(resp, data, 200)

    def _spool(self, req: falcon.Request, spool: Any) -> None:
        size = 0
        while chunk := req.bounded_stream.read(CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                raise too_large(self.max_bytes)
            spool.write(chunk)
        spool.seek(0)
