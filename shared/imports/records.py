"""What every format reads: one :class:`Record` per saved link, and the errors of a bad file.

A format yields records in file order with the row (or line) they came from; the writer
(:mod:`shared.imports.create`) decides what becomes of each. Values a format cannot read
(a date in no known form) are dropped with a warning rather than losing the link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.errors import InvalidRequest

#: Read statuses, from least to most advanced: a merge keeps the most advanced one.
READ_STATUSES = ("unread", "read", "archived")
#: Longest text kept of a title, a note, a folder or a tag.
MAX_TITLE = 1000
MAX_NOTE = 20_000
MAX_TAG = 100
MAX_TAGS = 50
MAX_HIGHLIGHTS = 200


class BadFile(InvalidRequest):
    """The file cannot be imported; the message names the line or row and why."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        where = f"line {line}: " if line is not None else ""
        super().__init__("file", where + message)
        self.line = line


class FileTooLarge(BadFile):
    """The file is over the import size limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the file is larger than the import limit of {limit // 1_048_576} MB "
            f"({limit} bytes, IMPORT_MAX_BYTES); split it and import the parts"
        )
        self.limit = limit


@dataclass
class Record:
    """One saved link as an export holds it; ``row`` is its row or line number."""

    row: int
    url: str
    title: str | None = None
    tags: list[str] = field(default_factory=list)
    saved_at: datetime | None = None
    read_status: str | None = None
    favourite: bool | None = None
    note: str | None = None
    highlights: list[dict[str, Any]] = field(default_factory=list)
    folder: str | None = None
    #: An OPML outline: a feed to subscribe to, not a link.
    is_feed: bool = False
    #: What could not be read and was dropped (the link itself is kept).
    warnings: list[str] = field(default_factory=list)
    #: Why the entry cannot be imported, when the format already knows (a text note).
    refused: str | None = None


def clean_text(value: object, limit: int = MAX_TITLE) -> str | None:
    """Return ``value`` stripped and cut to ``limit`` characters, or None when empty."""
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()
    return text[:limit] if text else None


def clean_tags(values: object) -> list[str]:
    """Return tags stripped, cut, without repeats (case-insensitively), at most ``MAX_TAGS``."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)  # type: ignore[call-overload]
    tags: list[str] = []
    seen: set[str] = set()
    for item in items:
        tag = clean_text(item, MAX_TAG)
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags[:MAX_TAGS]


def split_tags(text: str | None, separator: str = ",") -> list[str]:
    """Return the tags of ``a, b , c`` (or another separator)."""
    if not text:
        return []
    return clean_tags(part for part in text.split(separator))


_DIGITS = re.compile(r"-?\d+(\.\d+)?\Z")


def parse_date(value: object) -> datetime | None:
    """Return a saved date as naive UTC: epoch seconds or milliseconds, or ISO 8601.

    A time without a zone is taken as UTC. Raise ``ValueError`` when it is neither.
    """
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        if not _DIGITS.match(text):
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            return moment
        number = float(text)
    if number > 1e11:  # milliseconds
        number /= 1000
    if number <= 0:
        return None
    return datetime.fromtimestamp(number, UTC).replace(tzinfo=None)


def set_date(record: Record, value: object) -> None:
    """Set the record's saved date from ``value``, or note that it could not be read."""
    try:
        record.saved_at = parse_date(value)
    except (ValueError, OverflowError, OSError):
        record.warnings.append(f"date {str(value)[:40]!r} not understood; kept without it")


def truthy(value: object) -> bool | None:
    """Return a flag written as true/false, 1/0, yes/no; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "1", "yes", "y", "t"}
