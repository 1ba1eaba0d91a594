"""The notion settings (``settings.notion``): defaults, property names, errors."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ConfigurationError
from shared.notion_settings import PropertyNames, notion_id
from shared.settings import Settings

DATABASE_ID = "0123456789abcdef0123456789abcdef"
DASHED = "01234567-89ab-cdef-0123-456789abcdef"


@pytest.fixture(autouse=True)
def no_notion_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's ``NOTION_*`` variables out of these tests."""
    for name in list(os.environ):
        if name.upper().startswith("NOTION_"):
            monkeypatch.delenv(name)


def shared_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"notion_token": "ntn_token", "notion_database_id": DATABASE_ID}
    values.update(overrides)
    return Settings.from_env(_env_file=None, **values)


def test_defaults_take_the_shared_settings_and_the_expected_property_names() -> None:
    settings = shared_settings(notion_rate_limit=2.5, notion_timeout=45).notion

    assert settings.token == "ntn_token"
    assert settings.database_id == DASHED
    assert settings.base_url == "https://api.notion.com"
    assert settings.rate_limit == 2.5
    assert settings.stage_timeout == 45
    assert settings.properties == PropertyNames()
    assert settings.data_source_id is None
    assert (settings.request_timeout, settings.create_settle) == (30.0, 65.0)
    assert settings.workspace_rate_limit is None


def test_the_workspace_budget_is_set_apart_from_the_token_s() -> None:
    settings = shared_settings(notion_rate_limit=3, notion_workspace_rate_limit="8").notion
    assert (settings.rate_limit, settings.workspace_rate_limit) == (3.0, 8.0)
    assert shared_settings(notion_workspace_rate_limit="").notion.workspace_rate_limit is None
    with pytest.raises(ConfigurationError, match=r"^invalid setting NOTION_WORKSPACE_RATE_LIMIT"):
        shared_settings(notion_workspace_rate_limit="0")


def test_property_names_are_mapped_by_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("notion_property_tags", " Keywords ")  # any case, like every setting

    settings = shared_settings(
        notion_property_name="Title",
        notion_property_published="Date",
        notion_data_source_id="https://www.notion.so/x/" + "f" * 32,
        notion_request_timeout="12.5",
    ).notion

    assert settings.properties.title == "Title"
    assert settings.properties.tags == "Keywords"
    assert settings.properties.published == "Date"
    assert settings.properties.url == "URL"
    assert settings.data_source_id == "ffffffff-ffff-ffff-ffff-ffffffffffff"
    assert settings.request_timeout == 12.5


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"NOTION_PROPERTY_URL": "  "}, "NOTION_PROPERTY_URL: Value error, is empty"),
        (
            {"NOTION_PROPERTY_SUMMARY": "Name"},
            "NOTION_PROPERTY_NAME and NOTION_PROPERTY_SUMMARY all name the property 'Name'",
        ),
        ({"NOTION_REQUEST_TIMEOUT": "soon"}, "NOTION_REQUEST_TIMEOUT: "),
        ({"NOTION_REQUEST_TIMEOUT": "0"}, "NOTION_REQUEST_TIMEOUT: "),
        ({"NOTION_CREATE_SETTLE": "-1"}, "NOTION_CREATE_SETTLE: "),
        (
            {"NOTION_DATA_SOURCE_ID": "abc"},
            "NOTION_DATA_SOURCE_ID: Value error, must be a Notion id",
        ),
    ],
)
def test_a_bad_value_stops_the_settings_naming_its_variable(
    variables: dict[str, str], named: str
) -> None:
    values = {name.lower(): value for name, value in variables.items()}

    with pytest.raises(ConfigurationError, match="^invalid setting " + re.escape(named)) as caught:
        shared_settings(**values)

    # A rule over several settings shows none of their values: NOTION_TOKEN is one
    assert "ntn_token" not in str(caught.value)


def test_blank_timing_values_mean_the_default() -> None:
    settings = shared_settings(
        notion_request_timeout=" ", notion_create_settle="", notion_data_source_id=""
    ).notion

    assert (settings.request_timeout, settings.create_settle) == (30.0, 65.0)
    assert settings.data_source_id is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"notion_token": None}, "NOTION_TOKEN is not set: create an internal integration"),
        ({"notion_token": " "}, "NOTION_TOKEN is not set"),
        ({"notion_database_id": None}, "NOTION_DATABASE_ID is not set"),
        ({"notion_database_id": ""}, "NOTION_DATABASE_ID is not set"),
        ({"notion_database_id": "my db"}, "NOTION_DATABASE_ID must be a Notion id"),
    ],
)
def test_missing_credentials_are_named_when_the_notion_settings_are_taken(
    overrides: dict[str, Any], message: str
) -> None:
    # The settings load without them: only the Notion publisher needs them
    settings = shared_settings(**overrides)

    with pytest.raises(ConfigurationError, match=re.escape(message)):
        _ = settings.notion


@pytest.mark.parametrize(
    "value",
    [
        DATABASE_ID,
        DASHED,
        DATABASE_ID.upper(),
        f"https://www.notion.so/team/Reading-list-{DATABASE_ID}?v=" + "a" * 32,
        f"https://www.notion.so/{DATABASE_ID}",
    ],
)
def test_an_id_is_read_from_an_id_or_a_notion_url(value: str) -> None:
    assert notion_id(value) == DASHED


def test_a_value_without_an_id_is_no_notion_id() -> None:
    with pytest.raises(ValueError, match="must be a Notion id"):
        notion_id("https://www.notion.so/team/Reading-list")


def test_settings_come_from_a_dot_env_file_below_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        f"NOTION_TOKEN=ntn_token\nNOTION_DATABASE_ID={DATABASE_ID}\n"
        "NOTION_PROPERTY_TAGS=Labels\nNOTION_PROPERTY_URL=Link\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NOTION_PROPERTY_URL", "Source")

    settings = Settings.from_env().notion

    assert (settings.properties.tags, settings.properties.url) == ("Labels", "Source")
    assert settings.database_id == DASHED
