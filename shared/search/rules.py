"""What a link's search document is made of, and in which language it is read.

The rules both backends follow: the fields indexed and their weights, how much of the
article is indexed, and which PostgreSQL text search configuration reads a language.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Characters of the article text indexed: a tsvector holds at most 1 MB, and the start
#: of an article says what it is about.
MAX_INDEXED_CHARS = 100_000


@dataclass(frozen=True)
class IndexedField:
    """One part of a link's search document."""

    name: str
    #: A SQL expression over ``l`` (link), ``c`` (content) and ``e`` (enrichment).
    expression: str
    #: PostgreSQL weight (``A`` highest) and the matching SQLite FTS5 bm25 weight.
    weight: str
    bm25: float


#: The title (the article's, else the one the user kept), the tags (the enrichment's and
#: the user's: JSON lists, whose punctuation the tokenizers drop), the summary and the
#: start of the article text.
INDEXED_FIELDS: tuple[IndexedField, ...] = (
    IndexedField("title", "COALESCE(c.title, l.user_title, '')", "A", 10.0),
    IndexedField("tags", "COALESCE(e.tags, '') || ' ' || COALESCE(l.user_tags, '')", "B", 5.0),
    IndexedField("summary", "COALESCE(e.summary, '')", "B", 5.0),
    IndexedField("body", f"SUBSTR(COALESCE(c.text, ''), 1, {MAX_INDEXED_CHARS})", "D", 1.0),
)

#: The text search configuration PostgreSQL 15 ships for each ISO 639-1 language code.
TEXT_SEARCH_CONFIGS: dict[str, str] = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
#: Words of an unknown or unsupported language are indexed as they are, unstemmed.
FALLBACK_CONFIG = "simple"
#: The link's language: the enrichment's reading of the text, else the page's own.
LANGUAGE_EXPRESSION = "COALESCE(NULLIF(e.language, ''), c.language, '')"


def config_for(language: str | None) -> str:
    """Return the text search configuration of an ISO code (``de``, ``pt-BR``, ``en_US``)."""
    code = (language or "").strip().lower().replace("_", "-").split("-", 1)[0]
    return TEXT_SEARCH_CONFIGS.get(code, FALLBACK_CONFIG)


def config_sql(language_sql: str = LANGUAGE_EXPRESSION) -> str:
    """Return :func:`config_for` as a SQL expression over ``language_sql`` (PostgreSQL)."""
    code = f"SPLIT_PART(REPLACE(LOWER(TRIM({language_sql})), '_', '-'), '-', 1)"
    cases = " ".join(
        f"WHEN '{iso}' THEN '{config}'" for iso, config in sorted(TEXT_SEARCH_CONFIGS.items())
    )
    return f"(CASE {code} {cases} ELSE '{FALLBACK_CONFIG}' END)"
