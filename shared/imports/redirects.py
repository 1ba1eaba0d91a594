"""Where known links led: a redirect (or canonical URL) to a known article joins it.

The parser records each link's ``final_url`` (after redirects) and ``canonical_url``
on its content. An imported URL that is one of those, under another link, is that
link: :func:`redirect_index` maps their identity keys to the link, read once per import.
"""

from __future__ import annotations

from shared.models import Content, Link
from shared.urls import InvalidURL, identity_key, normalize_url


def redirect_index() -> dict[str, int]:
    """Return identity key → link id of final or canonical URLs unlike their link's own."""
    index: dict[str, int] = {}
    query = (
        Content.select(Content.link, Content.final_url, Content.canonical_url, Link.normalized_url)
        .join(Link)
        .where((Content.final_url != Link.url) | Content.canonical_url.is_null(False))
        .tuples()
    )
    for link_id, final_url, canonical_url, own in query.iterator():
        own_key = identity_key(own)
        for url in (final_url, canonical_url):
            if not url:
                continue
            try:
                key = identity_key(normalize_url(url))
            except InvalidURL:
                continue
            if key != own_key:
                index.setdefault(key, link_id)
    return index
