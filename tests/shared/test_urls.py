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
        ("example.com/page", "has no scheme: write it with https://"),
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


# Property tests: whatever is thrown at them, the rules hold.
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

hosts = st.from_regex(
    r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?(\.[a-zA-Z]{2,6}){1,2}", fullmatch=True
)
paths = st.lists(st.from_regex(r"[A-Za-z0-9._~%-]{0,12}", fullmatch=True), max_size=4)
queries = st.lists(
    st.tuples(
        st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9]{0,8}", fullmatch=True),
    ),
    max_size=4,
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/".join(draw(paths))
    query = "&".join(f"{key}={value}" for key, value in draw(queries))
    fragment = draw(st.sampled_from(["", "#top", "#"]))
    return f"{scheme}://{draw(hosts)}{port}/{path}" + (f"?{query}" if query else "") + fragment


@given(urls())
def test_normalising_any_valid_url_is_idempotent_and_stays_valid(url: str) -> None:
    once = normalize_url(url)
    assert normalize_url(once) == once
    assert validate_url(once) == once
    assert "#" not in once
    assert "utm_" not in once


@given(urls(), st.permutations(range(4)))
def test_the_order_of_query_parameters_never_makes_two_links(url: str, order: list[int]) -> None:
    base, _, query = url.split("#")[0].partition("?")
    pairs = query.split("&") if query else []
    shuffled = [pairs[i] for i in order if i < len(pairs)]
    assert normalize_url(base + ("?" + "&".join(shuffled) if shuffled else "")) == normalize_url(
        base + ("?" + "&".join(pairs) if pairs else "")
    )


@given(st.text(max_size=300))
def test_arbitrary_text_is_either_a_valid_url_or_refused_with_a_reason(text: str) -> None:
    try:
        validate_url(text)
    except InvalidURL as ex:
        assert str(ex)
