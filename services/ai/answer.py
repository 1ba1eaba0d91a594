"""A model's answer: find the JSON object in it and check it field by field.

Servers that honour a JSON schema answer with the bare object; others wrap it in code
fences, prose or a ``<think>`` block. :func:`extract_json` finds the object in any of
these; :func:`parse_answer` checks it against the contract and explains what is wrong in
words the model can act on when it is asked again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast, get_args

from services.ai.providers import MAX_TAGS, Sentiment
from shared.errors import EnrichmentError

#: Longest tag kept, in characters and words: tags are short, durable subjects.
MAX_TAG_CHARS = 40
MAX_TAG_WORDS = 4
FIELDS = ("summary", "category", "tags", "sentiment", "sentiment_score", "language")
SENTIMENTS: tuple[str, ...] = get_args(Sentiment)

_THINKING = re.compile(r"<think(?:ing)?>.*?(?:</think(?:ing)?>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_LANGUAGE_CODE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{2,8})*$")


class InvalidAnswer(EnrichmentError):
    """The model's answer is not a usable enrichment; the message says why."""


@dataclass(frozen=True)
class Answer:
    """The checked fields of a model's answer."""

    summary: str
    category: str
    tags: list[str]
    sentiment: Sentiment
    sentiment_score: float
    language: str | None


def extract_json(text: str) -> dict[str, Any]:
    """Return the JSON object in ``text``, however it is wrapped; raise InvalidAnswer."""
    visible = _THINKING.sub("", text).strip()
    candidates = [visible, *_FENCE.findall(visible)]
    for candidate in candidates:
        for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
            try:
                found = json.loads(attempt)
            except ValueError:
                continue
            if isinstance(found, dict):
                return found
    objects = _objects_in(visible) or _objects_in(_TRAILING_COMMA.sub(r"\1", visible))
    if objects:
        # Prose may quote a small object before the answer: prefer the one with our fields.
        return max(objects, key=lambda found: (len(set(found) & set(FIELDS)), len(found)))
    raise InvalidAnswer("the answer holds no JSON object")


def _objects_in(text: str) -> list[dict[str, Any]]:
    """Return every JSON object that starts at a ``{`` of ``text`` and is not inside another."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    position = text.find("{")
    while position != -1:
        try:
            value, end = decoder.raw_decode(text, position)
        except ValueError:
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        position = text.find("{", end)
    return found


def parse_answer(
    text: str, categories: Sequence[str], *, min_tags: int, language: str | None = None
) -> Answer:
    """Return the checked answer in ``text``, or raise InvalidAnswer saying what is wrong.

    Small slips are mended rather than refused: a category in another case, a ``#`` before
    a tag, a sixth tag, a language given as ``en-US``. ``language`` stands in for a
    language code the model got wrong.
    """
    data = extract_json(text)
    missing = [name for name in FIELDS if name not in data]
    if missing:
        raise InvalidAnswer(f"the JSON object lacks {', '.join(missing)}")
    problems: list[str] = []
    summary = data["summary"].strip() if isinstance(data["summary"], str) else ""
    if not summary:
        problems.append("summary must be a non-empty string")
    by_lowercase = {name.lower(): name for name in categories}
    raw_category = data["category"]
    category = (
        by_lowercase.get(raw_category.strip().lower(), "") if isinstance(raw_category, str) else ""
    )
    if not category:
        problems.append(
            f"category {raw_category!r} is not one of {', '.join(map(repr, categories))}"
        )
    tags = clean_tags(data["tags"])
    if len(tags) < min_tags:
        problems.append(
            f"tags must hold {min_tags} to {MAX_TAGS} distinct short tags "
            f"(at most {MAX_TAG_WORDS} words each), not {data['tags']!r}"
        )
    sentiment = str(data["sentiment"]).strip().lower()
    if sentiment not in SENTIMENTS:
        problems.append(f"sentiment {data['sentiment']!r} is not one of {', '.join(SENTIMENTS)}")
    score = _number(data["sentiment_score"])
    if score is None or not -1.0 <= score <= 1.0:
        problems.append(f"sentiment_score {data['sentiment_score']!r} is not a number from -1 to 1")
    if problems:
        raise InvalidAnswer("; ".join(problems))
    return Answer(
        summary=summary,
        category=category,
        tags=tags[:MAX_TAGS],
        sentiment=cast(Sentiment, sentiment),
        sentiment_score=round(cast(float, score), 4),
        language=_language_code(data["language"]) or language,
    )


def clean_tags(value: object) -> list[str]:
    """Return the usable tags of ``value``: stripped, without ``#``, repeats or long ones."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return []
    tags: list[str] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, str):
            continue
        tag = " ".join(item.strip().lstrip("#").split())
        if not tag or len(tag) > MAX_TAG_CHARS or len(tag.split()) > MAX_TAG_WORDS:
            continue
        if tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)
    return tags


def _number(value: object) -> float | None:
    """Return ``value`` as a float when it is a number or a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _language_code(value: object) -> str | None:
    """Return the ISO 639 code of ``value`` ("en", "en-US" → "en"), or None."""
    if not isinstance(value, str):
        return None
    match = _LANGUAGE_CODE.match(value.strip().lower())
    return match.group(1) if match else None
