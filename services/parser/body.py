"""Read a response body within a size cap that applies after decompression.

The body is decompressed here, piece by piece with zlib's ``max_length``, so a small
compressed body that expands to gigabytes never takes more than the cap plus one piece
of memory. Only the encodings the parser asks for (gzip, deflate) are accepted.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator

import httpx

from shared.errors import FetchError, FetchRejected

#: What the parser sends as Accept-Encoding: exactly what :func:`read_body` decodes.
ACCEPT_ENCODING = "gzip, deflate"
# Largest piece one zlib call may produce: the memory above the cap a bomb can take.
_PIECE = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


def read_body(response: httpx.Response, *, url: str, max_bytes: int, deadline: float) -> bytes:
    """Return the decompressed body of ``response``.

    Raise :class:`FetchRejected` once the body exceeds ``max_bytes``, or when it is
    compressed in a way the parser does not decode; raise :class:`FetchError` when
    ``deadline`` (a ``time.monotonic()`` value) passes while reading, which happens at
    most one read timeout late.
    """
    too_large = f"GET {url} answered a body larger than {max_bytes} bytes"
    if response.is_stream_consumed:
        # An in-memory response (a mock transport's) arrives read and decoded by httpx.
        if len(response.content) > max_bytes:
            raise FetchRejected(too_large)
        return response.content
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    declared = response.headers.get("Content-Length", "")
    # Without compression the declared length is the final size: refuse before reading.
    if encoding == "identity" and declared.isdigit() and int(declared) > max_bytes:
        raise FetchRejected(too_large)

    def raw() -> Iterator[bytes]:
        for chunk in response.iter_raw():
            if time.monotonic() > deadline:
                raise FetchError(f"GET {url} ran out of time while reading the body")
            yield chunk

    pieces: list[bytes] = []
    size = 0
    try:
        for piece in _decoded(raw(), encoding, url):
            size += len(piece)
            if size > max_bytes:
                raise FetchRejected(too_large)
            pieces.append(piece)
    except zlib.error as ex:
        raise FetchRejected(
            f"GET {url} answered a {encoding} body that does not decompress ({ex})"
        ) from ex
    return b"".join(pieces)


def _decoded(chunks: Iterator[bytes], encoding: str, url: str) -> Iterator[bytes]:
    if encoding in ("identity", ""):
        yield from chunks
    elif encoding in ("gzip", "x-gzip"):
        yield from _inflate(chunks, 16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        yield from _inflate_deflate(chunks)
    else:
        raise FetchRejected(
            f"GET {url} answered with content encoding {encoding!r}, which was not asked for"
        )


def _inflate(chunks: Iterator[bytes], wbits: int) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits)
    for chunk in chunks:
        data = chunk
        while data:
            piece = inflater.decompress(data, _PIECE)
            if piece:
                yield piece
            if not inflater.eof:
                data = inflater.unconsumed_tail
                continue
            data = inflater.unused_data
            # Concatenated gzip members form one valid body; other trailing bytes
            # (padding, garbage) are ignored as browsers do.
            if wbits > zlib.MAX_WBITS and data.startswith(_GZIP_MAGIC):
                inflater = zlib.decompressobj(wbits)
            else:
                return
    yield inflater.flush()


def _inflate_deflate(chunks: Iterator[bytes]) -> Iterator[bytes]:
    # "deflate" means zlib-wrapped data, but some servers send raw deflate: the first
    # two bytes tell which (a zlib header is a multiple of 31 with method 8).
    first = b""
    for chunk in chunks:
        first += chunk
        if len(first) >= 2:
            break
    zlib_wrapped = (
        len(first) >= 2 and first[0] & 0x0F == 8 and ((first[0] << 8) | first[1]) % 31 == 0
    )

    def replayed() -> Iterator[bytes]:
        yield first
        yield from chunks

    yield from _inflate(replayed(), zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
