from __future__ import annotations

import json

import pytest

from services.ai.answer import Answer, InvalidAnswer, extract_json, parse_answer

CATEGORIES = ("Technology", "Science", "Other")
GOOD = {
    "summary": "A chip keeps qubits stable.",
    "category": "Science",
    "tags": ["quantum computing", "qubits", "chips"],
    "sentiment": "positive",
    "sentiment_score": 0.4,
    "language": "en",
}
TEXT = json.dumps(GOOD)


def parse(text: str, min_tags: int = 3) -> Answer:
    return parse_answer(text, CATEGORIES, min_tags=min_tags, language="de")


# Finding the object


@pytest.mark.parametrize(
    "wrapped",
    [
        TEXT,
        f"```json\n{TEXT}\n```",
        f"```\n{TEXT}\n```",
        f"Here is the JSON you asked for:\n\n{TEXT}\n\nHope this helps!",
        f"<think>Maybe {{not this}}. The tags should be…</think>\n{TEXT}",
        f'Example: {{"a": 1}}. Answer: {TEXT}',
        TEXT.replace('"chips"]', '"chips",]'),
    ],
    ids=["bare", "fenced", "plain-fence", "prose", "thinking", "two-objects", "trailing-comma"],
)
def test_the_object_is_found_however_it_is_wrapped(wrapped: str) -> None:
    assert extract_json(wrapped) == GOOD


@pytest.mark.parametrize("text", ["", "I cannot help with that.", "[1, 2, 3]", "{broken"])
def test_an_answer_without_an_object_is_invalid(text: str) -> None:
    with pytest.raises(InvalidAnswer, match="no JSON object"):
        extract_json(text)


# Checking the fields


def test_a_good_answer_is_parsed() -> None:
    answer = parse(TEXT)

    assert answer == parse_answer(TEXT, CATEGORIES, min_tags=3)
    assert answer.category == "Science"
    assert answer.tags == ["quantum computing", "qubits", "chips"]


def test_harmless_slips_are_mended() -> None:
    sloppy = GOOD | {
        "summary": "  A chip.  ",
        "category": "science",
        "tags": ["#Quantum", "quantum", "qubits", "chips", "cooling", "noise", "labs"],
        "sentiment": "Positive",
        "sentiment_score": "0.4",
        "language": "en-US",
    }

    answer = parse_answer(json.dumps(sloppy), CATEGORIES, min_tags=3)

    assert answer.summary == "A chip."
    assert answer.category == "Science"
    assert answer.tags == ["Quantum", "qubits", "chips", "cooling", "noise"]
    assert (answer.sentiment, answer.sentiment_score, answer.language) == ("positive", 0.4, "en")


def test_tags_given_as_one_string_are_split() -> None:
    answer = parse_answer(
        json.dumps(GOOD | {"tags": "quantum, qubits, chips"}), CATEGORIES, min_tags=3
    )

    assert answer.tags == ["quantum", "qubits", "chips"]


def test_a_language_that_is_no_code_falls_back_to_the_given_one() -> None:
    answer = parse_answer(
        json.dumps(GOOD | {"language": "English"}), CATEGORIES, min_tags=3, language="en"
    )

    assert answer.language == "en"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"category": "Cooking"}, "category 'Cooking' is not one of 'Technology', 'Science'"),
        ({"category": None}, "category None"),
        ({"summary": " "}, "summary must be a non-empty string"),
        ({"tags": ["one", "One"]}, "tags must hold 3 to 5"),
        ({"tags": ["a tag that is far too long to be a durable tag at all", "b", "c"]}, "tags"),
        ({"sentiment": "angry"}, "sentiment 'angry' is not one of positive, neutral"),
        ({"sentiment_score": 7}, "sentiment_score 7 is not a number from -1 to 1"),
        ({"sentiment_score": "high"}, "sentiment_score 'high'"),
        ({"sentiment_score": True}, "sentiment_score True"),
    ],
)
def test_a_broken_field_is_explained(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidAnswer, match=message.replace("(", r"\(")):
        parse(json.dumps(GOOD | change))


def test_every_problem_is_named_at_once() -> None:
    broken = GOOD | {"category": "Cooking", "sentiment": "angry"}

    with pytest.raises(InvalidAnswer) as caught:
        parse(json.dumps(broken))

    assert "category" in str(caught.value) and "sentiment" in str(caught.value)


def test_missing_fields_are_named() -> None:
    with pytest.raises(InvalidAnswer, match="lacks sentiment_score, language"):
        parse(json.dumps({key: GOOD[key] for key in list(GOOD)[:4]}))


def test_a_short_text_may_have_a_single_tag() -> None:
    answer = parse_answer(json.dumps(GOOD | {"tags": ["volcano"]}), CATEGORIES, min_tags=1)

    assert answer.tags == ["volcano"]
