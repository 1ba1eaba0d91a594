"""The parser's actors: the parse stage (fetch, extract, store) and feed polling."""

from __future__ import annotations

import logging

import dramatiq

from services.parser.extract import extract_article
from services.parser.feeds import InvalidFeed, read_feed
from services.parser.fetch import FEED, fetch_page
from shared import feeds, store
from shared.errors import FetchError, FetchRejected, RateLimited
from shared.feed_limits import FeedLimits
from shared.feeds import POLL_ACTOR, POLL_QUEUE, POLL_TIME_LIMIT_MS
from shared.pipeline import PARSE, stage_actor
from shared.settings import get_settings
from shared.tasks import TaskService
from shared.urgency import GATE, yield_to_urgent

log = logging.getLogger(__name__)


@stage_actor(PARSE)
def parse_item(item_id: int) -> None:
    """Fetch and extract the page of a task item's link."""
    link = store.link_of_item(item_id)
    yield_to_urgent()
    page = fetch_page(link.url, get_settings())
    with GATE.cpu_turn():  # one extraction at a time per process, urgent pages first
        article = extract_article(page.html, page.final_url)
    duplicate_of = store.save_content(
        link.id,
        final_url=page.final_url,
        title=article.title,
        text=article.text,
        authors=article.authors,
        published_at=article.published_at,
        language=article.language,
        top_image=article.top_image,
        word_count=article.word_count,
        content_hash=article.content_hash,
        blocks=article.blocks,
        canonical_url=article.canonical_url,
        page_type=article.page_type,
    )
    if duplicate_of is not None:
        # Stored all the same: the link view shows content.duplicate_of to the user.
        log.info("link %s (%s) holds the same article as link %s", link.id, link.url, duplicate_of)
    log.debug(
        "link %s (%s page) extracted by %s: %s words",
        link.id,
        article.page_type,
        article.method,
        article.word_count,
    )


@dramatiq.actor(
    actor_name=POLL_ACTOR, queue_name=POLL_QUEUE, max_retries=0, time_limit=POLL_TIME_LIMIT_MS
)
def poll_feed(feed_id: int) -> None:
    """Fetch a registered feed (conditionally) and import its new entries as one task.

    Failures are kept with the feed, not retried here: the next interval polls again,
    and a feed that keeps failing is paused with its error shown.
    """
    settings = get_settings()
    headers = feeds.conditional_headers(feed_id)
    url = feeds.feed_url(feed_id)
    if url is None:
        log.info("feed %s was removed before its poll", feed_id)
        return
    try:
        page = fetch_page(url, settings, accepted=FEED, headers=headers)
        if page.status_code == 304:
            outcome = feeds.record_unchanged(
                feed_id, etag=page.etag, last_modified=page.last_modified
            )
        else:
            document = read_feed(page.raw, url=page.final_url, content_type=page.content_type)
            outcome = feeds.record_entries(
                TaskService(dramatiq.get_broker(), limits=FeedLimits.from_settings(settings)),
                feed_id,
                [(entry.key, entry.url) for entry in document.entries],
                title=document.title,
                etag=page.etag,
                last_modified=page.last_modified,
            )
            if document.skipped:
                log.info("feed %s: %d entries without a usable link", feed_id, document.skipped)
    except (FetchError, RateLimited, FetchRejected) as ex:
        # Gone, refused or not a feed will not pass: pause at once. A broken document
        # may be mended by its publisher: it pauses only after failing again and again.
        permanent = isinstance(ex, FetchRejected) and not isinstance(ex, InvalidFeed)
        outcome = feeds.record_failure(feed_id, str(ex), permanent=permanent)
    log.info("feed %s polled: %s", feed_id, outcome)
