"""Combine extractions into one article better than any of them alone.

trafilatura and readability-lxml score alike on the benchmark but fail on different
pages, and in typical ways: trafilatura keeps a teaser before the article or "related
stories" and newsletter boxes after it; sometimes it stops half-way. readability
rarely does either. So:

1. trafilatura's blocks are kept from the first to the last one that readability
   confirms (shares most of its 4-word shingles): what lies before or after that span
   was seen by one extractor only, and at the edges that is boilerplate. Blocks inside
   the span are all kept: a quote or table that one extractor skipped mid-article is
   still article.
2. When nearly all of trafilatura's text lies inside readability's and is less than
   half of it, trafilatura kept a fragment: readability's article is taken.
3. When the two share nothing, a third extractor (newspaper4k) decides which one found
   the article; it runs on those pages only, to keep the cost low.

On the benchmark pages this lifts F1 from 0.965 (trafilatura alone) to 0.979 for about
1.5 times trafilatura's time: ``make eval-extract`` prints the figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from services.parser.extractors import Extraction
from shared.blocks import Block

Shingle = tuple[str, str, str, str]

#: Share of a block's shingles the other extraction must hold to confirm the block.
CONFIRMED = 0.5
#: A fragment lies (almost) wholly inside the other extraction...
FRAGMENT_INSIDE = 0.95
#: ...and is less than this share of it.
FRAGMENT_SIZE = 0.5
# A block of one long token (Chinese, Japanese, Thai: no spaces) has no 4-word shingle;
# from this many characters its presence in the other text confirms it.
_UNSPACED_MIN_CHARS = 12
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Combined:
    """The chosen blocks and how they were chosen (for logs and the evaluation)."""

    blocks: list[Block]
    method: str


def shingles(text: str) -> list[Shingle]:
    """Return the 4-word shingles of ``text`` in order (the benchmark's unit of text)."""
    tokens = _TOKEN.findall(text)
    return list(zip(tokens, tokens[1:], tokens[2:], tokens[3:], strict=False))


def combine(
    primary: Extraction | None,
    secondary: Extraction | None,
    referee: Callable[[], Extraction | None],
) -> Combined | None:
    """Return the article agreed between ``primary`` and ``secondary``.

    ``referee`` is called only when both are empty or they share nothing; None means
    that no extractor found any text.
    """
    if not (primary and primary.blocks):
        primary = None
    if not (secondary and secondary.blocks):
        secondary = None
    if primary is None or secondary is None:
        alone = primary or secondary or _nonempty(referee())
        return Combined(alone.blocks, f"{alone.extractor} alone") if alone else None

    primary_shingles, secondary_shingles = shingles(primary.text), shingles(secondary.text)
    secondary_set = set(secondary_shingles)
    shared = sum(shingle in secondary_set for shingle in primary_shingles)
    primary_size, secondary_size = len(primary_shingles), len(secondary_shingles)
    if (
        primary_size
        and shared >= FRAGMENT_INSIDE * primary_size
        and primary_size < FRAGMENT_SIZE * secondary_size
    ):
        return Combined(
            secondary.blocks, f"{secondary.extractor} ({primary.extractor} kept a fragment)"
        )

    confirmed = [
        index
        for index, block in enumerate(primary.blocks)
        if _confirmed(block, secondary_set, secondary.text)
    ]
    if confirmed:
        span = primary.blocks[confirmed[0] : confirmed[-1] + 1]
        return Combined(span, f"{primary.extractor} confirmed by {secondary.extractor}")

    judge = _nonempty(referee())
    if judge is None:
        return Combined(primary.blocks, f"{primary.extractor} (no referee)")
    judge_set = set(shingles(judge.text))
    if sum(shingle in judge_set for shingle in secondary_shingles) > sum(
        shingle in judge_set for shingle in primary_shingles
    ):
        return Combined(secondary.blocks, f"{secondary.extractor} chosen by {judge.extractor}")
    return Combined(primary.blocks, f"{primary.extractor} chosen by {judge.extractor}")


def _nonempty(extraction: Extraction | None) -> Extraction | None:
    return extraction if extraction and extraction.blocks else None


def _confirmed(block: Block, other: set[Shingle], other_text: str) -> bool:
    own = shingles(block["text"])
    if own:
        return sum(shingle in other for shingle in own) >= CONFIRMED * len(own)
    text = " ".join(block["text"].split())
    return len(text) >= _UNSPACED_MIN_CHARS and text in " ".join(other_text.split())
