"""The enrich stage's actor: summarise, categorise, tag and score an article."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from functools import cache

from services.ai.enrich import build_provider, enrich_article
from services.ai.providers import ArticleInput, Provider
from services.ai.tagwords import clean_label, normal_key
from shared import store, tags
from shared.models import Link
from shared.pipeline import ENRICH, stage_actor
from shared.settings import get_settings

logger = logging.getLogger(__name__)
_provider_lock = threading.Lock()


@cache
def _built_provider() -> Provider:
    return build_provider(get_settings())


def provider() -> Provider:
    """Return the process's provider, built once from settings."""
    # functools.cache lets every worker thread build its own on a cold start: the lock
    # makes it one provider, one HTTP client and one token counter per process.
    with _provider_lock:
        return _built_provider()


#: Seconds the vocabulary's counts are reused before they are read again: one GROUP BY
#: per article is a cost the stage feels at high throughput. Tags added meanwhile (by any
#: process) are read at each article, by their id, so that the next articles are
#: offered them at once.
POPULAR_TAGS_SECONDS = 2.0
#: Seconds between two passes that bring tags from elsewhere into the vocabulary with
#: their key: the users' imported tags, the Notion database's options, renamed tags.
KEYING_SECONDS = 60.0
_popular: tuple[float, list[str]] = (float("-inf"), [])
_newest_tag = 0
_keyed_at = float("-inf")
_popular_lock = threading.Lock()


def popular_tags() -> list[str]:
    """Return the vocabulary, most used first, tags added since the last count last."""
    global _popular, _keyed_at, _newest_tag
    with _popular_lock:
        read_at, names = _popular
        if time.monotonic() - read_at >= POPULAR_TAGS_SECONDS:
            if time.monotonic() - _keyed_at >= KEYING_SECONDS:
                _keyed_at = time.monotonic()
                give_keys()
            _newest_tag = tags.newest_tag_id()
            _popular = (time.monotonic(), store.popular_tags())
            return _popular[1]
        since = _newest_tag
    # Read outside the lock: the other threads' articles need not wait for this query.
    added = tags.tags_added_since(since)
    if not added:
        return names
    with _popular_lock:
        _newest_tag = max(_newest_tag, *(tag_id for tag_id, _ in added))
        read_at, names = _popular
        known = set(names)
        names = [*names, *(name for _, name in added if name not in known)]
        _popular = (read_at, names)
        return names


def give_keys() -> None:
    """Add the users' imported tags to the vocabulary; key the tags added without one.

    A tag whose key another tag holds (a Notion option "Machine Learning" beside the
    tag "machine learning") is merged into that tag.
    """
    imported = [(normal_key(name), clean_label(name)) for name in tags.user_tag_names()]
    tags.claim_tags(imported, source="user")
    for name in tags.unkeyed_tags():
        key = normal_key(name)
        if not key:
            continue
        changed = tags.give_key(name, key)
        if changed:
            logger.info("tag %r merged into its other spelling on %d links", name, len(changed))


def save_tags(names: Sequence[str]) -> list[str]:
    """Return the vocabulary's names of ``names``, adding the new ones (atomically per key)."""
    return tags.claim_tags([(normal_key(name), name) for name in names], source="ai")


@stage_actor(ENRICH)
def enrich_item(item_id: int) -> None:
    """Enrich the parsed article of a task item's link."""
    enrich_link(store.link_of_item(item_id), provider())


def enrich_link(link: Link, chosen: Provider) -> None:
    """Enrich ``link``'s parsed article with ``chosen``; save it with the vocabulary's tags."""
    content = store.article_of(link.id)
    article = ArticleInput(
        title=content.title,
        text=content.text,
        language=content.language,
        url=link.url,
        page_type=content.page_type,
    )
    result = enrich_article(chosen, article, popular_tags())
    store.save_enrichment(
        link.id,
        tags=save_tags(result.tags),
        summary=result.summary,
        category=result.category,
        sentiment=result.sentiment,
        sentiment_score=result.sentiment_score,
        language=result.language,
        provider=result.provider,
        model=result.model,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
    )
