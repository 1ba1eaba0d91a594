"""The URL key that decides what is already known (``shared.urls``)."""

from __future__ import annotations

import pytest

from shared.urls import identity_key, normalize_url, variants


@pytest.mark.parametrize(
    "spelling",
    [
        "https://example.org/a?id=1",
        "http://example.org/a?id=1",
        "https://www.example.org/a?id=1",
        "HTTP://WWW.Example.ORG:80/a?id=1#section",
        "https://example.org:443/a?utm_source=x&utm_campaign=y&id=1",
        "https://example.org/a?fbclid=1&gclid=2&mc_eid=3&msclkid=4&id=1&pk_campaign=z",
    ],
)
def test_spellings_of_one_article_share_one_key(spelling: str) -> None:
    assert identity_key(normalize_url(spelling)) == "//example.org/a?id=1"


def test_the_normalised_url_stays_fetchable() -> None:
    # Only the key folds scheme and www.: the link keeps a URL its site serves.
    assert normalize_url("http://www.example.org/a?utm_medium=x") == "http://www.example.org/a"


def test_variants_cover_scheme_and_www() -> None:
    assert set(variants("http://www.example.org/a")) == {
        "https://example.org/a",
        "https://www.example.org/a",
        "http://example.org/a",
        "http://www.example.org/a",
    }


def test_www_is_not_stripped_from_a_host_that_is_only_www_and_a_suffix() -> None:
    assert identity_key(normalize_url("https://www.com/a")) == "//www.com/a"


def test_ports_paths_and_real_parameters_still_differ() -> None:
    keys = {
        identity_key(normalize_url(url))
        for url in (
            "https://example.org/a?id=1",
            "https://example.org/a?id=2",
            "https://example.org:8443/a?id=1",
            "https://example.org/b?id=1",
            "https://blog.example.org/a?id=1",
        )
    }
    assert len(keys) == 5
