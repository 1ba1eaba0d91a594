"""Full-text search of links: the language rule, the index upkeep, both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import search, store
from shared.db import bind_database, database
from shared.migrations import migrate
from shared.models import Link
from shared.search.listing import LinkFilters, list_links
from shared.search.rules import config_for, config_sql
from shared.search.sqlite import SqliteSearch, fts5_query
from tests.library import enrich
from tests.shared.search_fixtures import LIBRARY, add_library, add_link


def _found(**filters: object) -> list[str]:
    page = list_links(LinkFilters(**filters))  # type: ignore[arg-type]
    return [link["url"].rsplit("/", 1)[1] for link in page["links"]]


@pytest.fixture()
def sqlite_db(db: str, tmp_path: Path) -> Iterator[str]:
    """Bind a new SQLite file (local mode), migrated; bind PostgreSQL again afterwards."""
    database.close()
    bind_database(f"sqlite:///{tmp_path}/local.db")
    migrate()
    yield "sqlite"
    database.close()
    bind_database(db)


@pytest.mark.parametrize(
    ("code", "config"),
    [("de", "german"), ("DE-at", "german"), ("pt_BR", "portuguese"), ("en-US", "english"),
     ("ru", "russian"), ("it", "italian"), ("nb", "norwegian"), ("xx", "simple"), ("", "simple"),
     (None, "simple")],
)  # fmt: skip
def test_a_language_code_picks_its_text_search_configuration(
    code: str | None, config: str, db: str
) -> None:
    assert config_for(code) == config
    # The same rule as SQL (what the index is built with) gives the same answer.
    row = database.execute_sql(f"SELECT {config_sql('%s')}", (code or "",)).fetchone()
    assert row[0] == config


def test_every_configuration_of_the_rule_exists_in_postgresql(db: str) -> None:
    from shared.search.rules import FALLBACK_CONFIG, TEXT_SEARCH_CONFIGS

    names = {row[0] for row in database.execute_sql("SELECT cfgname FROM pg_ts_config")}
    assert {*TEXT_SEARCH_CONFIGS.values(), FALLBACK_CONFIG} <= names


def test_a_german_article_is_found_by_an_inflected_form_through_the_german_config(
    db: str,
) -> None:
    add_library(**LIBRARY)
    # "Haus" is nowhere in the text; "Häuser" is, and German stemming reads both as one.
    assert _found(q="Haus") == ["haeuser"]
    assert _found(q="Fluss vermietet") == ["haeuser"]
    # Russian: "кошка" (singular) finds "кошки" (plural).
    assert _found(q="кошка") == ["koshki"]
    # English stemming: "run" finds "running".
    assert _found(q="run cost") == ["solar"]


def test_the_same_article_without_a_known_language_is_read_word_for_word(db: str) -> None:
    add_link(
        "unknown",
        title="Neue Wohnungen",
        text="Die Häuser am Fluss wurden gebaut.",
        language=None,
    )
    assert _found(q="Haus") == []
    assert _found(q="Häuser") == ["unknown"]


def test_the_title_outranks_the_article_text(db: str) -> None:
    add_link("text-only", title="Gardening", text="Notes on soil. " * 5 + "Telescope.")
    add_link("in-title", title="A telescope for beginners", text="Notes on soil.")
    assert _found(q="telescope") == ["in-title", "text-only"]


def test_a_parsed_link_not_enriched_is_indexed_by_the_reconcilers_pass(db: str) -> None:
    # Given an article stored by the parse stage, with no enrichment to follow
    url = "https://kb.example/parsed-only"
    link = Link.create(url=url, normalized_url=url)
    store.save_content(
        link.id,
        final_url=url,
        title="Tide tables",
        text="Spring tides and neap tides.",
        authors=[],
        published_at=None,
        language="en",
        top_image=None,
        word_count=5,
        content_hash="parsed-only",
    )
    # Then PostgreSQL leaves its document to the enrichment or the reconciler
    assert _found(q="tides") == []
    # When the reconciler's pass runs, it is found
    assert search.reindex_stale() == 1
    assert _found(q="tides") == ["parsed-only"]
    assert search.reindex_stale() == 0


def test_saving_an_enrichment_reindexes_the_link(db: str) -> None:
    link_id = add_link("later", title="Untitled", text="Nothing special here.")
    assert _found(q="astronomy") == []
    enrich(
        link_id,
        ["astronomy"],
        "A guide to the night sky.",
        sentiment="positive",
        sentiment_score=0.5,
        language="en",
    )
    assert _found(q="astronomy") == ["later"]
    assert _found(q="night sky") == ["later"]


def test_the_migration_indexes_links_stored_before_it(db: str) -> None:
    add_library(**LIBRARY)
    database.execute_sql("DELETE FROM link_search")
    assert _found(q="Haus") == []
    search.install(database.obj)
    assert _found(q="Haus") == ["haeuser"]


def test_filters_and_the_query_combine(db: str) -> None:
    add_library(**LIBRARY)
    assert _found(tag="ENERGY") == ["haeuser", "solar"]
    assert _found(tag="energy", q="panels") == ["solar"]
    assert _found(category="science") == ["koshki", "solar"]
    assert _found(status="published") == ["solar"]
    assert _found(q="-panels", tag="energy") == ["haeuser"]


def test_a_users_own_tag_is_a_tag_too(db: str) -> None:
    add_link("kept", title="Saved for later", text="Some text.", user_tags=["to-read"])
    assert _found(tag="To-Read") == ["kept"]
    assert _found(q="read") == ["kept"]


@pytest.mark.parametrize(
    ("query", "included", "excluded"),
    [
        ("solar panels", '"solar" AND "panels"', ""),
        ('"rooftop solar" -wind', '"rooftop solar"', '"wind"'),
        ("solar OR wind cheap", '("solar" OR "wind") AND "cheap"', ""),
        ('say "hi', '"say" AND "hi"', ""),
        ('NEAR( "x"" *', '"NEAR(" AND "x"', ""),
        ('a"b', '"a""b"', ""),  # a quote inside a word is escaped
        ("-a -b", "", '"a" OR "b"'),
        ("OR ! --", "", ""),
    ],
)
def test_a_web_search_query_becomes_quoted_fts5_terms(
    query: str, included: str, excluded: str
) -> None:
    assert fts5_query(query) == (included, excluded)


def test_local_mode_searches_with_fts5(sqlite_db: str) -> None:
    assert isinstance(search.current(), SqliteSearch)
    add_library(**LIBRARY)
    # English words are stemmed (porter); other languages are read word for word.
    assert _found(q="run cost") == ["solar"]
    assert _found(q="Häuser") == ["haeuser"]
    assert _found(q="hauser") == ["haeuser"]  # accents folded
    assert _found(q="кошки") == ["koshki"]
    assert _found(q="players -sicilian") == []
    assert _found(q="-sicilian", tag="chess") == []
    assert sorted(_found(q="solar OR chess")) == ["chess", "solar"]
    assert _found(tag="energy") == ["haeuser", "solar"]
    assert _found(tag="Wohnen", category="BUSINESS") == ["haeuser"]
    assert _found(q="!!!") == []
    page = list_links(LinkFilters(limit=2, offset=1))
    assert page["total"] == 4
    assert [link["id"] for link in page["links"]] == [3, 2]
    solar = list_links(LinkFilters(q="panels"))["links"][0]
    assert solar["page"] == "export/solar.md"
    assert solar["tags"] == ["energy", "solar"]
    assert solar["created_at"].endswith("Z")


def test_local_mode_reindexes_a_saved_enrichment(sqlite_db: str) -> None:
    link_id = add_link("later", title="Untitled", text="Nothing special here.")
    assert _found(q="astronomy") == []
    enrich(link_id, ["astronomy"], "The night sky.")
    assert _found(q="astronomy") == ["later"]
    enrich(link_id, ["geology"], "Rocks.")
    assert _found(q="astronomy") == []
    assert database.execute_sql("SELECT COUNT(*) FROM link_search").fetchone()[0] == 1
