"""Redirects the parser cannot follow, and URLs' passwords in messages, over real loopback.

A loopback site answers 302 with the Location under test; the fetch runs through
the real guarded client (private addresses allowed, as the site is on 127.0.0.1).
"""

from __future__ import annotations

from typing import Any

import pytest
from dramatiq.brokers.stub import StubBroker

from services.parser.fetch import fetch_page
from shared.errors import FetchRejected, RetryableError
from shared.models import TaskItem
from tests.parser.conftest import LoopbackSite
from tests.parser.test_actors import broker, run_parse  # noqa: F401 (broker: fixture)
from tests.parser.test_fetch import make_settings

#: Locations the fetcher cannot follow, and the reason its message gives.
UNFOLLOWABLE = [
    ("javascript:alert(1)", "scheme 'javascript' is not http or https"),
    ("data:text/html,<script>alert(1)</script>", "scheme 'data' is not http or https"),
    ("file:///etc/passwd", "scheme 'file' is not http or https"),
    ("ftp://127.0.0.1/file", "scheme 'ftp' is not http or https"),
    ("mailto:someone@example.com", "scheme 'mailto' is not http or https"),
    ("http://[::1", "malformed URL (Invalid IPv6 URL)"),
    ("http://xn--/", "malformed URL (Malformed A-label"),
    ("http:page", "the URL has no host"),
    ("http://127.0.0.1:99999/", "port 99999 is not a TCP port"),
]


@pytest.mark.parametrize(("location", "reason"), UNFOLLOWABLE)
def test_a_redirect_the_fetcher_cannot_follow_fails_for_good_naming_both_urls(
    site: LoopbackSite, location: str, reason: str
) -> None:
    start = site.add("/start", status=302, headers={"Location": location})

    with pytest.raises(FetchRejected) as caught:
        fetch_page(start, make_settings())

    assert str(caught.value).startswith(f"GET {location} refused: {reason}")
    assert str(caught.value).endswith(f"(redirected from {start})")
    assert not isinstance(caught.value, RetryableError)
    assert site.hits == ["/start"]


def test_an_unfollowable_redirect_after_a_followed_one_names_the_hop_it_came_from(
    site: LoopbackSite,
) -> None:
    site.add("/start", status=301, headers={"Location": "/hop"})
    hop = site.add("/hop", status=307, headers={"Location": "javascript:alert(1)"})

    with pytest.raises(FetchRejected, match=rf"\(redirected from {hop}\)$"):
        fetch_page(site.url("/start"), make_settings())

    assert site.hits == ["/start", "/hop"]


def test_a_redirect_to_javascript_fails_the_item_after_one_attempt_with_both_urls(
    broker: StubBroker,  # noqa: F811 (the fixture imported above)
    site: LoopbackSite,
) -> None:
    # Given a link whose page redirects to a javascript: URL
    start = site.add("/start", status=302, headers={"Location": "javascript:alert(1)"})

    # When the parse stage runs it, with retries allowed
    task_id = run_parse(broker, [start])

    # Then the item failed for good on its first attempt, the error naming both URLs
    (item,) = TaskItem.select().where(TaskItem.task == task_id)
    assert item.status == "failed"
    assert item.attempts == 1
    assert site.hits == ["/start"]
    assert item.error == (
        "parse: FetchRejected: GET javascript:alert(1) refused: scheme 'javascript' is not "
        f"http or https (redirected from {start})"
    )


def with_password(url: str) -> str:
    return url.replace("http://", "http://reader:hunter2@", 1)


@pytest.mark.parametrize(
    ("path", "options", "allow_private"),
    [
        ("/gone", {"status": 404}, True),
        ("/pdf", {"body": b"%PDF-1.7", "headers": {"Content-Type": "application/pdf"}}, True),
        ("/js", {"status": 302, "headers": {"Location": "javascript:alert(1)"}}, True),
        ("/loop", {"status": 302, "headers": {"Location": "/loop"}}, True),
        ("/busy", {"status": 503}, True),
        ("/inside", {}, False),
    ],
)
def test_no_fetch_error_shows_the_password_of_the_url(
    site: LoopbackSite, path: str, options: dict[str, Any], allow_private: bool
) -> None:
    url = with_password(site.add(path, **options))

    with pytest.raises((FetchRejected, RetryableError)) as caught:
        fetch_page(url, make_settings(fetch_allow_private=allow_private))

    assert site.url(path) in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "reader" not in str(caught.value)


def test_a_refused_connection_does_not_show_the_password_either() -> None:
    with pytest.raises(RetryableError) as caught:
        fetch_page("http://reader:hunter2@127.0.0.1:1/", make_settings())

    assert str(caught.value).startswith("GET http://127.0.0.1:1/ failed: ConnectError")


def test_the_page_keeps_the_url_as_given_password_included(site: LoopbackSite) -> None:
    # Only messages hide the password: the request and the stored URL keep it.
    url = with_password(site.add("/private", "<html><body>members</body></html>"))

    page = fetch_page(url, make_settings())

    assert page.url == page.final_url == url
    assert site.hits == ["/private"]
