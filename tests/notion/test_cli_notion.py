"""``kbm sync-notion`` and ``kbm republish`` on a real database and the loopback Notion."""

from __future__ import annotations

from pathlib import Path

import falcon.testing
import httpx
import pytest
from click.testing import CliRunner

from services.api.app import create_app
from services.cli import notion_sync
from services.cli.client import GatewayClient
from services.cli.main import cli
from services.notion import progress
from services.notion.publishers.base import Publication
from shared import store
from shared.db import database
from shared.models import Enrichment, Link, Task, TaskItem
from shared.settings import Settings
from tests.notion.conftest import PublisherFactory
from tests.notion.documents import make_document
from tests.notion.notion_server import NotionServer


def enriched_link(url: str, tags: list[str]) -> int:
    link = Link.create(url=url, normalized_url=url)
    store.save_enrichment(
        link.id,
        summary="S.",
        category="Technology",
        tags=tags,
        sentiment="neutral",
        sentiment_score=0.0,
        language="en",
        provider="local",
        model="local",
    )
    return int(link.id)


def test_sync_notion_reads_the_users_tags_into_the_links(
    db: str,
    redis_url: str,
    tmp_path: Path,
    notion_server: NotionServer,
    make_publisher: PublisherFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    link_id = enriched_link("https://example.com/a", ["queues"])
    publication = make_publisher().publish(
        make_document(link_id=link_id, url="https://example.com/a", tags=["queues"]), None
    )
    progress.finish(link_id, publication)
    notion_server.user_set(
        publication.page_id, "Tags", {"multi_select": [{"name": "queues"}, {"name": "later"}]}
    )
    monkeypatch.chdir(tmp_path)  # no .env of the working tree
    env = {
        "DATABASE_URL": db,
        "REDIS_URL": redis_url,
        "PUBLISHER": "notion",
        "NOTION_TOKEN": notion_server.token,
        "NOTION_DATABASE_ID": notion_server.database_id,
        "NOTION_BASE_URL": notion_server.base_url,
    }

    result = CliRunner().invoke(cli, ["sync-notion"], env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "1 pages read; tags changed on 1 links" in result.output
    with database.connection_context():
        assert Enrichment.get(Enrichment.link == link_id).tags == ["queues", "later"]


def test_republish_needs_link_ids_or_all() -> None:
    result = CliRunner().invoke(cli, ["republish"])

    assert result.exit_code != 0
    assert "give the LINK_IDS to publish again, or --all" in result.output


def test_republish_all_makes_a_publish_only_task_of_every_published_link(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given two published links and one never published, and the real gateway
    published = [enriched_link(f"https://example.com/{n}", ["t"]) for n in range(2)]
    enriched_link("https://example.com/never", ["t"])
    for link_id in published:
        progress.finish(link_id, Publication("notion", f"page-{link_id}", None, None))
    gateway = GatewayClient(
        f"http://{falcon.testing.helpers.DEFAULT_HOST}",
        transport=httpx.WSGITransport(app=create_app(settings)),
    )
    monkeypatch.setattr(notion_sync, "client", lambda: gateway)
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(
        cli,
        ["republish", "--all"],
        env={"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url},
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert "2 links to publish again" in result.output
    with database.connection_context():
        [task] = Task.select()
        assert task.stages == ["publish"]
        assert sorted(item.link_id for item in TaskItem.select()) == published
