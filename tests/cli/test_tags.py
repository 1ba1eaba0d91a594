"""``kbm tags``, ``kbm tags merge`` and ``kbm tags rename`` against the real gateway."""

from __future__ import annotations

import json

from click.testing import CliRunner

from services.cli.main import cli
from shared.db import database
from shared.models import Enrichment
from tests.library import enriched_link


def _kbm(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    # Without ``main``'s handler an error is the result's exception, not printed.
    error = f"{result.exception}" if result.exception else ""
    return result.exit_code, result.output + error


def test_kbm_tags_lists_the_vocabulary_with_counts(served_gateway: str) -> None:
    enriched_link(1, ["qubits", "ML"])
    enriched_link(2, ["qubits"])

    code, text = _kbm("tags")

    assert code == 0, text
    rows = [line.split() for line in text.splitlines()[2:]]
    assert rows[:2] == [["2", "ai", "qubits"], ["1", "ai", "ML"]]
    code, text = _kbm("tags", "--json")
    assert json.loads(text)[0] == {"name": "qubits", "source": "ai", "uses": 2}


def test_kbm_tags_merge_and_rename_change_every_link(served_gateway: str) -> None:
    first = enriched_link(1, ["ML", "qubits"])
    second = enriched_link(2, ["machine-learning"])

    code, text = _kbm("tags", "merge", "ML", "nothing-like-it", "machine learning")
    assert code != 0 and "no tag named 'nothing-like-it'" in text

    # Into a name no tag has yet: the tags become that one
    code, text = _kbm("tags", "merge", "ML", "machine-learning", "machine learning")
    assert code == 0, text
    assert text.strip() == "tag 'machine learning': 2 links changed"
    code, text = _kbm("tags", "merge", "machine learning", "Machine Learning")
    assert code == 0, text
    assert text.strip() == "tag 'Machine Learning': 0 links changed"
    code, text = _kbm("tags", "rename", "machine learning", "Machine Learning")
    assert code == 0, text

    with database.connection_context():
        assert Enrichment.get(Enrichment.link == first).tags == ["Machine Learning", "qubits"]
        assert Enrichment.get(Enrichment.link == second).tags == ["Machine Learning"]
    code, text = _kbm("tags", "merge", "qubits")
    assert code != 0 and "the tag to merge them into" in text
