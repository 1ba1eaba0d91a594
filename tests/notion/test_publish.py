from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from services.notion.publish import build_publisher, validate_document
from services.notion.publishers import PublishDocument
from services.notion.publishers.markdown import MarkdownPublisher
from services.notion.publishers.notion import NotionPublisher
from shared.errors import ConfigurationError, MissingInput, PermanentError
from shared.settings import Settings


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    # No .env and explicit Notion values: the developer's environment must not leak in.
    values: dict[str, Any] = {
        "notion_token": None,
        "notion_database_id": None,
        "export_dir": tmp_path / "export",
    }
    values.update(overrides)
    return Settings.from_env(_env_file=None, **values)


def make_document(title: str = "A title", text: str = "Some text.") -> PublishDocument:
    return PublishDocument(
        link_id=3,
        url="https://example.com/",
        title=title,
        text=text,
        summary="",
        category="Other",
        tags=[],
        sentiment="neutral",
        sentiment_score=0.0,
        authors=[],
        published_at=datetime.date(2024, 1, 1),
        language=None,
    )


def test_markdown_builds_a_markdown_publisher_on_the_export_folder(tmp_path: Path) -> None:
    publisher = build_publisher(make_settings(tmp_path, publisher="markdown"))

    assert isinstance(publisher, MarkdownPublisher)
    assert publisher.name == "markdown"
    assert publisher.export_dir == tmp_path / "export"


def test_markdown_wins_over_notion_credentials_when_asked_for(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, publisher="markdown", notion_token="secret", notion_database_id="db"
    )

    assert isinstance(build_publisher(settings), MarkdownPublisher)


@pytest.mark.parametrize(
    ("token", "database_id"),
    [(None, None), ("secret", None), (None, "db"), ("secret", "  "), ("", "db")],
)
def test_auto_without_both_notion_settings_builds_a_markdown_publisher(
    tmp_path: Path, token: str | None, database_id: str | None
) -> None:
    settings = make_settings(
        tmp_path, publisher="auto", notion_token=token, notion_database_id=database_id
    )

    assert isinstance(build_publisher(settings), MarkdownPublisher)


DATABASE_ID = "0123456789abcdef0123456789abcdef"


def test_notion_builds_a_notion_publisher_on_the_database(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        publisher="notion",
        notion_token="secret",
        notion_database_id=f"https://www.notion.so/team/Reading-{DATABASE_ID}?v=1",
    )

    publisher = build_publisher(settings)

    assert isinstance(publisher, NotionPublisher)
    assert publisher.name == "notion"
    assert publisher.database_id == "01234567-89ab-cdef-0123-456789abcdef"
    assert publisher.stage_timeout == settings.notion_timeout


def test_auto_with_notion_credentials_builds_a_notion_publisher(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, publisher="auto", notion_token="secret", notion_database_id=DATABASE_ID
    )

    publisher = build_publisher(settings)

    assert isinstance(publisher, NotionPublisher)


@pytest.mark.parametrize(
    ("token", "database_id", "variable"),
    [(None, DATABASE_ID, "NOTION_TOKEN"), ("ntn_private_value", None, "NOTION_DATABASE_ID")],
)
def test_notion_without_its_credentials_names_the_missing_variable(
    tmp_path: Path, token: str | None, database_id: str | None, variable: str
) -> None:
    settings = make_settings(
        tmp_path, publisher="notion", notion_token=token, notion_database_id=database_id
    )

    with pytest.raises(ConfigurationError, match=variable) as caught:
        build_publisher(settings)

    assert "ntn_private_value" not in str(caught.value)


def test_a_complete_document_is_valid() -> None:
    validate_document(make_document())


@pytest.mark.parametrize(
    ("title", "text", "missing"),
    [
        ("", "Some text.", "title"),
        ("A title", " \n\t", "text"),
        ("  ", "", "title or text"),
    ],
)
def test_a_document_without_title_or_text_is_missing_input(
    title: str, text: str, missing: str
) -> None:
    with pytest.raises(MissingInput) as caught:
        validate_document(make_document(title=title, text=text))

    assert isinstance(caught.value, PermanentError)
    assert f"link 3 has no article {missing} to publish" in str(caught.value)
