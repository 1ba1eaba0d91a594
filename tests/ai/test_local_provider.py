from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from services.ai.providers import ArticleInput, Enrichment
from services.ai.providers.local import LocalProvider
from services.ai.summary import SUMMARY_MAX_CHARS
from services.ai.text import split_sentences
from shared.settings import DEFAULT_CATEGORIES

TECH_TEXT = """\
Apple unveiled a new MacBook Pro on Wednesday with a redesigned keyboard, a faster \
processor and a larger battery. The laptop replaces the butterfly keyboard that drew \
complaints from developers and designers for years. Apple says the new scissor-switch \
keyboard is quieter and far more reliable.

The laptop runs on a new chip that Apple designed in house. Early benchmarks suggest the \
processor is about 40 percent faster than the previous model when compiling software. \
Battery life also improved: the company promises up to eleven hours of web browsing.

Analysts expect the laptop to sell well among software developers. The keyboard was the \
most common reason given by users who refused to upgrade. Microsoft and Dell have also \
announced new laptops, but reviewers say the MacBook Pro keyboard now sets the standard \
for the industry.
"""

SPORTS_TEXT = """\
The Rangers beat the Bruins 4-2 on Saturday night, and their goalkeeper made 38 saves to \
keep the home team in the game. Mika Zibanejad scored twice in the third period, and the \
crowd at Madison Square Garden celebrated the team's fifth straight win.

The coach praised the defence after the match. "Our players blocked shots all night and \
the goalkeeper was outstanding," he told reporters. The Bruins had led 2-1 after the \
second period, but the Rangers scored three unanswered goals.

The win moves the Rangers into a playoff spot in the league standings. The team plays the \
Flyers on Tuesday, and the coach said the players will need the same effort to win again \
on the road.
"""

NEGATIVE_TEXT = """\
At least twelve people were killed and dozens injured when a bridge collapsed during the \
morning rush hour, officials said. Rescue workers searched the wreckage through the night, \
but hopes of finding more survivors faded as the rain got worse.

Families of the victims expressed anger and grief. Inspectors had warned for years that the \
bridge was unsafe, yet repairs were delayed again and again. "This tragedy was preventable, \
and the failure is criminal," said a relative of one of the dead.

The disaster has caused chaos across the city. Roads are blocked, schools are closed, and \
residents fear that other ageing bridges are just as dangerous.
"""

POSITIVE_TEXT = """\
The community garden opened on Sunday, and hundreds of happy neighbours came to celebrate. \
Volunteers planted beautiful flowers and fresh vegetables, and children enjoyed a wonderful \
afternoon of games and music.

Organisers said they were delighted and grateful for the generous support of local \
businesses. "It is a great success, and we love seeing everyone smile," one volunteer said.
"""

GERMAN_TEXT = """\
Die Bundesregierung will den Ausbau der erneuerbaren Energien deutlich beschleunigen. Nach \
den Plänen des Wirtschaftsministeriums sollen bis zum Jahr 2030 achtzig Prozent des Stroms \
aus Wind und Sonne kommen. Dafür müssen die Genehmigungsverfahren für neue Windräder \
kürzer werden.

Die Opposition kritisiert, dass die Kosten für die Verbraucher steigen könnten. Die \
Energieversorger begrüßen dagegen die Pläne und fordern schnellere Entscheidungen der Behörden.
"""

ARTICLES = [TECH_TEXT, SPORTS_TEXT, NEGATIVE_TEXT, POSITIVE_TEXT, GERMAN_TEXT]
# Independent of the provider's own list, so the test catches a stopword it forgot.
COMMON_STOPWORDS = {
    "the", "and", "of", "a", "to", "in", "is", "that", "for", "on", "with", "was", "said",
    "but", "also", "new", "der", "die", "das", "und", "für",
}  # fmt: skip


def enrich(
    text: str,
    *,
    title: str = "",
    existing: tuple[str, ...] = (),
    categories: tuple[str, ...] = DEFAULT_CATEGORIES,
    sentences: int = 3,
    language: str | None = None,
) -> Enrichment:
    provider = LocalProvider(categories, sentences)
    article = ArticleInput(title=title, text=text, language=language, url="https://example.org/a")
    return provider.enrich(article, existing)


def singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def assert_summary_is_an_ordered_extract(summary: str, text: str) -> None:
    # Consume the summary with the text's sentences, in the text's order: whatever is left
    # was either invented or taken out of order.
    rest = summary
    for sentence in split_sentences(text):
        if rest.startswith(sentence):
            rest = rest[len(sentence) :].lstrip()
    assert rest == "", f"not an ordered extract of the text: {rest[:80]!r}"


def assert_no_near_duplicates(tags: list[str]) -> None:
    seen: set[str] = set()
    for tag in tags:
        tag_words = {singular(word) for word in re.split(r"[\s-]+", tag.lower())}
        assert not tag_words & seen, f"{tag!r} repeats a word of another tag in {tags}"
        seen |= tag_words


# Summary


def test_summary_picks_sentences_of_the_text_in_document_order() -> None:
    result = enrich(TECH_TEXT, sentences=3)

    parts = split_sentences(result.summary)
    assert len(parts) == 3
    assert_summary_is_an_ordered_extract(result.summary, TECH_TEXT)


def test_summary_favours_sentences_about_the_main_subject() -> None:
    result = enrich(TECH_TEXT, sentences=1)

    assert "keyboard" in result.summary.lower() or "laptop" in result.summary.lower()


def test_summary_leads_with_the_sentence_the_text_revolves_around() -> None:
    text = (
        "Officials gave few details on Monday. "
        "The new vaccine cut flu infections in half during the trial, the health agency said. "
        "Doctors welcomed the vaccine because flu infections fill hospitals every winter. "
        "The trial gave the vaccine to ten thousand volunteers over one flu season. "
        "A spokesman for the agency declined to comment on the price. "
        "Weather in the capital was mild."
    )

    summary = enrich(text, title="Vaccine halves flu infections", sentences=1).summary

    assert summary.startswith("The new vaccine cut flu infections in half")


def test_a_ten_thousand_word_text_is_enriched_quickly(pages_dir: Path) -> None:
    pages = json.loads((pages_dir / "expected.json").read_text(encoding="utf-8"))
    text = " ".join(" ".join(page["articleBody"] for page in pages.values()).split()[:10_000])
    provider = LocalProvider(DEFAULT_CATEGORIES, 3)
    article = ArticleInput(title="", text=text, language=None, url="https://example.org/long")
    provider.enrich(article, ())  # loads the language model once

    start = time.perf_counter()
    result = provider.enrich(article, ("Apple", "China"))

    # About 0.1 s on a quiet machine; the bound leaves room for a busy CI.
    assert time.perf_counter() - start < 1.0
    assert 3 <= len(result.tags) <= 5


def test_summary_length_follows_the_setting() -> None:
    assert len(split_sentences(enrich(SPORTS_TEXT, sentences=2).summary)) == 2
    assert len(split_sentences(enrich(SPORTS_TEXT, sentences=5).summary)) == 5


def test_summary_is_capped_in_length() -> None:
    long_sentence = "The committee examined " + ", ".join(f"report {n}" for n in range(80))
    text = " ".join(f"{long_sentence} in session {n}." for n in range(10))

    summary = enrich(text, sentences=5).summary

    assert 0 < len(summary) <= SUMMARY_MAX_CHARS


def test_text_shorter_than_the_summary_is_its_own_summary() -> None:
    text = "Solar panels got cheaper again. Installers expect record demand."

    assert enrich(text, sentences=3).summary == text


def test_sentences_split_around_abbreviations_and_initials() -> None:
    text = (
        "Dr. Smith met Mr. J. Jones in Washington on Tuesday. They discussed the U.S. "
        "budget, e.g. defence spending! Was it useful? Nobody knows."
    )

    assert split_sentences(text) == [
        "Dr. Smith met Mr. J. Jones in Washington on Tuesday.",
        "They discussed the U.S. budget, e.g. defence spending!",
        "Was it useful?",
        "Nobody knows.",
    ]


def test_line_breaks_end_sentences() -> None:
    assert split_sentences("A heading without a stop\nThe first paragraph.") == [
        "A heading without a stop",
        "The first paragraph.",
    ]


# Tags


@pytest.mark.parametrize("text", [TECH_TEXT, SPORTS_TEXT, NEGATIVE_TEXT, GERMAN_TEXT])
def test_tags_are_three_to_five_lowercase_keywords(text: str) -> None:
    tags = enrich(text).tags

    assert 3 <= len(tags) <= 5
    for tag in tags:
        assert tag == tag.lower()
        assert 1 <= len(tag.split()) <= 2
        assert not set(tag.split()) & COMMON_STOPWORDS
    assert_no_near_duplicates(tags)


def test_tags_name_the_subject_of_the_article() -> None:
    assert {"keyboard", "laptop", "macbook pro", "apple"} & set(enrich(TECH_TEXT).tags)
    assert {"rangers", "goalkeeper", "team"} & set(enrich(SPORTS_TEXT).tags)


def test_tags_merge_plural_and_hyphenated_forms() -> None:
    text = (
        "Electric cars are selling fast. Many electric cars now charge in minutes. "
        "Electric-car makers expect the market for electric cars to double. Drivers like "
        "their cars, and car dealers report long waiting lists for every electric car."
    )

    tags = enrich(text).tags

    assert_no_near_duplicates(tags)
    # One tag for every form: "cars", "car" and "electric cars" are not two tags.
    assert {"electric car", "electric cars", "cars", "car"} & set(tags)
    assert sum(tag in tags for tag in ("electric car", "electric cars", "cars", "car")) == 1


def test_existing_tags_are_reused_in_their_own_spelling() -> None:
    existing = ("Machine-Learning", "Apple", "Smartphone", "Football")
    text = (
        "Apple is hiring machine learning researchers. Machine learning now runs on every "
        "iPhone, and Apple says smartphones will learn from their owners. The smartphone "
        "market expects machine learning features to sell phones."
    )

    tags = enrich(text, existing=existing).tags

    assert tags[:3] == ["Machine-Learning", "Apple", "Smartphone"]
    assert "Football" not in tags
    assert not {"machine learning", "apple", "smartphone", "smartphones"} & set(tags)


def test_existing_tags_found_in_the_text_rank_before_new_keywords() -> None:
    tags = enrich(TECH_TEXT, existing=("Battery",)).tags

    assert tags[0] == "Battery"
    assert len(tags) >= 3


def test_a_single_passing_mention_of_an_existing_tag_does_not_lead_a_long_text() -> None:
    text = TECH_TEXT + "\nThe launch event was held in California."

    tags = enrich(text, existing=("California",)).tags

    assert tags[0] != "California"


def test_very_short_text_gives_as_many_tags_as_it_has_keywords() -> None:
    tags = enrich("Volcano erupts.").tags

    assert tags == ["volcano", "erupts"] or tags == ["volcano", "erupt"]


# Category


def test_tech_article_is_technology() -> None:
    assert enrich(TECH_TEXT).category == "Technology"


def test_sports_article_is_sports() -> None:
    assert enrich(SPORTS_TEXT).category == "Sports"


def test_custom_category_matches_on_the_words_of_its_name() -> None:
    text = (
        "Spring is the season for gardening. Prepare the garden beds, plant seedlings after "
        "the last frost and water the garden in the morning. Good gardening starts with soil."
    )

    result = enrich(text, categories=("Cooking", "Gardening", "Travel"))

    assert result.category == "Gardening"


def test_custom_taxonomy_reuses_the_lexicon_of_a_known_name() -> None:
    result = enrich(SPORTS_TEXT, categories=("Finance", "Sport", "Tech"))

    assert result.category == "Sport"


def test_text_matching_no_category_falls_back_to_other() -> None:
    text = "Grandma knitted a scarf. The cat slept on it all afternoon. Nobody minded."

    assert enrich(text).category == "Other"
    assert enrich(text, categories=("Technology", "Science", "Misc")).category == "Misc"


def test_category_is_always_one_of_the_taxonomy() -> None:
    taxonomy = ("Cooking", "Gardening", "Travel")
    for text in ARTICLES:
        assert enrich(text, categories=taxonomy).category in taxonomy


# Sentiment and language


def test_negative_news_scores_negative() -> None:
    result = enrich(NEGATIVE_TEXT)

    assert result.sentiment == "negative"
    assert -1.0 <= result.sentiment_score <= -0.05


def test_happy_news_scores_positive() -> None:
    result = enrich(POSITIVE_TEXT)

    assert result.sentiment == "positive"
    assert 0.05 <= result.sentiment_score <= 1.0


def test_german_text_is_detected_as_german() -> None:
    result = enrich(GERMAN_TEXT)

    assert result.language == "de"
    assert not {"die", "der", "und", "für"} & set(result.tags)


def test_english_text_is_detected_as_english() -> None:
    assert enrich(SPORTS_TEXT).language == "en"


def test_a_given_language_counts_only_when_the_text_is_too_short_to_tell() -> None:
    assert enrich("Bonjour.", language="fr").language == "fr"
    # A page declared French whose text is English is English.
    assert enrich(SPORTS_TEXT, language="fr").language == "en"


# Whole result


def test_result_names_the_local_provider_and_costs_nothing() -> None:
    result = enrich(TECH_TEXT)

    assert (result.provider, result.model) == ("local", "local-extractive")
    assert (result.prompt_tokens, result.completion_tokens) == (0, 0)


def test_same_input_gives_the_same_output() -> None:
    existing = ("Apple", "Keyboard")

    first = [enrich(text, existing=existing) for text in ARTICLES]
    second = [enrich(text, existing=existing) for text in ARTICLES]

    assert first == second


def test_provider_rejects_an_empty_taxonomy() -> None:
    with pytest.raises(ValueError, match="categories"):
        LocalProvider((), 3)


def test_real_articles_get_well_formed_enrichments(pages_dir: Path) -> None:
    # Given real article bodies extracted from saved news pages
    pages = json.loads((pages_dir / "expected.json").read_text(encoding="utf-8"))
    provider = LocalProvider(DEFAULT_CATEGORIES, 3)

    for page in pages.values():
        text = page["articleBody"]
        article = ArticleInput(title="", text=text, language=None, url=page["url"])
        # When each is enriched
        result = provider.enrich(article, ("Apple", "Trump", "China"))

        # Then every result keeps the contract
        assert result.summary and len(result.summary) <= SUMMARY_MAX_CHARS, page["url"]
        assert_summary_is_an_ordered_extract(result.summary, text)
        assert result.category in DEFAULT_CATEGORIES
        assert 3 <= len(result.tags) <= 5, (page["url"], result.tags)
        assert_no_near_duplicates(result.tags)
        assert -1.0 <= result.sentiment_score <= 1.0
        assert result.language
