"""The fidelity report of an import: what became of every row of the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Refusals and warnings listed one by one at most (the counts are always exact).
MAX_LISTED = 1000


@dataclass
class ImportReport:
    """Counts of an import; ``rows_read`` is the sum of the row outcomes.

    Each row is exactly one of: a new link, a link already known (the same normalised
    URL), merged by normalisation (a ``www.``/scheme variant or redirect of a known
    link, or another spelling of a URL earlier in the file), a duplicate row (the same
    URL again), refused, or a feed (OPML).
    """

    format: str
    label: str
    dry_run: bool = False
    rows_read: int = 0
    links_new: int = 0
    already_known: int = 0
    merged_by_normalisation: int = 0
    duplicate_rows: int = 0
    refused: int = 0
    feeds_subscribed: int = 0
    feeds_known: int = 0
    #: Links whose kept metadata (title, tags, status…) this import added to or changed.
    links_updated: int = 0
    items_queued: int = 0
    task_id: int | None = None
    status: str = "nothing to do"
    refusals: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, row: int, url: str, reason: str) -> None:
        """Count a refused row and keep the first ``MAX_LISTED`` of them."""
        self.refused += 1
        if len(self.refusals) < MAX_LISTED:
            self.refusals.append({"row": row, "url": url[:300], "reason": reason})

    def warn(self, row: int, message: str) -> None:
        """Keep a warning about a row whose link was kept with less than it had."""
        if len(self.warnings) < MAX_LISTED:
            self.warnings.append({"row": row, "warning": message})

    def as_dict(self) -> dict[str, Any]:
        """Return the report as the API, the CLI and the dashboard show it."""
        return {
            "format": self.format,
            "format_label": self.label,
            "dry_run": self.dry_run,
            "task_id": self.task_id,
            "status": self.status,
            "total_items": self.items_queued,
            "rows_read": self.rows_read,
            "links_new": self.links_new,
            "already_known": self.already_known,
            "merged_by_normalisation": self.merged_by_normalisation,
            "duplicate_rows": self.duplicate_rows,
            "refused": self.refused,
            "feeds_subscribed": self.feeds_subscribed,
            "feeds_known": self.feeds_known,
            "links_updated": self.links_updated,
            "items_queued": self.items_queued,
            "refusals": self.refusals,
            "refusals_listed": len(self.refusals),
            "warnings": self.warnings,
        }
