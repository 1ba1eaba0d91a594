"""Reading bodies: the cap applies after decompression, and only asked-for encodings pass."""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest

from services.parser.body import read_body
from shared.errors import FetchError, FetchRejected

URL = "http://example.test/page"
CAP = 64 * 1024
TEXT = b"<html><body>" + b"<p>Words of an article.</p>" * 200 + b"</body></html>"


def response(body: bytes | Iterator[bytes], encoding: str | None = None) -> httpx.Response:
    headers = {"Content-Encoding": encoding} if encoding else {}
    chunks = iter([body]) if isinstance(body, bytes) else body
    return httpx.Response(200, headers=headers, content=chunks)


def read(answer: httpx.Response, max_bytes: int = CAP, deadline: float = 60.0) -> bytes:
    return read_body(answer, url=URL, max_bytes=max_bytes, deadline=time.monotonic() + deadline)


def in_pieces(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some send
        ("identity", lambda data: data),
    ],
)
def test_every_encoding_asked_for_is_decoded(encoding: str, compress: object) -> None:
    assert callable(compress)

    assert read(response(in_pieces(compress(TEXT)), encoding)) == TEXT


def test_concatenated_gzip_members_are_one_body() -> None:
    body = gzip.compress(TEXT[:100]) + gzip.compress(TEXT[100:])

    assert read(response(body, "gzip")) == TEXT


@pytest.mark.parametrize(
    ("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)]
)
def test_a_compression_bomb_is_stopped_at_the_cap_without_inflating_it(
    encoding: str, compress: object
) -> None:
    # A gigabyte of spaces compresses to about a megabyte; only the cap is ever inflated.
    assert callable(compress)
    bomb = compress(b" " * (64 * 1024 * 1024))
    pieces_read = []

    def tracked() -> Iterator[bytes]:
        for piece in in_pieces(bomb, 16 * 1024):
            pieces_read.append(piece)
            yield piece

    with pytest.raises(FetchRejected, match=rf"^GET {URL} answered a body larger than {CAP}"):
        read(response(tracked(), encoding))

    assert len(pieces_read) <= 2


def test_an_encoding_that_was_not_asked_for_is_refused() -> None:
    with pytest.raises(FetchRejected, match=r"content encoding 'br', which was not asked for"):
        read(response(b"\x1b\x00", "br"))


def test_a_corrupt_compressed_body_is_refused() -> None:
    with pytest.raises(FetchRejected, match=r"answered a gzip body that does not decompress"):
        read(response(b"\x1f\x8b\x08\x00garbage-not-deflate", "gzip"))


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    consumed = []

    def body() -> Iterator[bytes]:
        consumed.append(True)
        yield b"x"

    answer = httpx.Response(200, headers={"Content-Length": str(CAP + 1)}, content=body())

    with pytest.raises(FetchRejected, match=r"larger than"):
        read(answer)
    assert consumed == []


def test_the_deadline_stops_a_body_between_pieces() -> None:
    def slow() -> Iterator[bytes]:
        for _ in range(10):
            time.sleep(0.05)
            yield b"x" * 10

    with pytest.raises(FetchError, match=rf"^GET {URL} ran out of time while reading the body"):
        read(response(slow()), deadline=0.12)
