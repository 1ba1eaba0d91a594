"""Fetch one HTML page over HTTP(S) with guards on address, size, type and time.

Redirects are followed by hand so that every hop's address is checked again.
Failures that may pass later raise :class:`FetchError`; failures that never will
raise :class:`FetchRejected`. Every message names the URL and the reason.
"""

from __future__ import annotations

import codecs
import dataclasses
import ipaddress
import re
import socket
import time
from urllib.parse import urljoin

import httpx

from shared.errors import FetchError, FetchRejected
from shared.settings import Settings

MAX_REDIRECTS = 5
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Share of the stage's time limit the fetch may use, leaving the rest for extraction.
DEADLINE_SHARE = 0.8

_CLOUD_METADATA = ipaddress.ip_address("169.254.169.254")
# 408 and 429 are the 4xx answers that invite the client to come back later.
_RETRYABLE_4XX = frozenset({408, 429})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# How far into the body to look for "<html" or "<meta charset". The HTML spec's prescan
# stops at 1024 bytes, but real pages often declare the charset after long inline scripts.
_SNIFF_BYTES = 16 * 1024


@dataclasses.dataclass(frozen=True)
class FetchedPage:
    """A page as served: the URL asked for, where it ended, and its decoded HTML."""

    url: str
    final_url: str
    status_code: int
    content_type: str
    html: str


def fetch_page(url: str, settings: Settings, *, client: httpx.Client | None = None) -> FetchedPage:
    """Fetch the HTML page at ``url``, following at most five redirects.

    ``client`` replaces the real HTTP client (tests pass one with a mock transport).
    """
    deadline = time.monotonic() + settings.parsing_timeout * DEADLINE_SHARE
    own_client = client is None
    # trust_env=False: proxy variables must not route the fetch around the address guard.
    http = client or httpx.Client(trust_env=False)
    try:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            _check_url(current, settings.fetch_allow_private)
            answer = _get(http, current, settings, deadline)
            if isinstance(answer, FetchedPage):
                return dataclasses.replace(answer, url=url)
            current = answer
        raise FetchRejected(
            f"GET {url} redirected more than {MAX_REDIRECTS} times (last to {current})"
        )
    finally:
        if own_client:
            http.close()


def check_address(host: str, port: int, allow_private: bool) -> None:
    """Refuse a host that resolves to an address that is not publicly routable.

    A basic guard: the address is resolved again when connecting, so DNS rebinding
    is not covered. Raise :class:`FetchRejected` naming the address, or
    :class:`FetchError` when the name does not resolve.
    """
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as ex:
        raise FetchError(f"cannot resolve host {host}: {ex}") from ex
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast or address == _CLOUD_METADATA:
            raise FetchRejected(f"host {host} resolves to {address}, which is not a public address")


def _check_url(url: str, allow_private: bool) -> None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as ex:
        raise FetchRejected(f"GET {url} refused: malformed URL ({ex})") from ex
    if parsed.scheme not in ("http", "https"):
        raise FetchRejected(f"GET {url} refused: scheme {parsed.scheme!r} is not http or https")
    if not parsed.host:
        raise FetchRejected(f"GET {url} refused: the URL has no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        check_address(parsed.host, port, allow_private)
    except FetchRejected as ex:
        raise FetchRejected(f"GET {url} refused: {ex}") from ex
    except FetchError as ex:
        raise FetchError(f"GET {url} failed: {ex}") from ex


def _get(http: httpx.Client, url: str, settings: Settings, deadline: float) -> FetchedPage | str:
    """Send one GET; return the page, or the next URL when the answer is a redirect."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"GET {url} ran out of time: the fetch deadline passed during redirects")
    timeout = httpx.Timeout(
        connect=min(settings.fetch_connect_timeout, remaining),
        read=min(settings.fetch_read_timeout, remaining),
        write=min(settings.fetch_read_timeout, remaining),
        pool=min(settings.fetch_connect_timeout, remaining),
    )
    try:
        with http.stream(
            "GET",
            url,
            headers={
                "User-Agent": settings.fetch_user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
            },
            timeout=timeout,
            follow_redirects=False,
        ) as response:
            if response.is_redirect:
                return urljoin(url, response.headers["Location"])
            _check_status(url, response)
            media_type = _media_type(url, response)
            body = _read_capped(url, response, settings.fetch_max_bytes, deadline)
            if media_type is None:
                if b"<html" not in body[:_SNIFF_BYTES].lower():
                    raise FetchRejected(
                        f"GET {url} answered without a content type and the body is not HTML"
                    )
                media_type = "text/html"
            return FetchedPage(
                url=url,
                final_url=url,
                status_code=response.status_code,
                content_type=media_type,
                html=_decode(body, response.charset_encoding),
            )
    except httpx.TimeoutException as ex:
        raise FetchError(
            f"GET {url} timed out ({type(ex).__name__}; connect "
            f"{timeout.connect} s, read {timeout.read} s)"
        ) from ex
    except httpx.HTTPError as ex:
        raise FetchError(f"GET {url} failed: {type(ex).__name__}: {ex}") from ex


def _check_status(url: str, response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    message = f"GET {url} answered HTTP {status} {response.reason_phrase}".rstrip()
    if status >= 500 or status in _RETRYABLE_4XX:
        raise FetchError(message)
    raise FetchRejected(message)


def _media_type(url: str, response: httpx.Response) -> str | None:
    """Return the declared media type, None when absent; refuse types that are not HTML."""
    header = response.headers.get("Content-Type", "")
    media_type = header.split(";", 1)[0].strip().lower()
    if not media_type:
        return None
    if media_type not in HTML_TYPES:
        raise FetchRejected(f"GET {url} answered with content type {media_type}, not HTML")
    return media_type


def _read_capped(url: str, response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    """Read the decompressed body, failing as soon as it exceeds ``max_bytes``.

    The deadline is checked between reads, so a fetch ends at most one read timeout
    after it.
    """
    too_large = f"GET {url} answered a body larger than {max_bytes} bytes"
    declared = response.headers.get("Content-Length", "")
    # Without compression the declared length is the final size: refuse before reading.
    if (
        declared.isdigit()
        and int(declared) > max_bytes
        and "Content-Encoding" not in response.headers
    ):
        raise FetchRejected(too_large)
    chunks: list[bytes] = []
    size = 0
    # iter_bytes yields decompressed data, so a small gzip body that expands is caught too.
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchRejected(too_large)
        if time.monotonic() > deadline:
            raise FetchError(f"GET {url} ran out of time while reading the body")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(body: bytes, header_charset: str | None) -> str:
    """Decode with the header's charset, else the page's <meta charset>, else UTF-8."""
    if body.startswith(codecs.BOM_UTF8):
        return body.decode("utf-8-sig", errors="replace")
    meta = _META_CHARSET.search(body[:_SNIFF_BYTES])
    for charset in (header_charset, meta.group(1).decode("ascii") if meta else None):
        if charset:
            try:
                return body.decode(codecs.lookup(charset).name, errors="replace")
            except LookupError:
                continue
    return body.decode("utf-8", errors="replace")
