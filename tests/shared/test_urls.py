"""URL validation and normalisation."""

from __future__ import annotations

import pytest

from shared.urls import InvalidURL, normalize_url, validate_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("HTTP://Example.COM:80/a?b=2&a=1#top", "http://example.com/a?a=1&b=2"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com:443/x?utm_source=news&id=7&fbclid=abc", "https://example.com/x?id=7"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("  https://example.com/p  ", "https://example.com/p"),
        ("http://[::1]:8000/p", "http://[::1]:8000/p"),
    ],
)
def test_equivalent_spellings_normalise_to_one_form(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_normalising_is_idempotent() -> None:
    once = normalize_url("HTTPS://Example.com:443/a/b?z=1&utm_medium=x#f")
    assert normalize_url(once) == once


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("ftp://example.com/file", "scheme must be http or https"),
        ("example.com/page", "scheme must be http or https"),
        ("http:///path", "has no host"),
        ("", "is empty"),
        ("http://exa mple.com", "whitespace"),
        ("http://example.com:99999/", "malformed"),
        ("http://example.com/" + "a" * 2100, "longer than 2048"),
        (42, "expected a string"),
    ],
)
def test_invalid_urls_are_refused_with_the_reason(given: object, reason: str) -> None:
    with pytest.raises(InvalidURL, match=reason):
        validate_url(given)
