"""The round trip to Notion: what an export kept reaches the page in the Notion stand-in.

A Pocket export is imported, the stages' results are stored as the parse and enrich
stages store them, and the real Notion publisher (the notion-client SDK against the
loopback stand-in) publishes the link through the publish stage's document builder.
"""

from __future__ import annotations

import io
import uuid

from services.notion.publish import document_for
from services.notion.publishers.notion import NotionPublisher
from shared import store
from shared.imports.create import Importer, ImportOptions
from shared.models import Content, Link
from tests.imports.make_fixtures import library, pocket_csv
from tests.notion.conftest import make_api
from tests.notion.notion_server import DEFAULT_SCHEMA, NotionServer


def test_an_imported_link_s_date_status_and_tags_reach_its_notion_page(
    importer: Importer,
) -> None:
    # Given a Pocket export imported, one archived link with its own tags among it
    entries = library(40)
    report = importer.run(io.BytesIO(pocket_csv(entries)), ImportOptions())
    assert report.links_new == 40
    entry = next(e for e in entries if e.status == "archived" and e.tags)
    link = Link.get(Link.url == entry.url)
    content = Content.create(link=link, final_url=link.url, title="Fetched title",
                             text="Kept for later. " * 30, word_count=90,
                             content_hash=f"h{link.id}")  # fmt: skip
    store.save_enrichment(link.id, tags=["queues"], summary="S.", category="Technology",
                          sentiment="neutral", sentiment_score=0.0, language="en",
                          provider="local", model="local")  # fmt: skip
    document = document_for(link, content, store.enrichment_of(link.id))

    # When it is published into a database that has Saved and Status properties
    schema = {**DEFAULT_SCHEMA, "Saved": "date", "Status": "select"}
    with NotionServer(rate=1000, schema=schema) as server:
        api = make_api(server, bucket=uuid.uuid4().hex)
        publication = NotionPublisher(api, server.database_id).publish(document, None)

        # Then the page carries the day it was saved, its status and the user's tags
        properties = server.pages[publication.page_id]["properties"]
        assert properties["Saved"]["date"]["start"] == entry.iso[:10]
        assert properties["Status"] == {"select": {"name": "archived"}}
        names = [option["name"] for option in properties["Tags"]["multi_select"]]
        assert names == [*entry.tags, "queues"]
        assert properties["URL"] == {"url": entry.url}
