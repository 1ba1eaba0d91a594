"""URL validation and normalisation: one link per article, however it was spelled."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048

#: Query parameters that only track the reader; they never change the article.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_hsenc"}
)
DEFAULT_PORTS = {"http": 80, "https": 443}
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")


class InvalidURL(ValueError):
    """A submitted URL is not an absolute http(s) URL; the message says why."""


def validate_url(url: object) -> str:
    """Return ``url`` stripped if it is an absolute http(s) URL; raise ``InvalidURL``."""
    if not isinstance(url, str):
        raise InvalidURL(f"expected a string, got {type(url).__name__}")
    url = url.strip()
    if not url:
        raise InvalidURL("is empty")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"is longer than {MAX_URL_LENGTH} characters")
    if _SPACE_OR_CONTROL.search(url):
        raise InvalidURL("contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as ex:
        raise InvalidURL(f"is malformed ({ex})") from None
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise InvalidURL(f"scheme must be http or https, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise InvalidURL("has no host")
    if "@" in parts.netloc:
        # Links are shown to read-only callers and published: a password must not be in one.
        raise InvalidURL("contains credentials (user:password@); links cannot carry them")
    if port == 0:
        raise InvalidURL("has port 0")
    return url


def normalize_url(url: str) -> str:
    """Return the canonical form of a valid URL, the key that finds an existing link.

    Lower-cases scheme and host, drops the default port, the fragment and tracking
    parameters (``utm_*``, ``fbclid``…), sorts the query and gives an empty path ``/``.
    """
    parts = urlsplit(validate_url(url))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{parts.port}"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in TRACKING_PARAMS
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))
