"""The interface of an export format, and the base of the CSV ones.

A format tells how sure it is that a file is its own from the file's first bytes
(:meth:`Format.detect`: 0 = not mine) and reads the whole file as a stream of
:class:`~shared.imports.records.Record` (:meth:`Format.read`), never holding it all.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

from shared.imports import source
from shared.imports.records import BadFile, Record

#: Longest CSV field read (a page's text in a note can be long).
csv.field_size_limit(10 * 1_048_576)


class Format:
    """An export format: recognised by content, read as a stream of records."""

    #: Short name shown in the report (``pocket-csv``).
    name = ""
    #: What a person calls it (``Pocket CSV export``).
    label = ""

    def detect(self, start: bytes, text: str) -> int:
        """Return how sure this format is that a file starting so is its own (0: not)."""
        raise NotImplementedError

    def read(self, raw: BinaryIO, max_bytes: int) -> Iterator[Record]:
        """Yield the file's records in order."""
        raise NotImplementedError


def header_of(text: str) -> list[str]:
    """Return the first CSV line's column names, stripped and lower-cased."""
    first = text.splitlines()[0] if text else ""
    try:
        row = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        return []
    return [name.strip().lower() for name in row]


class CsvFormat(Format):
    """A CSV export: named by its columns; ``required`` ones must all be there."""

    #: Every column the format is known by (lower case).
    columns: tuple[str, ...] = ()
    #: Columns without which nothing can be imported.
    required: tuple[str, ...] = ()

    def detect(self, start: bytes, text: str) -> int:
        """Score: this format's columns in the header (2 at least), closest fit first."""
        header = set(header_of(text))
        matches = len(header & set(self.columns))
        if "url" not in header or matches < 2:
            return 0
        # Every column of the header known: surely this format; ties go to the format
        # of which the header has the larger share.
        exact = 50 if header <= set(self.columns) else 0
        return matches * 100 + exact + (40 * matches) // len(self.columns)

    def read(self, raw: BinaryIO, max_bytes: int) -> Iterator[Record]:
        """Yield one record per CSV row (blank rows skipped)."""
        stream = source.text(raw, max_bytes)
        reader = csv.reader(stream)
        try:
            header = [name.strip().lower() for name in next(reader)]
        except StopIteration:
            raise BadFile("the file is empty") from None
        missing = [name for name in self.required if name not in header]
        if missing:
            raise BadFile(
                f"{self.label}: the header has no column {', '.join(repr(m) for m in missing)} "
                f"(found: {', '.join(header)})",
                line=1,
            )
        try:
            for values in reader:
                if not any(value.strip() for value in values):
                    continue
                row = dict(zip(header, values, strict=False))
                yield self.record(reader.line_num, row)
        except csv.Error as ex:
            raise BadFile(
                f"{self.label}: not readable as CSV ({ex})", line=reader.line_num
            ) from None

    def record(self, line: int, row: dict[str, str]) -> Record:
        """Return the record of one row (columns by lower-case name)."""
        raise NotImplementedError
