from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from services.ai.enrich import build_provider, enrich_article
from services.ai.providers import ArticleInput, Enrichment
from services.ai.providers.local import LocalProvider
from services.ai.providers.openai import OpenAIProvider
from shared.errors import (
    ConfigurationError,
    EnrichmentError,
    MissingInput,
    PermanentError,
    UnusableEnrichment,
)
from shared.settings import Settings

TEXT = """\
Researchers at the university have built a quantum computer chip that keeps its qubits \
stable for almost a second, far longer than earlier designs. The team cooled the chip to a \
fraction of a degree above absolute zero and shielded it from magnetic noise.

The result matters because quantum computers lose information quickly. Longer-lived \
qubits allow longer calculations, and the researchers say the chip could be produced with \
the same factories that make ordinary computer processors today.
"""
ARTICLE = ArticleInput(
    title="Quantum chip keeps qubits stable", text=TEXT, language=None, url="https://ex.org/q"
)
GOOD = Enrichment(
    summary="A summary.",
    category="Science",
    tags=["quantum", "qubit", "chip"],
    sentiment="positive",
    sentiment_score=0.4,
    language="en",
    provider="stub",
    model="stub-1",
    prompt_tokens=10,
    completion_tokens=5,
)


class StubProvider:
    """Answer every article with a fixed enrichment."""

    name = "stub"

    def __init__(self, answer: Enrichment, categories: Sequence[str] = ("Science", "Other")):
        self.answer = answer
        self.categories = tuple(categories)
        self.calls: list[tuple[ArticleInput, Sequence[str]]] = []

    def enrich(self, article: ArticleInput, existing_tags: Sequence[str]) -> Enrichment:
        self.calls.append((article, existing_tags))
        return self.answer


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "_env_file": None,
        "ai_provider": "auto",
        "openai_api_key": None,
        "openai_base_url": None,
    }
    return Settings.from_env(**(values | overrides))


# build_provider


def test_local_setting_builds_the_local_provider_with_the_taxonomy() -> None:
    provider = build_provider(
        settings(ai_provider="local", categories=("Tech", "Other"), summary_sentences=2)
    )

    assert isinstance(provider, LocalProvider)
    assert provider.name == "local"
    assert provider.categories == ("Tech", "Other")
    assert provider.summary_sentences == 2


def test_auto_without_openai_settings_builds_the_local_provider() -> None:
    assert isinstance(build_provider(settings(ai_provider="auto")), LocalProvider)


def test_local_setting_ignores_openai_settings() -> None:
    provider = build_provider(settings(ai_provider="local", openai_api_key="sk-test"))

    assert isinstance(provider, LocalProvider)


@pytest.mark.parametrize(
    "overrides",
    [
        {"ai_provider": "openai", "openai_api_key": "sk-test"},
        {"ai_provider": "auto", "openai_api_key": "sk-test"},
        {"ai_provider": "auto", "openai_base_url": "http://127.0.0.1:8000/v1"},
    ],
)
def test_openai_settings_build_the_openai_provider(overrides: dict[str, object]) -> None:
    provider = build_provider(
        settings(**overrides, categories=("Tech", "Other"), openai_model="llama3.1")
    )

    assert isinstance(provider, OpenAIProvider)
    assert (provider.name, provider.model, provider.categories) == (
        "openai",
        "llama3.1",
        ("Tech", "Other"),
    )


def test_a_blank_key_does_not_select_openai() -> None:
    assert isinstance(build_provider(settings(openai_api_key="  ")), LocalProvider)


def test_openai_without_a_key_or_a_server_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY, or OPENAI_BASE_URL"):
        build_provider(settings(ai_provider="openai"))


def test_the_openai_provider_takes_the_ai_settings_of_the_settings_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given AI_RPM in the environment and AI_TPM passed in
    monkeypatch.setenv("AI_RPM", "120")

    provider = build_provider(
        settings(ai_provider="openai", openai_api_key="sk-test", ai_tpm="6000")
    )

    # Then the provider works with both, read by the one Settings
    assert isinstance(provider, OpenAIProvider)
    assert (provider.settings.rpm, provider.settings.tpm) == (120, 6000)


# enrich_article: input


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_article_without_text_is_a_permanent_missing_input(text: str) -> None:
    provider = StubProvider(GOOD)

    with pytest.raises(MissingInput, match="no text") as caught:
        enrich_article(provider, replace(ARTICLE, text=text), [])

    assert isinstance(caught.value, PermanentError)
    assert "https://ex.org/q" in str(caught.value)
    assert provider.calls == []


def test_existing_tags_reach_the_provider() -> None:
    provider = StubProvider(GOOD)

    enrich_article(provider, ARTICLE, ["Quantum", "AI"])

    assert provider.calls == [(ARTICLE, ["Quantum", "AI"])]


# enrich_article: output


def test_local_enrichment_passes_the_checks() -> None:
    provider = build_provider(settings(ai_provider="local"))

    result = enrich_article(provider, ARTICLE, ["Quantum Computing", "Chips"])

    assert result.category in ("Science", "Technology")
    assert 3 <= len(result.tags) <= 5
    assert "Chips" in result.tags
    assert result.summary
    assert result.provider == "local"


def test_short_local_text_may_have_fewer_than_three_tags() -> None:
    provider = build_provider(settings(ai_provider="local"))

    result = enrich_article(provider, replace(ARTICLE, title="", text="Volcano erupts."), [])

    assert 1 <= len(result.tags) < 3
    assert result.summary == "Volcano erupts."
    assert result.category == "Other"


def test_answer_is_tidied() -> None:
    answer = replace(
        GOOD,
        summary="  A summary.\n",
        category="science",
        tags=["Quantum", "quantum ", "  qubit", "", "chip", "cooling", "noise", "zero"],
    )

    result = enrich_article(StubProvider(answer), ARTICLE, [])

    assert result.summary == "A summary."
    assert result.category == "Science"
    # "cooling" is not in the text (it says "cooled"), "zero" is a stopword:
    # neither is a topic of the article, so neither is a new tag.
    assert result.tags == ["Quantum", "qubit", "chip", "noise"]
    assert (result.prompt_tokens, result.completion_tokens) == (10, 5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"category": "Cooking"}, "not one of Science, Other"),
        ({"summary": "   "}, "empty summary"),
        ({"tags": ["quantum", "Quantum"]}, "returned 1 tag, expected 3 or more"),
        ({"sentiment": "angry"}, "sentiment"),
        ({"sentiment_score": 1.5}, "sentiment"),
    ],
)
def test_broken_answer_is_an_enrichment_error(change: dict[str, object], message: str) -> None:
    answer = replace(GOOD, **change)  # type: ignore[arg-type]

    with pytest.raises(EnrichmentError, match=message):
        enrich_article(StubProvider(answer), ARTICLE, [])


def test_a_broken_answer_of_a_provider_that_answers_the_same_every_time_is_final() -> None:
    provider = StubProvider(replace(GOOD, tags=["quantum"]))
    provider.deterministic = True  # type: ignore[attr-defined]

    with pytest.raises(UnusableEnrichment, match="returned 1 tag, expected 3") as caught:
        enrich_article(provider, ARTICLE, [])
    assert isinstance(caught.value, PermanentError)  # not retried: the answer would not change
    assert not isinstance(caught.value, EnrichmentError)


def test_few_tags_are_accepted_for_a_short_text() -> None:
    answer = replace(GOOD, tags=["volcano"])

    result = enrich_article(StubProvider(answer), replace(ARTICLE, text="Volcano erupts."), [])

    assert result.tags == ["volcano"]


# Tag reuse


def test_variants_of_existing_tags_take_the_existing_spelling() -> None:
    answer = replace(GOOD, tags=["machine learning", "Quantum-Computing", "chips", "noise"])

    result = enrich_article(
        StubProvider(answer), ARTICLE, ["Machine-Learning", "quantum computing", "Chip"]
    )

    assert result.tags == ["Machine-Learning", "quantum computing", "Chip", "noise"]


def test_two_variants_of_one_existing_tag_become_one_tag() -> None:
    answer = replace(GOOD, tags=["e-mail", "email", "qubits", "chip"])

    result = enrich_article(StubProvider(answer), ARTICLE, ["Email"])

    assert result.tags == ["Email", "qubits", "chip"]
