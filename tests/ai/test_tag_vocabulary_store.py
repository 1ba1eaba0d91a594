"""The vocabulary in PostgreSQL: claims converge under concurrency; merge, rename, keys."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from peewee import IntegrityError

from services.ai import actors
from shared import store, tags
from shared.db import bind_database, database
from shared.errors import InvalidRequest, NotFound
from shared.migrations import MIGRATIONS, migrate
from shared.models import Enrichment, Link, LinkTag, Tag
from tests.library import enrich

THREADS = 8


def _links(count: int) -> list[int]:
    return [
        Link.create(url=f"https://ex.org/{n}", normalized_url=f"https://ex.org/{n}").id
        for n in range(count)
    ]


def _at_once(work: Callable[[int], Any], count: int = THREADS) -> list[Any]:
    """Run ``work(n)`` in ``count`` threads released together; return their results."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            with database.connection_context():
                barrier.wait()
                results[n] = work(n)
        except BaseException as ex:  # reported below, in the test's thread
            errors.append(ex)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


def _enrich(link_id: int, names: list[str]) -> None:
    enrich(link_id, actors.save_tags(names), language="en")


def test_concurrent_saves_of_spellings_of_one_new_tag_make_one_tag(db: str) -> None:
    spellings = ["Machine learning", "machine-learning", "Machine Learning", "machine learnings"]
    with database.connection_context():
        link_ids = _links(THREADS)

    _at_once(lambda n: _enrich(link_ids[n], [spellings[n % 4], f"topic {n}"]))

    with database.connection_context():
        names = {row.tags[0] for row in Enrichment.select()}
        assert len(names) == 1
        assert Tag.select().where(Tag.key == "machinelearning").count() == 1
        tag = Tag.get(Tag.key == "machinelearning")
        assert tag.name in spellings and names == {tag.name}
        assert LinkTag.select().where(LinkTag.tag == tag.id).count() == THREADS


def test_concurrent_claims_answer_the_same_name(db: str) -> None:
    spellings = ["Zürich", "zurich", "ZURICH", "Zurich"]

    answers = _at_once(lambda n: tags.claim_tags([("zurich", spellings[n % 4])]))

    assert len({tuple(answer) for answer in answers}) == 1
    with database.connection_context():
        assert Tag.select().count() == 1


def test_a_name_without_a_key_gets_it_when_claimed(db: str) -> None:
    with database.connection_context():
        tags.add_tags(["Machine Learning"], source="notion")

        assert tags.claim_tags([("machinelearning", "Machine Learning")]) == ["Machine Learning"]
        assert Tag.get(Tag.name == "Machine Learning").key == "machinelearning"
        assert Tag.get(Tag.name == "Machine Learning").source == "notion"


def test_merging_moves_every_link_and_enrichment_to_the_target(db: str) -> None:
    with database.connection_context():
        first, second = _links(2)
        _enrich(first, ["ML", "qubits"])
        _enrich(second, ["machine learning", "ML"])

        changed = tags.merge_tags(["ML"], "machine learning")

        assert changed == [first, second]
        assert Enrichment.get(Enrichment.link == first).tags == ["machine learning", "qubits"]
        assert Enrichment.get(Enrichment.link == second).tags == ["machine learning"]
        assert [tag.name for tag in tags.vocabulary()] == ["machine learning", "qubits"]
        assert tags.vocabulary()[0].uses == 2


def test_renaming_to_an_existing_name_merges(db: str) -> None:
    with database.connection_context():
        (link,) = _links(1)
        _enrich(link, ["Qubit", "chips"])

        assert tags.rename_tag("chips", "Semiconductors") == [link]
        assert Enrichment.get(Enrichment.link == link).tags == ["Qubit", "Semiconductors"]
        assert Tag.get(Tag.name == "Semiconductors").key is None  # the ai service keys it

        assert tags.rename_tag("Semiconductors", "qubit") == [link]
        assert Enrichment.get(Enrichment.link == link).tags == ["Qubit"]


def test_merging_into_a_name_no_tag_has_yet_makes_it_that_tag(db: str) -> None:
    with database.connection_context():
        first, second = _links(2)
        _enrich(first, ["ML", "qubits"])
        _enrich(second, ["Machine-Learning", "ML"])

        changed = tags.merge_tags(["ML", "Machine-Learning"], "machine learning")

        assert changed == [first, second]
        assert Enrichment.get(Enrichment.link == first).tags == ["machine learning", "qubits"]
        assert Enrichment.get(Enrichment.link == second).tags == ["machine learning"]
        assert [(tag.name, tag.uses) for tag in tags.vocabulary()] == [
            ("machine learning", 2),
            ("qubits", 1),
        ]


def test_unknown_tags_and_blank_names_are_refused(db: str) -> None:
    with database.connection_context():
        tags.add_tags(["a tag"], source="edit")
        with pytest.raises(NotFound, match="no tag named 'nothing'"):
            tags.merge_tags(["nothing"], "a tag")
        with pytest.raises(InvalidRequest, match="must not be blank"):
            tags.rename_tag("a tag", "  ")


def test_imported_and_notion_tags_join_the_vocabulary_with_their_key(db: str) -> None:
    with database.connection_context():
        Link.create(
            url="https://ex.org/i", normalized_url="https://ex.org/i", user_tags=["Reading List"]
        )
        (link,) = _links(1)
        _enrich(link, ["machine learning", "qubits"])
        tags.add_tags(["Machine-Learning", "Climate"], source="notion")

        actors.give_keys()

        by_name = {tag.name: tag for tag in Tag.select()}
        assert by_name["Reading List"].source == "user"
        assert by_name["Climate"].key == "climate"
        # The option is another spelling of a tag in use: one tag remains.
        assert "Machine-Learning" not in by_name
        assert store.popular_tags()[:2] == ["machine learning", "qubits"]


def test_migration_10_adds_the_key_and_source_to_a_vocabulary_in_use(
    tmp_path: Path, db: str
) -> None:
    (vocabulary,) = [m for m in MIGRATIONS if m.version == 10]
    try:
        bind_database(f"sqlite:///{tmp_path}/old.sqlite3")
        migrate()
        with database.connection_context():
            indexes = [i.name for i in database.get_indexes("tag") if i.columns == ["key"]]
            for index in indexes:
                database.execute_sql(f'DROP INDEX "{index}"')
            database.execute_sql("ALTER TABLE tag DROP COLUMN key")
            database.execute_sql("ALTER TABLE tag DROP COLUMN source")
            database.execute_sql("INSERT INTO tag (name) VALUES ('qubits')")

            vocabulary.apply(database.obj)
            vocabulary.apply(database.obj)  # idempotent

            assert {"key", "source"} <= {c.name for c in database.get_columns("tag")}
            assert [(tag.name, tag.source) for tag in tags.vocabulary()] == [("qubits", "ai")]
            tags.claim_tags([("qubit", "qubits")])
            with pytest.raises(IntegrityError):
                Tag.insert(name="Qubit", key="qubit").execute()
    finally:
        database.close()
        bind_database(db)
