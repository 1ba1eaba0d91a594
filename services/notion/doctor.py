"""The notion service's part of ``kbm doctor``: whether and where pages can be published.

``python -m services.notion.doctor`` runs it alone; its exit status is 1 on a problem.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from services.notion.properties import OPTIONAL_PROPERTIES, optional_found
from services.notion.publish import build_publisher
from services.notion.publishers.markdown import MarkdownPublisher
from services.notion.publishers.notion import NotionPublisher
from shared.errors import KbmError
from shared.settings import Settings

CHECK_SECONDS = 30.0


@dataclass(frozen=True)
class Diagnosis:
    """The outcome of the check: ``ok`` and one line per finding."""

    ok: bool
    lines: list[str]


def check_notion(settings: Settings) -> Diagnosis:
    """Check the publisher's configuration, and the Notion database's properties."""
    try:
        publisher = build_publisher(settings)
        if isinstance(publisher, MarkdownPublisher):
            return Diagnosis(
                True,
                [
                    f"publisher: markdown, writing to {publisher.export_dir} (set NOTION_TOKEN "
                    "and NOTION_DATABASE_ID to publish to Notion)"
                ],
            )
        if isinstance(publisher, NotionPublisher):
            source = publisher.data_source(deadline=time.time() + CHECK_SECONDS)
            names = publisher.names
            found = optional_found(source.properties)
            return Diagnosis(
                True,
                [
                    f"publisher: notion, database {source.database_id}, data source {source.id}",
                    "properties: every one present with its type ("
                    + ", ".join(f"{name!r}" for name in vars(names).values())
                    + ")",
                    "optional properties: "
                    + (
                        ", ".join(f"{name!r} ({OPTIONAL_PROPERTIES[name][0]})" for name in found)
                        if found
                        else "none"
                    )
                    + " found (written when the database has them: "
                    + ", ".join(f"{name} {kind}" for name, (kind, _) in OPTIONAL_PROPERTIES.items())
                    + ")",
                ],
            )
        return Diagnosis(True, [f"publisher: {publisher.name}"])
    except KbmError as ex:
        return Diagnosis(False, [f"publisher: {ex}"])


def main() -> None:
    """Print the diagnosis; exit with status 1 when something is wrong."""
    diagnosis = check_notion(Settings.from_env())
    for line in diagnosis.lines:
        print(line)
    sys.exit(0 if diagnosis.ok else 1)


if __name__ == "__main__":
    main()
