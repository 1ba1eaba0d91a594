"""Bad files get one clear error naming the line, never a traceback, and leave nothing."""

from __future__ import annotations

import io
import zipfile

import pytest

from shared.imports.create import Importer, ImportOptions
from shared.imports.records import BadFile, FileTooLarge
from shared.models import Link, Task


def _error(importer: Importer, data: bytes, **options: object) -> str:
    with pytest.raises(BadFile) as caught:
        importer.run(io.BytesIO(data), ImportOptions(**options))  # type: ignore[arg-type]
    assert (Link.select().count(), Task.select().count()) == (0, 0)
    return str(caught.value)


def test_an_empty_file(importer: Importer) -> None:
    assert "empty" in _error(importer, b"")
    assert "empty" in _error(importer, b"\xef\xbb\xbf  \n\n")


def test_a_file_of_another_format(importer: Importer) -> None:
    message = _error(importer, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    assert "not an export kbm can read" in message
    assert "Pocket CSV export" in message
    message = _error(importer, b"Dear diary,\ntoday I saved nothing.\n")
    assert "'Dear diary,'" in message


def test_a_csv_missing_a_column_names_it(importer: Importer) -> None:
    message = _error(importer, b"title,url,tags\nA,https://example.org/a,x\n")
    assert "line 1" in message
    assert "'time_added'" in message and "'status'" in message


def test_invalid_utf8_names_its_line(importer: Importer) -> None:
    rows = b"".join(b"T%d,https://example.org/%d,1600000000,,unread\n" % (n, n) for n in range(50))
    data = (
        b"title,url,time_added,tags,status\n" + rows + b"Caf\xe9,https://example.org/x,1,,unread\n"
    )
    message = _error(importer, data)
    assert "line 52" in message
    assert "UTF-8" in message


def test_invalid_utf8_in_html(importer: Importer) -> None:
    data = (
        b"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n"
        b'<DT><A HREF="https://example.org/a">ok</A>\n<DT><A HREF="https://example.org/b">\xff</A>\n'
    )
    assert "line 4" in _error(importer, data)


def test_a_file_over_the_limit(importer: Importer) -> None:
    data = b"https://example.org/a\n" * 1000
    with pytest.raises(FileTooLarge) as caught:
        importer.run(io.BytesIO(data), ImportOptions(max_bytes=4096))
    assert "IMPORT_MAX_BYTES" in str(caught.value)
    assert Link.select().count() == 0


def test_broken_json_and_xml(importer: Importer) -> None:
    assert "not valid JSON" in _error(
        importer, b'{"bookmarks": [{"content": {"url": "https://a.b/"}'
    )
    assert "not well-formed XML" in _error(importer, b"<opml><body><outline xmlUrl='x'></body>")


def test_a_zip_without_metadata(importer: Importer) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "no metadata_*.json" in _error(importer, buffer.getvalue())


def test_an_unknown_forced_format(importer: Importer) -> None:
    assert "unknown format" in _error(importer, b"https://example.org/\n", format="word")


def test_a_corrupt_zip_member(importer: Importer) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata_0_to_1.json", '[{"url": "https://example.org/a"}]' * 50)
    data = bytearray(buffer.getvalue())
    data[60:70] = b"\x00" * 10  # inside the compressed member
    message = _error(importer, bytes(data))
    assert "metadata_0_to_1.json" in message or "not a readable zip" in message
