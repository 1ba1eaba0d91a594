"""Reading an export: bounded in size, checked as UTF-8 line by line, read incrementally.

:class:`CheckedStream` sits between the file and a parser (csv, lxml, ijson): it passes
the bytes on as the parser asks for them, decoding them on the way, so invalid UTF-8 is
refused with the line it is on, and a file over the limit is refused once the limit is
passed, whatever its announced size.
"""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

from shared.imports.records import BadFile, FileTooLarge

#: How much of the start of a file its format is recognised from.
HEAD_BYTES = 64 * 1024
CHUNK = 64 * 1024
#: Default import size limit (IMPORT_MAX_BYTES).
DEFAULT_MAX_BYTES = 256 * 1_048_576


class CheckedStream(io.RawIOBase):
    """A readable byte stream that refuses invalid UTF-8 (naming the line) and excess size."""

    def __init__(self, raw: BinaryIO, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__()
        self.raw = raw
        self.max_bytes = max_bytes
        self.total = 0
        self.lines = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")

    def readable(self) -> bool:
        """Tell that this stream is read."""
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Read the next chunk into ``buffer``, checking it first."""
        data = self.raw.read(min(len(buffer), CHUNK))
        self.total += len(data)
        if self.total > self.max_bytes:
            raise FileTooLarge(self.max_bytes)
        try:
            self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as ex:
            line = self.lines + data[: max(ex.start, 0)].count(b"\n") + 1
            raise BadFile("is not valid UTF-8 text (save the export as UTF-8)", line=line) from None
        self.lines += data.count(b"\n")
        buffer[: len(data)] = data
        return len(data)


def checked(raw: BinaryIO, max_bytes: int = DEFAULT_MAX_BYTES) -> io.BufferedReader:
    """Return ``raw`` as a buffered, checked stream."""
    return io.BufferedReader(CheckedStream(raw, max_bytes=max_bytes), buffer_size=CHUNK)


def text(raw: BinaryIO, max_bytes: int = DEFAULT_MAX_BYTES) -> io.TextIOWrapper:
    """Return ``raw`` as checked UTF-8 text (a leading byte order mark dropped)."""
    return io.TextIOWrapper(checked(raw, max_bytes), encoding="utf-8-sig", newline="")


def head(raw: BinaryIO, size: int = HEAD_BYTES) -> bytes:
    """Return the first ``size`` bytes of a seekable stream, leaving it at its start."""
    raw.seek(0)
    start = raw.read(size)
    raw.seek(0)
    return start


def head_text(start: bytes) -> str:
    """Return the start of a file as text for recognising its format (BOM dropped)."""
    return start.decode("utf-8", "replace").lstrip("\ufeff")
