"""Notion's real 3 requests/s, shared by every worker through the Redis token bucket."""

from __future__ import annotations

import threading

import pytest

from services.notion.publishers.notion import NotionPublisher
from tests.notion.conftest import PublisherFactory
from tests.notion.documents import make_document
from tests.notion.notion_server import NotionServer

RATE = 3.0


def publish_in_threads(publishers: list[NotionPublisher], pages_each: int) -> list[BaseException]:
    """Publish ``pages_each`` pages from each publisher in a thread of its own."""
    errors: list[BaseException] = []

    def work(number: int, publisher: NotionPublisher) -> None:
        try:
            for page in range(pages_each):
                url = f"https://example.com/{number}/{page}"
                publisher.publish(make_document(link_id=number * 100 + page, url=url), None)
        except BaseException as ex:
            errors.append(ex)

    threads = [
        threading.Thread(target=work, args=(number, publisher))
        for number, publisher in enumerate(publishers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_three_workers_together_send_at_the_rate_limit_without_a_429(
    make_publisher: PublisherFactory,
) -> None:
    # Given Notion's bucket (3/s, bursts of 3) and three worker processes' publishers
    with NotionServer(rate=RATE, burst=RATE) as server:
        publishers = [make_publisher(server, rate=RATE) for _ in range(3)]

        # When they publish nine pages at once
        errors = publish_in_threads(publishers, 3)

        # Then none was refused, and together they kept to 3 requests per second
        assert errors == []
        records = server.requests()
        # The pages, and the identity and database lookups, shared through Redis (each
        # process reads them only if none has yet)
        assert len(server.requests("POST", "^/v1/pages$")) == 9
        assert len(records) <= 9 + 3 * 3
        assert [record for record in records if record.status != 200] == []
        assert len(server.pages) == 9 and server.duplicates() == {}
        span = records[-1].at - records[0].at
        assert (len(records) - 1) / span == pytest.approx(RATE, rel=0.1)


def test_a_429_makes_every_worker_wait_for_retry_after(make_publisher: PublisherFactory) -> None:
    # Given clients that believe they may send 10 requests/s to a Notion allowing 3
    with NotionServer(rate=RATE, burst=1) as server:
        publishers = [make_publisher(server, rate=10.0) for _ in range(2)]

        errors = publish_in_threads(publishers, 2)

        assert errors == []
        assert len(server.pages) == 4 and server.duplicates() == {}
        refused = server.requests(status=429)
        assert refused, "the server should have refused some requests"
        # Retry-After is 1 s: apart from requests already on their way, nobody sends
        # again until it has passed.
        for answer in refused:
            assert not [
                record
                for record in server.requests()
                if answer.at + 0.15 < record.at < answer.at + 0.95
            ]
