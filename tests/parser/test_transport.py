"""What the guarded client follows and how its messages show URLs (no network here).

The address guard itself is tested in ``test_fetch_ssrf.py``; real redirects over
loopback in ``test_fetch_redirects.py``.
"""

from __future__ import annotations

import pytest

from services.parser.transport import redirect_target, url_problem
from shared.errors import FetchRejected, PermanentError, RetryableError
from shared.redact import redact_urls

SOURCE = "https://a.example/x"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:secret@example.com/a", "http://example.com/a"),
        ("https://user@example.com:8443/a?b=c#d", "https://example.com:8443/a?b=c#d"),
        ("http://user:p@ss@example.com/", "http://example.com/"),
        ("HTTP://user:secret@Example.com", "HTTP://Example.com"),
        ("//user:secret@example.com/a", "//example.com/a"),
        ("http:\\\\user:secret@example.com\\a", "http:\\\\example.com\\a"),
        ("http://user:secret@[::1/", "http://[::1/"),
        ("http://example.com/a@b", "http://example.com/a@b"),
        ("http://example.com/?next=//u:p@x", "http://example.com/?next=//x"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("gopher://127.0.0.1:70/_GET%20/", "gopher://127.0.0.1:70/_GET%20/"),
    ],
)
def test_messages_show_urls_without_their_user_and_password(url: str, shown: str) -> None:
    assert redact_urls(url) == shown


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("javascript:alert(1)", "scheme 'javascript' is not http or https"),
        ("data:text/html,<p>hi</p>", "scheme 'data' is not http or https"),
        ("file:///etc/passwd", "scheme 'file' is not http or https"),
        ("example.com/page", "scheme '' is not http or https"),
        ("http://[::1", "malformed URL (Invalid IPv6 URL)"),
        ("http://xn--/", "malformed URL (Malformed A-label"),
        ("http:page", "the URL has no host"),
        ("http://example.com:99999/", "port 99999 is not a TCP port"),
        ("http://example.com:0/", "port 0 is not a TCP port"),
    ],
)
def test_urls_the_parser_cannot_fetch_are_named_with_the_reason(url: str, problem: str) -> None:
    assert (url_problem(url) or "").startswith(problem)


@pytest.mark.parametrize(
    "url", ["http://example.com", "HTTPS://Example.com:8443/a?b#c", "http://[2606:4700::1]/"]
)
def test_http_and_https_urls_with_a_host_can_be_fetched(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("/b", "https://a.example/b"),
        ("b?c=1", "https://a.example/b?c=1"),
        ("//b.example/c", "https://b.example/c"),
        ("http://b.example/c", "http://b.example/c"),
    ],
)
def test_a_followable_redirect_leads_to_the_joined_url(location: str, target: str) -> None:
    assert redirect_target(SOURCE, location) == target


@pytest.mark.parametrize(
    ("location", "shown_target"),
    [
        ("javascript:alert(1)", "javascript:alert(1)"),
        ("data:text/html,hi", "data:text/html,hi"),
        ("http://[::1", "http://[::1"),
        ("//xn--/", "https://xn--/"),
        ("http://u:secret@b.example:70000/", "http://b.example:70000/"),
    ],
)
def test_an_unfollowable_redirect_is_permanent_and_names_both_urls(
    location: str, shown_target: str
) -> None:
    with pytest.raises(FetchRejected) as caught:
        redirect_target("https://me:secret@a.example/x", location)

    message = str(caught.value)
    assert message.startswith(f"GET {shown_target} refused: ")
    assert message.endswith(f"(redirected from {SOURCE})")
    assert "secret" not in message
    assert isinstance(caught.value, PermanentError)
    assert not isinstance(caught.value, RetryableError)
