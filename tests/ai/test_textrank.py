from __future__ import annotations

import pytest

from services.ai.textrank import pagerank, rank_sentences, rank_words


def test_ranks_sum_to_one_and_the_hub_of_a_star_ranks_first() -> None:
    star = [{1: 1.0, 2: 1.0, 3: 1.0}, {0: 1.0}, {0: 1.0}, {0: 1.0}]

    ranks = pagerank(star)

    assert sum(ranks) == pytest.approx(1.0)
    assert ranks[0] > max(ranks[1:])
    assert ranks[1] == pytest.approx(ranks[2]) == pytest.approx(ranks[3])


def test_a_prior_favours_its_nodes() -> None:
    ring = [{1: 1.0, 3: 1.0}, {0: 1.0, 2: 1.0}, {1: 1.0, 3: 1.0}, {2: 1.0, 0: 1.0}]

    ranks = pagerank(ring, prior=[4.0, 1.0, 1.0, 1.0])

    assert ranks[0] == max(ranks)
    assert sum(ranks) == pytest.approx(1.0)


def test_isolated_nodes_keep_the_ranks_summing_to_one() -> None:
    ranks = pagerank([{1: 1.0}, {0: 1.0}, {}])

    assert sum(ranks) == pytest.approx(1.0)
    assert ranks[2] < ranks[0]


def test_an_empty_graph_has_no_ranks() -> None:
    assert pagerank([]) == []


def test_the_sentence_that_restates_the_others_ranks_first() -> None:
    sentences = [
        frozenset({"chip", "qubit", "stable"}),
        frozenset({"chip", "qubit", "cooling", "stable", "team"}),
        frozenset({"cooling", "team", "lab"}),
        frozenset({"weather", "sunny"}),
    ]

    ranks = rank_sentences(sentences)

    assert ranks.index(max(ranks)) == 1
    assert ranks[3] == min(ranks)


def test_words_linked_to_many_others_rank_first() -> None:
    runs = [["quantum", "chip"], ["quantum", "computer"], ["quantum", "qubit"], ["lunch", "break"]]

    ranks = rank_words(runs)

    assert max(ranks, key=lambda word: ranks[word]) == "quantum"


def test_word_ranks_can_be_limited_to_some_words() -> None:
    ranks = rank_words([["quantum", "chip", "noise"]], nodes={"quantum", "chip"})

    assert set(ranks) == {"quantum", "chip"}
