"""What the model is asked: the instructions, the JSON schema and the article.

The instructions come first and the article last, so servers that cache prompt
prefixes reuse the instructions across articles. Every structured mode carries the same
field guide; the modes without a schema add an example of the object to answer with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.ai.providers import MAX_TAGS, MIN_TAGS, ArticleInput
from shared.ai_settings import StructuredMode

#: Existing tags offered to the model: the most used ones, enough to steer reuse.
MAX_EXISTING_TAGS = 50
SCHEMA_NAME = "article_enrichment"

_EXAMPLE = (
    '{"summary": "…", "category": "…", "tags": ["…", "…", "…"], '
    '"sentiment": "neutral", "sentiment_score": 0.0, "language": "en"}'
)


@dataclass(frozen=True)
class PromptOptions:
    """The settings that shape the prompt."""

    categories: tuple[str, ...]
    summary_sentences: int
    #: A language name or code, or "article" for the article's own language.
    output_language: str = "English"
    rules: str = ""

    def language_clause(self) -> str:
        """Return the instruction on the language of the output."""
        if self.output_language.lower() == "article":
            return "the language of the article"
        return self.output_language


def enrichment_schema(categories: Sequence[str]) -> dict[str, Any]:
    """Return the JSON schema of an answer, strict-mode compatible, categories as an enum."""
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "category": {"type": "string", "enum": list(categories)},
            "tags": {"type": "array", "items": {"type": "string"}},
            "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
            "sentiment_score": {"type": "number"},
            "language": {"type": "string"},
        },
        "required": ["summary", "category", "tags", "sentiment", "sentiment_score", "language"],
        "additionalProperties": False,
    }


def response_format(mode: StructuredMode, categories: Sequence[str]) -> dict[str, Any] | None:
    """Return the ``response_format`` parameter of ``mode`` (None: send none)."""
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {
                "name": SCHEMA_NAME,
                "strict": True,
                "schema": enrichment_schema(categories),
            },
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def instructions(options: PromptOptions, existing_tags: Sequence[str], mode: StructuredMode) -> str:
    """Return the system message: the field guide, tag reuse, language, user rules."""
    categories = ", ".join(f'"{name}"' for name in options.categories)
    lines = [
        "You file web articles in a personal knowledge base. Read the article and describe "
        "it as one JSON object with these fields:",
        f'- "summary": at most {options.summary_sentences} sentences giving the main points '
        'of the article, plainly, without openings such as "The article".',
        f'- "category": exactly one of {categories}.',
        f'- "tags": {MIN_TAGS} to {MAX_TAGS} short tags (one to three words each) naming the '
        "lasting subjects of the article: fields, technologies, organisations, places, "
        "people; not one-off events, dates or moods. Lowercase except proper names, no "
        '"#", never two tags for one subject. A new tag is a name or a noun phrase the '
        "article itself uses, never a generic word (such as news, company, people), a "
        "number or a date.",
        '- "sentiment": "positive", "neutral" or "negative", the tone of the article.',
        '- "sentiment_score": a number from -1 (very negative) to 1 (very positive), '
        "consistent with the sentiment.",
        '- "language": the ISO 639-1 code of the language of the article, such as "en".',
        f"Write the summary and any new tag in {options.language_clause()}.",
    ]
    offered = [tag for tag in existing_tags if tag.strip()][:MAX_EXISTING_TAGS]
    if offered:
        lines.append(
            "Tags already in use, most used first: "
            + ", ".join(offered)
            + ". Reuse these tags, spelled exactly as here, whenever one fits the article; "
            "make a new tag only for a subject none of them covers."
        )
    if options.rules:
        lines.append(
            "Rules from the user (they refine the fields above, never the JSON format):\n"
            + options.rules
        )
    if mode != "json_schema":
        lines.append(
            "Answer with the JSON object only, without code fences or any text around it, "
            f"like this: {_EXAMPLE}"
        )
    return "\n".join(lines)


#: What the summary of each kind of page says (``content.page_type``); articles, and
#: pages of no known type, get the field guide alone.
PAGE_TYPE_GUIDES = {
    "product": "a product page: the summary describes the product (what it is, what it "
    "is for, its main features and specifications, its price when the page gives one), "
    "not the shop.",
    "forum": "a forum thread: the summary gives the question or topic that opened the "
    "discussion, then the answers and views of the replies and any conclusion reached.",
    "documentation": "a documentation page: the summary says what is documented and "
    "how it is used (the main steps, options or functions).",
    "service": "a page presenting a service or an organisation: the summary says what is "
    "offered, to whom, and on what terms when the page gives them.",
    "listing": "a listing page: the summary says what the list collects and names its "
    "most notable entries.",
    "collection": "a collection page (a catalogue or an index of items): the summary says "
    "what the collection holds and names its most notable items.",
}


def page_type_line(page_type: str | None) -> str:
    """Return the line that tells the model what kind of page it reads ("" for articles)."""
    guide = PAGE_TYPE_GUIDES.get(page_type or "")
    return f"Page type: {page_type}. This is {guide}\n" if guide else ""


def article_message(article: ArticleInput, text: str, *, parts: int = 0) -> str:
    """Return the user message: title, address, kind of page and text (or its parts)."""
    header = (
        f"Title: {article.title.strip() or '(none)'}\nURL: {article.url}\n"
        f"{page_type_line(article.page_type)}\n"
    )
    if parts:
        header += (
            f"The article is long; these are summaries of its {parts} consecutive parts, "
            "in order:\n\n"
        )
    return header + text


def enrichment_messages(
    options: PromptOptions,
    article: ArticleInput,
    text: str,
    existing_tags: Sequence[str],
    mode: StructuredMode,
    *,
    parts: int = 0,
) -> list[dict[str, str]]:
    """Return the chat messages that ask for the enrichment of ``article``."""
    return [
        {"role": "system", "content": instructions(options, existing_tags, mode)},
        {"role": "user", "content": article_message(article, text, parts=parts)},
    ]


def correction_messages(answer: str, problem: str) -> list[dict[str, str]]:
    """Return the turns that show the model its invalid answer and what is wrong with it."""
    return [
        {"role": "assistant", "content": answer},
        {
            "role": "user",
            "content": f"That answer is not valid: {problem}. Answer again with the corrected "
            "JSON object only.",
        },
    ]


def part_messages(
    options: PromptOptions, article: ArticleInput, part: str, index: int, total: int
) -> list[dict[str, str]]:
    """Return the messages that ask for the summary of one part of a long article."""
    sentences = max(3, options.summary_sentences)
    return [
        {
            "role": "system",
            "content": "You summarise one part of a long article; the summaries of all its "
            f"parts are combined afterwards. Write at most {sentences} sentences with the "
            "main facts, names and figures of this part, in "
            f"{options.language_clause()}. Answer with the summary only.",
        },
        {
            "role": "user",
            "content": f"Title: {article.title.strip() or '(none)'}\n"
            f"Part {index} of {total}:\n\n{part}",
        },
    ]
