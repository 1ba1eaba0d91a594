"""The notion service's settings: defaults, property names, and errors naming the variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.notion.settings import NotionSettings, PropertyNames, notion_id
from shared.errors import ConfigurationError
from shared.settings import Settings

DATABASE_ID = "0123456789abcdef0123456789abcdef"
DASHED = "01234567-89ab-cdef-0123-456789abcdef"


def shared_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"notion_token": "ntn_token", "notion_database_id": DATABASE_ID}
    values.update(overrides)
    return Settings.from_env(_env_file=None, **values)


def test_defaults_take_the_shared_settings_and_the_expected_property_names() -> None:
    settings = NotionSettings.from_env(
        shared_settings(notion_rate_limit=2.5, notion_timeout=45), environ={}
    )

    assert settings.token == "ntn_token"
    assert settings.database_id == DASHED
    assert settings.base_url == "https://api.notion.com"
    assert settings.rate_limit == 2.5
    assert settings.stage_timeout == 45
    assert settings.properties == PropertyNames()
    assert settings.data_source_id is None
    assert (settings.request_timeout, settings.create_settle) == (30.0, 65.0)


def test_property_names_are_mapped_by_their_variables() -> None:
    settings = NotionSettings.from_env(
        shared_settings(),
        environ={
            "NOTION_PROPERTY_NAME": "Title",
            "notion_property_tags": " Keywords ",
            "NOTION_PROPERTY_PUBLISHED": "Date",
            "NOTION_DATA_SOURCE_ID": "https://www.notion.so/x/" + "f" * 32,
            "NOTION_REQUEST_TIMEOUT": "12.5",
        },
    )

    assert settings.properties.title == "Title"
    assert settings.properties.tags == "Keywords"
    assert settings.properties.published == "Date"
    assert settings.properties.url == "URL"
    assert settings.data_source_id == "ffffffff-ffff-ffff-ffff-ffffffffffff"
    assert settings.request_timeout == 12.5


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"NOTION_PROPERTY_URL": "  "}, "NOTION_PROPERTY_URL"),
        ({"NOTION_PROPERTY_SUMMARY": "Name"}, "NOTION_PROPERTY_NAME and NOTION_PROPERTY_SUMMARY"),
        ({"NOTION_REQUEST_TIMEOUT": "soon"}, "NOTION_REQUEST_TIMEOUT"),
        ({"NOTION_REQUEST_TIMEOUT": "0"}, "NOTION_REQUEST_TIMEOUT"),
        ({"NOTION_CREATE_SETTLE": "-1"}, "NOTION_CREATE_SETTLE"),
        ({"NOTION_DATA_SOURCE_ID": "abc"}, "NOTION_DATA_SOURCE_ID"),
    ],
)
def test_a_bad_value_is_a_configuration_error_naming_its_variable(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        NotionSettings.from_env(shared_settings(), environ=environ)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"notion_token": None}, "NOTION_TOKEN"),
        ({"notion_database_id": "my db"}, "NOTION_DATABASE_ID"),
    ],
)
def test_missing_credentials_name_their_variable(overrides: dict[str, Any], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        NotionSettings.from_env(shared_settings(**overrides), environ={})


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
    assert notion_id(value, "NOTION_DATABASE_ID") == DASHED


def test_settings_come_from_a_dot_env_file_below_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("NOTION_PROPERTY_TAGS=Labels\nNOTION_PROPERTY_URL=Link\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NOTION_PROPERTY_URL", "Source")

    settings = NotionSettings.from_env(shared_settings())

    assert (settings.properties.tags, settings.properties.url) == ("Labels", "Source")
