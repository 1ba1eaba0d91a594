"""The database's schema check, at start-up and in ``kbm doctor``: what is missing or mistyped."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.notion.doctor import check_notion
from services.notion.properties import schema_problems
from shared.errors import ConfigurationError
from shared.notion_settings import PropertyNames
from shared.settings import Settings
from tests.notion.conftest import PublisherFactory
from tests.notion.documents import make_document
from tests.notion.notion_server import DEFAULT_SCHEMA, NotionServer

BROKEN = {
    "Title": "title",
    "url": "url",
    "Category": "select",
    "Sentiment": "multi_select",
    "Summary": "rich_text",
    "Author": "rich_text",
    "Published": "rich_text",
}


def schema(types: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"type": kind} for name, kind in types.items()}


def test_a_matching_schema_has_no_problem() -> None:
    assert schema_problems(schema(DEFAULT_SCHEMA), PropertyNames()) == []


def test_every_problem_is_named_with_its_fix() -> None:
    problems = schema_problems(schema(BROKEN), PropertyNames())

    assert problems == [
        "no title property 'Name': the title property is 'Title' "
        "(or set NOTION_PROPERTY_NAME to the property to use)",
        "no property 'URL' (url): there is 'url', and names are case-sensitive "
        "(or set NOTION_PROPERTY_URL to the property to use)",
        "missing property 'Tags' of type multi_select "
        "(or set NOTION_PROPERTY_TAGS to the property to use)",
        "property 'Sentiment' is multi_select, expected select "
        "(or set NOTION_PROPERTY_SENTIMENT to the property to use)",
        "property 'Published' is rich_text, expected date "
        "(or set NOTION_PROPERTY_PUBLISHED to the property to use)",
    ]


def test_mapped_names_are_checked_and_used_for_the_page(make_publisher: PublisherFactory) -> None:
    names = PropertyNames(title="Title", url="Link", tags="Labels", published="Date")
    types = {**DEFAULT_SCHEMA, "Title": "title", "Link": "url", "Labels": "multi_select"}
    types["Date"] = "date"
    for old in ("Name", "URL", "Tags", "Published"):
        del types[old]
    with NotionServer(rate=1000, schema=types) as server:
        publication = make_publisher(server, names=names).publish(make_document(), None)

        properties = server.pages[publication.page_id]["properties"]
        assert set(properties) == {
            "Title",
            "Link",
            "Labels",
            "Category",
            "Sentiment",
            "Summary",
            "Author",
            "Date",
        }
        assert server.pages_with_url(make_document().url)


def test_publishing_to_a_mismatched_database_fails_before_any_page_is_created(
    make_publisher: PublisherFactory,
) -> None:
    with NotionServer(rate=1000, schema=BROKEN) as server:
        with pytest.raises(ConfigurationError) as caught:
            make_publisher(server).publish(make_document(), None)

        message = str(caught.value)
        assert f"the Notion database {server.database_id}" in message
        assert "missing property 'Tags' of type multi_select" in message
        assert "property 'Published' is rich_text, expected date" in message
        assert server.pages == {}


def _notion_settings(server: NotionServer, tmp_path: Path, redis_url: str) -> Settings:
    return Settings.from_env(
        _env_file=None,
        redis_url=redis_url,
        publisher="notion",
        notion_token=server.token,
        notion_database_id=server.database_id,
        notion_base_url=server.base_url,
        export_dir=tmp_path,
    )


def test_doctor_reports_the_database_and_its_properties(
    notion_server: NotionServer, tmp_path: Path, redis_url: str
) -> None:
    settings = _notion_settings(notion_server, tmp_path, redis_url)

    diagnosis = check_notion(settings)

    assert diagnosis.ok
    assert diagnosis.lines[0] == (
        f"publisher: notion, database {notion_server.database_id}, "
        f"data source {notion_server.data_source_id}"
    )
    assert diagnosis.lines[2].startswith("optional properties: none found")


def test_doctor_names_the_optional_properties_it_found(tmp_path: Path, redis_url: str) -> None:
    schema = {**DEFAULT_SCHEMA, "Type": "select", "Status": "select", "Saved": "rich_text"}
    with NotionServer(rate=1000, schema=schema) as server:
        diagnosis = check_notion(_notion_settings(server, tmp_path, redis_url))

    assert diagnosis.ok
    # Saved is not a date here: not one the publisher would write
    assert diagnosis.lines[2].startswith(
        "optional properties: 'Type' (select), 'Status' (select) found"
    )


def test_doctor_says_what_is_wrong(tmp_path: Path, redis_url: str) -> None:
    with NotionServer(rate=1000, schema=BROKEN) as server:
        settings = Settings.from_env(
            _env_file=None,
            redis_url=redis_url,
            publisher="notion",
            notion_token=server.token,
            notion_database_id=server.database_id,
            notion_base_url=server.base_url,
            export_dir=tmp_path,
        )

        diagnosis = check_notion(settings)

    assert not diagnosis.ok
    assert "missing property 'Tags'" in diagnosis.lines[0]


def test_doctor_on_the_markdown_publisher_says_where_files_go(tmp_path: Path) -> None:
    settings = Settings.from_env(
        _env_file=None, publisher="auto", notion_token=None, export_dir=tmp_path
    )

    diagnosis = check_notion(settings)

    assert diagnosis.ok
    assert diagnosis.lines == [
        f"publisher: markdown, writing to {tmp_path} (set NOTION_TOKEN and NOTION_DATABASE_ID "
        "to publish to Notion)"
    ]
