"""The local provider's summary: the text's most central sentences, in their order.

Sentences are ranked by TextRank, nudged towards the lead and towards the title's words,
and the best are kept up to the sentence count and SUMMARY_MAX_CHARS.
"""

from __future__ import annotations

import math

from services.ai.analysis import ArticleText
from services.ai.text import join_sentences
from services.ai.textrank import rank_sentences

SUMMARY_MAX_CHARS = 1200
# Sentences TextRank compares; later ones of a very long text are rarely summary material
# and would make the comparison quadratic in the length of the text.
MAX_RANKED_SENTENCES = 400
#: Pages whose essentials are spread over the text rather than put first: a thread's
#: replies, a list's entries (``content.page_type``).
SPREAD_PAGE_TYPES = frozenset({"forum", "listing", "collection"})


def extractive_summary(
    text: ArticleText, summary_sentences: int, page_type: str | None = None
) -> str:
    """Return the ``summary_sentences`` most central sentences, in the order of the text.

    On a page of a type in SPREAD_PAGE_TYPES every position weighs the same: a thread's
    summary draws on its replies, not only on its opening post.
    """
    sentences = text.sentences
    if len(sentences) <= summary_sentences:
        return _cap(join_sentences(sentences))
    # Bylines, captions and one-word lines are no summary material.
    candidates = [
        index
        for index, found in enumerate(text.sentence_words)
        if len(found) >= 5 and text.content[index]
    ] or list(range(len(sentences)))
    candidates = candidates[:MAX_RANKED_SENTENCES]
    word_sets = [frozenset(text.content[index]) for index in candidates]
    title = frozenset(text.title_content)
    # News puts the essentials first, and the title names them: the random surfer
    # lands more often on early sentences and on those sharing the title's words.
    spread = page_type in SPREAD_PAGE_TYPES
    prior = [
        (1 + len(found & title)) / (1.0 if spread else math.sqrt(1 + position))
        for position, found in enumerate(word_sets)
    ]
    ranks = rank_sentences(word_sets, prior)
    order = sorted(range(len(candidates)), key=lambda k: (-ranks[k], candidates[k]))
    chosen: list[int] = []
    length = 0
    for position in order:
        index = candidates[position]
        if len(chosen) == summary_sentences:
            break
        if chosen and length + 1 + len(sentences[index]) > SUMMARY_MAX_CHARS:
            continue
        # Pages repeat lines (teasers, pull quotes); a summary says each thing once.
        if any(sentences[index] == sentences[other] for other in chosen):
            continue
        chosen.append(index)
        length += len(sentences[index]) + 1
    return _cap(join_sentences([sentences[index] for index in sorted(chosen)]))


def _cap(summary: str) -> str:
    """Cut ``summary`` at a space, if one is near, so it stays within SUMMARY_MAX_CHARS."""
    if len(summary) <= SUMMARY_MAX_CHARS:
        return summary
    head = summary[: SUMMARY_MAX_CHARS - 1]
    # Chinese and Japanese have no spaces: a space far back is no word boundary to use.
    cut = head.rfind(" ")
    return (head[:cut] if cut >= len(head) // 2 else head) + "…"
