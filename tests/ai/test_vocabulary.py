"""The tag vocabulary's rule: one key per tag, existing tags first, new tags are topics."""

from __future__ import annotations

import socket

import pytest

from services.ai import similarity
from services.ai.morphology import dictionary_form
from services.ai.tagwords import clean_label, is_generic, normal_key
from services.ai.text import stopwords_for
from services.ai.vocabulary import ArticleWords, Vocabulary, is_new_topic

TEXT = (
    "Machine learning helps radiologists read scans. The hospital in Zürich trained a "
    "neural network on 20,000 scans from 2019 and 2020; the software flags tumours that "
    "doctors missed. COVID-19 delayed the study, the AI team said on Monday. The NHS may "
    "buy the software next year, and the company said it would also work on smartphones."
)


@pytest.mark.parametrize(
    "spelling",
    [
        "Machine learning",
        "machine-learning",
        "Machine Learnings",
        "MachineLearning",
        " «machine learning» ",
    ],
)
def test_spellings_of_one_tag_share_a_key(spelling: str) -> None:
    assert normal_key(spelling) == "machinelearning"


def test_accents_and_case_do_not_make_another_tag() -> None:
    assert normal_key("Zürich") == normal_key("zurich")
    assert normal_key("Café") == normal_key("CAFE")
    assert normal_key("Iran") != normal_key("Iraq")


def test_labels_lose_surrounding_quotes_and_spaces() -> None:
    assert clean_label('  "Machine   learning". ') == "Machine learning"


def test_existing_tags_win_in_their_own_spelling() -> None:
    vocabulary = Vocabulary(["Machine-Learning", "Organisation", "NHS"])

    assert vocabulary.existing("machine learnings") == "Machine-Learning"
    assert vocabulary.existing("organization") == "Organisation"
    assert vocabulary.existing("nhs") == "NHS"
    assert vocabulary.existing("radiology") is None


def test_a_tag_in_other_words_becomes_the_existing_tag() -> None:
    vocabulary = Vocabulary(["film", "COVID-19", "New York"])

    assert vocabulary.existing("movie") == "film"
    assert vocabulary.existing("coronavirus") == "COVID-19"
    # A part of a tag names something else than the whole.
    assert vocabulary.existing("York") is None


def test_the_embedding_model_loads_from_the_wheel_without_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the embedding model tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    similarity._loaded.cache_clear()

    first = similarity.embedder()

    assert similarity.embedder() is first  # once per process
    assert similarity.embed(["qubit"]).shape == (1, 256)


@pytest.mark.parametrize(
    ("tag", "is_topic"),
    [
        ("machine learning", True),
        ("neural network", True),
        ("Zürich", True),
        ("COVID-19", True),
        ("AI", True),
        ("NHS", True),
        ("tumours", True),
        ("company", False),  # among the most common words
        ("year", False),  # a stopword
        ("Monday", False),  # a date
        ("2019", False),  # a number
        ("20,000", False),
        ("missed", False),  # a past participle
        ("blockchain", False),  # not in the article
        ("the software", False),  # begins with a stopword
    ],
)
def test_a_new_tag_is_a_topic_of_its_article(tag: str, is_topic: bool) -> None:
    article = ArticleWords.of(TEXT)

    assert is_new_topic(tag, article, "en", stopwords_for("en")) is is_topic


RUSSIAN_TEXT = (
    "Какую кухню выбрать? Вы можете заказать кухню мастера: блокчейн здесь ни при чём, "
    "но искусственный интеллект уже помогает дизайнерам. Продукты и техника для кухни "
    "стоят дорого, поэтому мастера советуют считать заранее."
)


@pytest.mark.parametrize(
    ("tag", "is_topic"),
    [
        ("кухню", True),  # a noun, in the form the text writes it
        ("блокчейн", True),  # a word the dictionary does not know: a name, a loanword
        ("искусственный интеллект", True),
        ("можете", False),  # a form of the stopword "мочь"
        ("какую", False),  # a form of the stopword "какой"
        ("заказать", False),  # a verb
        ("дорого", False),  # an adverb
        ("искусственный", False),  # an adjective alone
    ],
)
def test_russian_function_words_are_no_topic_in_any_form(tag: str, is_topic: bool) -> None:
    article = ArticleWords.of(RUSSIAN_TEXT)

    assert is_new_topic(tag, article, "ru", stopwords_for("ru")) is is_topic


def test_generic_words_are_told_by_their_frequency() -> None:
    assert is_generic("company", "en")
    assert is_generic("water", "en")
    assert not is_generic("radiologist", "en")
    assert is_generic("会社", "ja")  # "company", read from the list without a segmenter
    assert not is_generic("software", "en")
    # No frequency list for a language: nothing is called generic.
    assert not is_generic("company", "xx")


def test_resolving_keeps_existing_tags_and_topics_and_drops_the_rest() -> None:
    vocabulary = Vocabulary(["Machine-Learning", "Software"])

    tags = vocabulary.resolve(
        ["machine learning", "machine-learning", "software", "company", "tumours", "Monday"],
        TEXT,
        "en",
    )

    assert tags == ["Machine-Learning", "Software", "tumours"]


def test_russian_case_forms_of_a_noun_are_one_tag() -> None:
    text = "Продукты для кухни, в кухне и в Москве: создание продуктов."

    assert Vocabulary(["кухня"]).resolve(["кухни", "кухне"], text, "ru") == ["кухня"]
    # A new noun tag is saved in its dictionary form, a name keeps its capital.
    assert Vocabulary([]).resolve(["продукты", "кухне"], text, "ru") == ["продукт", "кухня"]
    assert dictionary_form("Москве", "ru") == "Москва"
    assert dictionary_form("искусственный интеллект", "ru") == "искусственный интеллект"
    assert dictionary_form("kitchens", "en") == "kitchens"  # no analyser: as written
