"""Fetch one HTML page (or feed) over HTTP(S) with guards on address, size, type and time.

Every request goes through the guarded client of :mod:`services.parser.transport`,
which connects only to checked public addresses. Redirects are followed here, by hand,
so that each hop is checked again; a loop or a sixth redirect ends the fetch. Failures
that may pass later raise :class:`FetchError` (or :class:`RateLimited` for a 429 with
``Retry-After``); failures that never will raise :class:`FetchRejected`, such as a
redirect to a URL the parser cannot fetch (``javascript:``, ``data:``, a malformed
one). Every message names the URL (without its ``user:password@``) and the reason in
words a user understands.

What a fetch accepts is an :class:`Accepted`: :data:`HTML` for articles, :data:`FEED`
for RSS and Atom feeds, which may also be asked conditionally (ETag, Last-Modified).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import email.utils
import re
import ssl
import time

import httpx

from services.parser.addresses import (
    BlockedAddress,
    ResolutionFailed,
    UnknownHost,
    checked_addresses,
    literal_address,
)
from services.parser.body import ACCEPT_ENCODING, read_body
from services.parser.charsets import SNIFF_BYTES, codec_name, decode_html
from services.parser.transport import (
    guarded_client,
    redirect_target,
    url_problem,
)
from shared.errors import FetchError, FetchRejected, RateLimited
from shared.redact import redact_urls
from shared.settings import Settings

MAX_REDIRECTS = 5
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Share of the stage's time limit the fetch may use, leaving the rest for extraction.
DEADLINE_SHARE = 0.8
#: Longest wait a Retry-After may impose; beyond it the server is unlikely to recover.
MAX_RETRY_AFTER = 3600.0

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# 4xx answers that invite the client to come back later.
_RETRYABLE_4XX = frozenset({408, 425, 429})
_EXPLAINED = {
    401: "the page needs a login",
    403: "the site refuses access",
    404: "the page does not exist",
    410: "the page was removed",
    451: "the page is unavailable for legal reasons",
}
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Accepted:
    """What a fetch accepts: media types, the Accept header, how an untyped body looks."""

    name: str
    types: frozenset[str]
    accept: str
    looks_right: re.Pattern[bytes]
    #: The media type of a body that had none declared but looks right.
    sniffed: str


HTML = Accepted(
    "HTML", HTML_TYPES, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1", _HTML_START, "text/html"
)
FEED = Accepted(
    "an RSS or Atom feed",
    frozenset(
        {
            "application/rss+xml",
            "application/atom+xml",
            "application/rdf+xml",
            "application/xml",
            "text/xml",
        }
    ),
    "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1",
    re.compile(rb"<(?:\?xml|rss|feed|rdf:RDF)[\s>]", re.IGNORECASE),
    "application/xml",
)


@dataclasses.dataclass(frozen=True)
class FetchedPage:
    """A page as served: the URL asked for, where it ended, and its decoded HTML.

    A conditional fetch whose resource did not change has ``status_code`` 304 and no
    body. ``raw`` keeps the bytes (an XML feed declares its own encoding).
    """

    url: str
    final_url: str
    status_code: int
    content_type: str
    html: str
    raw: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


def fetch_page(
    url: str,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    accepted: Accepted = HTML,
    headers: dict[str, str] | None = None,
) -> FetchedPage:
    """Fetch the HTML page (or what ``accepted`` says) at ``url``, following five redirects.

    ``client`` replaces the guarded HTTP client (tests pass one with a mock transport or
    an injected resolver); literal addresses in every hop's URL are still checked.
    ``headers`` are added to every request (``If-None-Match``, ``If-Modified-Since``).
    """
    deadline = time.monotonic() + settings.parsing_timeout * DEADLINE_SHARE
    allow_private = settings.fetch_allow_private
    with contextlib.ExitStack() as stack:
        http = client or stack.enter_context(guarded_client(allow_private=allow_private))
        current = url
        visited = {current}
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(current, allow_private=allow_private)
            answer = _get(http, current, settings, deadline, accepted, headers or {})
            if isinstance(answer, FetchedPage):
                return dataclasses.replace(answer, url=url)
            if answer in visited:
                raise FetchRejected(
                    f"GET {redact_urls(url)} redirects in a loop: "
                    f"{redact_urls(current)} leads back to {redact_urls(answer)}"
                )
            visited.add(answer)
            current = answer
        raise FetchRejected(
            f"GET {redact_urls(url)} redirected more than {MAX_REDIRECTS} times "
            f"(last to {redact_urls(current)})"
        )


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), has no host, or names a non-public address.

    Host names are checked when connecting (see :mod:`services.parser.transport`);
    addresses spelled in the URL are refused here already, whatever the client.
    """
    problem = url_problem(url)
    if problem is not None:
        raise FetchRejected(f"GET {redact_urls(url)} refused: {problem}")
    parsed = httpx.URL(url)
    try:
        if literal_address(parsed.host) is not None:
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            checked_addresses(parsed.host, port, allow_private=allow_private)
    except FetchRejected as ex:
        raise type(ex)(f"GET {redact_urls(url)} refused: {ex}") from ex


def _get(
    http: httpx.Client,
    url: str,
    settings: Settings,
    deadline: float,
    accepted: Accepted,
    extra_headers: dict[str, str],
) -> FetchedPage | str:
    """Send one GET; return the page, or the next URL when the answer is a redirect."""
    shown = redact_urls(url)  # what messages name: never a password
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"GET {shown} ran out of time: the fetch deadline passed during redirects")
    timeout = httpx.Timeout(
        connect=min(settings.fetch_connect_timeout, remaining),
        read=min(settings.fetch_read_timeout, remaining),
        write=min(settings.fetch_read_timeout, remaining),
        pool=min(settings.fetch_connect_timeout, remaining),
    )
    headers = {
        "User-Agent": settings.fetch_user_agent,
        "Accept": accepted.accept,
        "Accept-Encoding": ACCEPT_ENCODING,
        **extra_headers,
    }
    try:
        with http.stream(
            "GET", url, headers=headers, timeout=timeout, follow_redirects=False
        ) as response:
            if response.status_code in _REDIRECTS:
                return _location(url, response)
            validators = {
                "etag": response.headers.get("ETag"),
                "last_modified": response.headers.get("Last-Modified"),
            }
            if response.status_code == 304 and extra_headers:
                return FetchedPage(url, url, 304, "", "", **validators)
            _check_status(shown, response)
            media_type = _media_type(shown, response, accepted)
            body = read_body(
                response, url=shown, max_bytes=settings.fetch_max_bytes, deadline=deadline
            )
            charset = response.charset_encoding
            return FetchedPage(
                url=url,
                final_url=url,
                status_code=response.status_code,
                content_type=media_type or _sniff(shown, body, accepted),
                html=_decode(shown, body, charset, accepted),
                raw=body,
                **validators,
            )
    except BlockedAddress as ex:
        raise BlockedAddress(f"GET {shown} refused: {ex}") from ex
    except (UnknownHost, ResolutionFailed) as ex:
        raise type(ex)(f"GET {shown} failed: {ex}") from ex
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as ex:
        # What httpx cannot parse or speak never will be. The guarded client refuses
        # such redirects before httpx reads them, naming both URLs; other clients land here.
        raise FetchRejected(
            f"GET {shown} refused: httpx cannot fetch it ({type(ex).__name__}: {ex})"
        ) from ex
    except httpx.ConnectError as ex:
        reason = _certificate_error(ex)
        if reason:
            # A certificate that does not match or is not trusted will not fix itself.
            raise FetchRejected(
                f"GET {shown} refused: the site's TLS certificate is not valid ({reason})"
            ) from ex
        raise FetchError(f"GET {shown} failed: {type(ex).__name__}: {ex}") from ex
    except httpx.TimeoutException as ex:
        raise FetchError(
            f"GET {shown} timed out ({type(ex).__name__}; connect "
            f"{timeout.connect} s, read {timeout.read} s)"
        ) from ex
    except httpx.HTTPError as ex:
        raise FetchError(f"GET {shown} failed: {type(ex).__name__}: {ex}") from ex


def _certificate_error(error: BaseException) -> str | None:
    """Return the reason of a TLS certificate failure behind ``error``, if it is one."""
    cause: BaseException | None = error
    for _depth in range(10):  # chains are short; the bound guards against a cycle
        if cause is None:
            break
        if isinstance(cause, ssl.SSLCertVerificationError):
            return str(cause.verify_message or cause.reason or cause)
        cause = cause.__cause__ or cause.__context__
    return None


def _location(url: str, response: httpx.Response) -> str:
    """Return where a redirect leads; refuse one without a target or to an unfetchable URL."""
    location = response.headers.get("Location", "").strip()
    if not location:
        raise FetchRejected(
            f"GET {redact_urls(url)} answered HTTP {response.status_code} "
            "without saying where to go"
        )
    return redirect_target(url, location)


def _check_status(url: str, response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    message = f"GET {url} answered HTTP {status} {response.reason_phrase}".rstrip()
    if status in _EXPLAINED:
        message += f": {_EXPLAINED[status]}"
    if status == 429:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            raise RateLimited(
                f"{message}; retrying in {retry_after:.0f} s", retry_after=retry_after
            )
    if status >= 500 or status in _RETRYABLE_4XX:
        raise FetchError(message)
    raise FetchRejected(message)


def _retry_after(value: str | None) -> float | None:
    """Return the seconds a Retry-After header asks for (delay or HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        seconds = (when - datetime.datetime.now(datetime.UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _media_type(url: str, response: httpx.Response, accepted: Accepted) -> str | None:
    """Return the declared media type, None when absent; refuse types not accepted."""
    header = response.headers.get("Content-Type", "")
    media_type = header.split(";", 1)[0].strip().lower()
    if not media_type:
        return None
    if media_type not in accepted.types:
        raise FetchRejected(
            f"GET {url} answered with content type {media_type}, not {accepted.name}"
        )
    return media_type


def _sniff(url: str, body: bytes, accepted: Accepted) -> str:
    if not accepted.looks_right.search(body[:SNIFF_BYTES]):
        raise FetchRejected(
            f"GET {url} answered without a content type and the body is not {accepted.name}"
        )
    return accepted.sniffed


def _decode(url: str, body: bytes, charset: str | None, accepted: Accepted) -> str:
    # NUL bytes do not occur in HTML text, except in UTF-16, which starts with a BOM
    # or is declared: anything else with them is an image, an archive, a PDF...
    utf16 = body[:2] in (b"\xff\xfe", b"\xfe\xff") or (codec_name(charset) or "").startswith(
        "utf-16"
    )
    if not utf16 and b"\x00" in body[:1024]:
        raise FetchRejected(f"GET {url} answered binary content, not {accepted.name}")
    return decode_html(body, charset)
