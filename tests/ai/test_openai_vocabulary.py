"""The ``openai`` provider and the vocabulary: existing tags in the prompt, one rule out."""

from __future__ import annotations

from services.ai.enrich import enrich_article
from services.ai.prompt import MAX_EXISTING_TAGS
from tests.ai.conftest import ARTICLE, MakeProvider
from tests.ai.openai_server import OpenAIServer

EXISTING = ["Machine-Learning", "quantum computing", "Cryptography"]


def _system(server: OpenAIServer) -> str:
    (body,) = server.bodies
    return next(m["content"] for m in body["messages"] if m["role"] == "system")


def test_the_prompt_offers_the_most_used_tags_in_their_order(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    vocabulary = EXISTING + [f"tag {n}" for n in range(MAX_EXISTING_TAGS + 10)]

    enrich_article(make_provider(), ARTICLE, vocabulary)

    system = _system(server)
    offered = ", ".join(vocabulary[:MAX_EXISTING_TAGS])
    assert f"Tags already in use, most used first: {offered}." in system
    assert f"tag {MAX_EXISTING_TAGS - 3}," not in system
    assert "never a generic word" in system


def test_the_models_tags_take_the_vocabularys_spelling_and_new_ones_must_be_topics(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    server.behaviour.tags = [
        "machine learning",  # another spelling of an existing tag
        "Quantum-Computing",  # another spelling of an existing tag
        "qubits",  # a new topic of the article
        "company",  # a generic word
        "blockchain",  # not in the article
        "2024",  # a number
    ]

    result = enrich_article(make_provider(), ARTICLE, EXISTING)

    assert result.tags == ["Machine-Learning", "quantum computing", "qubits"]


def test_two_answers_in_other_spellings_converge_on_one_tag(
    server: OpenAIServer, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    server.behaviour.tags = ["Qubit", "quantum chip", "noise"]
    first = enrich_article(provider, ARTICLE, [])
    server.behaviour.tags = ["qubits", "Quantum chips", "magnetic noise"]

    second = enrich_article(provider, ARTICLE, first.tags)

    assert first.tags == ["Qubit", "quantum chip", "noise"]
    assert second.tags[:2] == ["Qubit", "quantum chip"]
