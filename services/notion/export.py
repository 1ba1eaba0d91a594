"""Export the knowledge base: one JSON document of every link and one Markdown file each.

The recurring ``export`` job (``RECURRING_JOBS``) runs this on the notion service, which
has the Markdown renderer. An export goes to ``EXPORT_DIR/exports/<stamp>/``:
``knowledge-base.json`` (every link as ``GET /api/links/{id}`` shows it) and
``markdown/`` (the links that were enriched, as the Markdown publisher writes them).
Files are written under temporary names and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.notion.publish import document_for
from services.notion.publishers.markdown import MarkdownPublisher
from shared.models import Content, Enrichment, Link
from shared.views import link_view

#: Links read per query.
BATCH = 200


@dataclass(frozen=True)
class ExportReport:
    """Where an export went and what it holds."""

    folder: Path
    links: int
    markdown_files: int


def export_knowledge_base(export_dir: Path, stamp: str) -> ExportReport:
    """Write the export named ``stamp`` under ``export_dir``; return what it holds."""
    folder = export_dir.expanduser().absolute() / "exports" / stamp
    folder.mkdir(parents=True, exist_ok=True)
    markdown = MarkdownPublisher(folder / "markdown")
    links = files = 0
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".knowledge-base.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write("[")
            for link in _links():
                stream.write(("," if links else "") + "\n")
                json.dump(link_view(link), stream, ensure_ascii=False)
                links += 1
                content = Content.get_or_none(Content.link == link.id)
                enrichment = Enrichment.get_or_none(Enrichment.link == link.id)
                if content is not None and enrichment is not None and content.text.strip():
                    markdown.publish(document_for(link, content, enrichment), None)
                    files += 1
            stream.write("\n]\n")
        os.replace(temp_name, folder / "knowledge-base.json")
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return ExportReport(folder, links, files)


def _links() -> Iterator[Link]:
    """Yield every link, in id order, a batch per query."""
    last = 0
    while True:
        batch = list(Link.select().where(Link.id > last).order_by(Link.id).limit(BATCH))
        if not batch:
            return
        yield from batch
        last = batch[-1].id
