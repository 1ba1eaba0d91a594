"""URL validation and normalisation: one link per article, however it was spelled."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048

#: Query parameters that only track the reader; they never change the article.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "rb_clickid",
        "s_cid",
        "_openstat",
        "ref_src",
        "__s",
    }
)
#: Prefixes of tracking parameter families (``utm_source``, ``pk_campaign``…).
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
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
    if not parts.scheme:
        raise InvalidURL("has no scheme: write it with https:// (or http://)")
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise InvalidURL(f"scheme must be http or https, got {parts.scheme!r}")
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
        if not _is_tracking(key)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def identity_key(normalized: str) -> str:
    """Return the one key of every ``www.``/scheme variant of a normalised URL.

    ``http://www.example.com/a`` and ``https://example.com/a`` are one article wherever
    a site serves both: they share the key ``//example.com/a``. Links keep their
    fetchable normalised URL; this key is only for deciding what is already known.
    """
    rest = normalized.split(":", 1)[1] if ":" in normalized else normalized
    host = rest[2:].split("/", 1)[0].split(":", 1)[0]
    # ``www.`` is a variant prefix only in front of a registrable name (not ``www.com``).
    if host.startswith("www.") and "." in host[len("www.") :]:
        rest = "//" + rest[len("//www.") :]
    return rest


def variants(normalized: str) -> tuple[str, ...]:
    """Return the normalised URLs of every ``www.``/scheme variant of ``normalized``.

    A link stored under any of them is the same article (see :func:`identity_key`);
    an explicit port is kept as is (no default port is left after normalisation).
    """
    rest = identity_key(normalized)
    return tuple(
        f"{scheme}:{rest[:2]}{www}{rest[2:]}"
        for scheme in ("https", "http")
        for www in ("", "www.")
    )
