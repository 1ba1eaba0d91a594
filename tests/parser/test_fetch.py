"""Fetching pages: real loopback servers for behaviour, a mock transport for decoding.

The SSRF matrix is in ``test_fetch_ssrf.py``; the address policy in ``test_addresses.py``.
"""

from __future__ import annotations

import datetime
import email.utils
import gzip
import time
import zlib
from typing import Any

import httpx
import pytest

from services.parser.addresses import UnknownHost
from services.parser.fetch import fetch_page
from services.parser.transport import GuardedBackend, guarded_client
from shared.errors import FetchError, FetchRejected, RateLimited
from shared.settings import Settings
from tests.parser.conftest import FakeDNS, LoopbackSite

PAGE = "<!doctype html><html><head><title>Hello</title></head><body><p>Bonjour</p></body></html>"
CAP = 64 * 1024


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "fetch_allow_private": True,
        "fetch_max_bytes": CAP,
        "fetch_connect_timeout": 2.0,
        "fetch_read_timeout": 2.0,
        "parsing_timeout": 10.0,
    }
    return Settings.from_env(**(values | overrides))


def test_a_normal_page_is_fetched_and_decoded(site: LoopbackSite) -> None:
    url = site.add("/article", PAGE)

    page = fetch_page(url, make_settings())

    assert page.url == page.final_url == url
    assert page.status_code == 200
    assert page.content_type == "text/html"
    assert page.html == PAGE


def test_the_user_agent_from_settings_is_sent() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["User-Agent"])
        return httpx.Response(200, headers={"Content-Type": "text/html"}, content=b"<html></html>")

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        fetch_page(
            "http://example.test/", make_settings(fetch_user_agent="KbmTest/1"), client=client
        )

    assert seen == ["KbmTest/1"]


def test_five_redirects_are_followed_to_the_final_url(site: LoopbackSite) -> None:
    final = site.add("/hop/0", PAGE)
    for hop in range(1, 6):
        # Relative and absolute locations both occur in the wild.
        target = f"/hop/{hop - 1}" if hop % 2 else site.url(f"/hop/{hop - 1}")
        site.add(f"/hop/{hop}", status=302, headers={"Location": target})

    page = fetch_page(site.url("/hop/5"), make_settings())

    assert page.url == site.url("/hop/5")
    assert page.final_url == final
    assert page.html == PAGE


def test_a_sixth_redirect_in_a_row_is_rejected(site: LoopbackSite) -> None:
    site.add("/hop/0", PAGE)
    for hop in range(1, 7):
        site.add(f"/hop/{hop}", status=301, headers={"Location": f"/hop/{hop - 1}"})

    with pytest.raises(FetchRejected, match=r"redirected more than 5 times") as caught:
        fetch_page(site.url("/hop/6"), make_settings())

    assert site.url("/hop/6") in str(caught.value)
    assert "/hop/0" not in site.hits


def test_a_redirect_to_another_scheme_is_rejected_at_that_hop(site: LoopbackSite) -> None:
    site.add("/away", status=302, headers={"Location": "ftp://127.0.0.1/file"})

    with pytest.raises(FetchRejected, match=r"GET ftp://127.0.0.1/file refused: scheme 'ftp'"):
        fetch_page(site.url("/away"), make_settings())


def test_a_server_error_is_retryable_and_named(site: LoopbackSite) -> None:
    url = site.add("/broken", "oops", status=500)

    with pytest.raises(FetchError) as caught:
        fetch_page(url, make_settings())

    assert str(caught.value) == f"GET {url} answered HTTP 500 Internal Server Error"


@pytest.mark.parametrize("status", [408, 429, 503])
def test_busy_or_unavailable_answers_are_retryable(site: LoopbackSite, status: int) -> None:
    url = site.add("/busy", status=status)

    with pytest.raises(FetchError, match=rf"answered HTTP {status}"):
        fetch_page(url, make_settings())


def test_a_missing_page_is_rejected_for_good(site: LoopbackSite) -> None:
    url = site.url("/nowhere")

    with pytest.raises(FetchRejected) as caught:
        fetch_page(url, make_settings())

    assert not isinstance(caught.value, FetchError)
    assert str(caught.value) == f"GET {url} answered HTTP 404 Not Found: the page does not exist"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (410, "Gone: the page was removed"),
        (403, "Forbidden: the site refuses access"),
        (400, "Bad Request"),
    ],
)
def test_client_errors_are_rejected_for_good_with_a_reason(
    site: LoopbackSite, status: int, reason: str
) -> None:
    url = site.add("/x", status=status)

    with pytest.raises(FetchRejected) as caught:
        fetch_page(url, make_settings())

    assert str(caught.value) == f"GET {url} answered HTTP {status} {reason}"


def test_a_body_over_the_cap_is_rejected(site: LoopbackSite) -> None:
    url = site.add("/huge", b"<html>" + b"a" * CAP)

    with pytest.raises(FetchRejected, match=rf"GET {url} answered a body larger than {CAP} bytes"):
        fetch_page(url, make_settings())


def test_a_body_over_the_cap_without_a_length_is_cut_off_while_streaming(
    site: LoopbackSite,
) -> None:
    url = site.add("/endless", b"<html>" + b"a" * (CAP * 4), content_length=False)

    with pytest.raises(FetchRejected, match=r"larger than"):
        fetch_page(url, make_settings())


def test_a_small_gzip_body_that_expands_beyond_the_cap_is_rejected(site: LoopbackSite) -> None:
    bomb = gzip.compress(b"<html>" + b" " * (CAP * 50))
    assert len(bomb) < CAP
    url = site.add(
        "/bomb",
        bomb,
        headers={"Content-Type": "text/html", "Content-Encoding": "gzip"},
    )

    with pytest.raises(FetchRejected, match=rf"GET {url} answered a body larger than {CAP}"):
        fetch_page(url, make_settings())


def test_a_gzip_body_within_the_cap_is_decompressed(site: LoopbackSite) -> None:
    url = site.add(
        "/small.gz",
        gzip.compress(PAGE.encode()),
        headers={"Content-Type": "text/html", "Content-Encoding": "gzip"},
    )

    assert fetch_page(url, make_settings()).html == PAGE


def test_a_page_that_is_not_html_is_rejected_naming_its_type(site: LoopbackSite) -> None:
    url = site.add("/paper.pdf", b"%PDF-1.7", headers={"Content-Type": "application/pdf"})

    with pytest.raises(FetchRejected) as caught:
        fetch_page(url, make_settings())

    assert str(caught.value) == f"GET {url} answered with content type application/pdf, not HTML"


def test_xhtml_is_accepted(site: LoopbackSite) -> None:
    url = site.add("/x", PAGE, headers={"Content-Type": "application/xhtml+xml"})

    assert fetch_page(url, make_settings()).content_type == "application/xhtml+xml"


def test_a_page_without_content_type_is_sniffed(site: LoopbackSite) -> None:
    html_url = site.add("/untyped", PAGE, headers={})
    text_url = site.add("/notes", "just some words", headers={})

    assert fetch_page(html_url, make_settings()).content_type == "text/html"
    with pytest.raises(FetchRejected, match=r"without a content type and the body is not HTML"):
        fetch_page(text_url, make_settings())


def test_a_server_slower_than_the_read_timeout_is_retryable(site: LoopbackSite) -> None:
    url = site.add("/slow", PAGE, delay=1.5)

    with pytest.raises(FetchError, match=rf"GET {url} timed out \(ReadTimeout"):
        fetch_page(url, make_settings(fetch_read_timeout=0.3))


def test_a_trickling_body_is_stopped_at_the_total_deadline(site: LoopbackSite) -> None:
    # Each byte arrives well within the read timeout, but the whole body would take 4 s.
    url = site.add("/trickle", PAGE[:40], trickle=0.1)

    with pytest.raises(FetchError, match=rf"GET {url} ran out of time while reading"):
        fetch_page(url, make_settings(fetch_read_timeout=1.0, parsing_timeout=1.0))


def test_a_refused_connection_is_retryable() -> None:
    with pytest.raises(FetchError, match=r"GET http://127.0.0.1:1/ failed: ConnectError"):
        fetch_page("http://127.0.0.1:1/", make_settings())


def test_a_private_address_is_refused_unless_allowed(site: LoopbackSite) -> None:
    url = site.add("/internal", PAGE)

    with pytest.raises(FetchRejected) as caught:
        fetch_page(url, make_settings(fetch_allow_private=False))

    assert str(caught.value) == (
        f"GET {url} refused: host 127.0.0.1 resolves to 127.0.0.1 (loopback), "
        "which is not a public address; FETCH_ALLOW_PRIVATE=1 allows private addresses "
        "(for local pages only)"
    )
    assert site.hits == []
    assert fetch_page(url, make_settings(fetch_allow_private=True)).html == PAGE


def test_the_ftp_scheme_is_refused() -> None:
    with pytest.raises(FetchRejected, match=r"GET ftp://example.com/a refused: scheme 'ftp'"):
        fetch_page("ftp://example.com/a", make_settings())


def serve(content: bytes, content_type: str) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": content_type}, content=content)

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_the_header_charset_decides_the_decoding() -> None:
    body = "<html><p>Привет</p></html>".encode("cp1251")

    with serve(body, "text/html; charset=windows-1251") as client:
        page = fetch_page("http://example.test/", make_settings(), client=client)

    assert "Привет" in page.html


def test_the_meta_charset_is_used_when_the_header_names_none() -> None:
    body = '<html><head><meta charset="iso-8859-1"></head><p>café</p></html>'.encode("latin-1")

    with serve(body, "text/html") as client:
        page = fetch_page("http://example.test/", make_settings(), client=client)

    assert "café" in page.html


def test_the_http_equiv_charset_is_used_when_the_header_names_none() -> None:
    body = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
        "</head><p>Мир</p></html>"
    ).encode("koi8-r")

    with serve(body, "text/html") as client:
        page = fetch_page("http://example.test/", make_settings(), client=client)

    assert "Мир" in page.html


def test_undeclared_utf8_with_a_stray_byte_stays_utf8() -> None:
    with serve("<html>naïve café déjà</html>".encode() + b"\xe9", "text/html") as client:
        page = fetch_page("http://example.test/", make_settings(), client=client)

    assert page.html == "<html>naïve café déjà</html>é"


def test_an_unknown_header_charset_falls_back_to_the_meta_charset() -> None:
    body = '<html><meta charset="utf-8"><p>žluť</p></html>'.encode()

    with serve(body, "text/html; charset=no-such-charset") as client:
        page = fetch_page("http://example.test/", make_settings(), client=client)

    assert "žluť" in page.html


def test_every_redirect_hop_is_checked_against_the_address_guard() -> None:
    # The first host is a public literal (no DNS needed); the redirect points inside.
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})

    with (
        httpx.Client(transport=httpx.MockTransport(answer)) as client,
        pytest.raises(
            FetchRejected, match=r"GET http://127.0.0.1/admin refused: host 127.0.0.1 resolves to"
        ),
    ):
        fetch_page("http://93.184.215.14/", make_settings(fetch_allow_private=False), client=client)


def test_a_meta_charset_after_long_inline_scripts_is_found() -> None:
    script = "<script>" + "var x = 1;" * 300 + "</script>"
    body = f'<html><head>{script}<meta charset="windows-1252"></head><p>déjà</p></html>'

    with serve(body.encode("cp1252"), "text/html") as client:
        page = fetch_page("http://example.test/", make_settings(), client=client)

    assert "déjà" in page.html


def test_a_redirect_loop_is_rejected_as_soon_as_it_closes(site: LoopbackSite) -> None:
    site.add("/a", status=302, headers={"Location": "/b"})
    site.add("/b", status=301, headers={"Location": "/a"})

    with pytest.raises(FetchRejected) as caught:
        fetch_page(site.url("/a"), make_settings())

    assert str(caught.value) == (
        f"GET {site.url('/a')} redirects in a loop: {site.url('/b')} leads back to {site.url('/a')}"
    )
    assert site.hits == ["/a", "/b"]


def test_a_redirect_without_a_location_is_rejected(site: LoopbackSite) -> None:
    url = site.add("/nowhere", status=302, headers={})

    with pytest.raises(FetchRejected, match=r"answered HTTP 302 without saying where to go"):
        fetch_page(url, make_settings())


@pytest.mark.parametrize("retry_after", ["7", "in-date-form"])
def test_a_429_with_retry_after_asks_for_that_wait(site: LoopbackSite, retry_after: str) -> None:
    if retry_after == "in-date-form":
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=8)
        retry_after = email.utils.format_datetime(later, usegmt=True)
    url = site.add("/busy", status=429, headers={"Retry-After": retry_after})

    with pytest.raises(RateLimited) as caught:
        fetch_page(url, make_settings())

    assert 5 <= caught.value.retry_after <= 8
    assert str(caught.value).startswith(
        f"GET {url} answered HTTP 429 Too Many Requests; retrying in"
    )


def test_a_retry_after_of_days_is_capped_at_an_hour(site: LoopbackSite) -> None:
    url = site.add("/busy", status=429, headers={"Retry-After": str(5 * 86400)})

    with pytest.raises(RateLimited) as caught:
        fetch_page(url, make_settings())

    assert caught.value.retry_after == 3600


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "image/png",
            "with content type image/png, not HTML",
        ),
        (b"PK\x03\x04\x14\x00\x00\x00", "application/zip", "content type application/zip"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "",
            "without a content type and the body is not HTML",
        ),
        (b"%PDF-1.7\n\x00\x01\x02binary", "text/html", "answered binary content, not HTML"),
    ],
)
def test_binary_content_is_rejected_with_a_clear_reason(
    site: LoopbackSite, body: bytes, content_type: str, message: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    url = site.add("/file", body, headers=headers)

    with pytest.raises(FetchRejected, match=message):
        fetch_page(url, make_settings())


def test_a_deflate_bomb_served_over_http_is_rejected(site: LoopbackSite) -> None:
    bomb = zlib.compress(b"<html>" + b" " * (CAP * 50))
    url = site.add(
        "/bomb", bomb, headers={"Content-Type": "text/html", "Content-Encoding": "deflate"}
    )

    with pytest.raises(FetchRejected, match=rf"larger than {CAP} bytes"):
        fetch_page(url, make_settings())


def test_an_unasked_content_encoding_is_rejected(site: LoopbackSite) -> None:
    url = site.add(
        "/br", b"\x1b\x03\x00", headers={"Content-Type": "text/html", "Content-Encoding": "br"}
    )

    with pytest.raises(FetchRejected, match=r"content encoding 'br', which was not asked for"):
        fetch_page(url, make_settings())


def test_the_fetch_asks_only_for_encodings_it_decodes(site: LoopbackSite) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Accept-Encoding"])
        return httpx.Response(200, headers={"Content-Type": "text/html"}, content=b"<html></html>")

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        fetch_page("http://example.test/", make_settings(), client=client)

    assert seen == ["gzip, deflate"]


def test_a_page_declared_latin1_but_written_in_utf8_is_read_right(site: LoopbackSite) -> None:
    text = "<html><body><p>Crème brûlée à 5 €</p></body></html>"
    url = site.add(
        "/mislabelled", text.encode(), headers={"Content-Type": "text/html; charset=ISO-8859-1"}
    )

    assert fetch_page(url, make_settings()).html == text


def test_a_host_that_does_not_exist_fails_for_good() -> None:
    backend = GuardedBackend(allow_private=False, resolver=FakeDNS({}))

    with (
        guarded_client(allow_private=False, backend=backend) as client,
        pytest.raises(UnknownHost) as caught,
    ):
        fetch_page("http://no-such-host.test/a", make_settings(), client=client)

    assert (
        str(caught.value)
        == "GET http://no-such-host.test/a failed: host no-such-host.test does not exist"
    )


def test_headers_slower_than_the_deadline_end_the_fetch_in_time(site: LoopbackSite) -> None:
    url = site.add("/slow-start", PAGE, delay=3.0)

    started = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out"):
        fetch_page(url, make_settings(fetch_read_timeout=20.0, parsing_timeout=1.0))

    assert time.monotonic() - started < 1.5
