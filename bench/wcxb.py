"""WCXB, the web content extraction benchmark: its pages, its metric, its sample.

The development split lives in ``../shared/data/wcxb-dev`` (see its README): 1,497 pages
of seven types, each with a hand-reviewed ``main_content`` and ``with`` / ``without``
snippets. The metric is the benchmark's own: word-level F1 per page on lower-cased
``\\w+`` tokens as bags of words, averaged over pages, overall and per page type; plus
the share of ``with`` snippets found and of ``without`` snippets leaked
(case-insensitive substring checks).
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WCXB_DEV = ROOT.parent / "shared" / "data" / "wcxb-dev"
#: The benchmark's page types, most frequent first.
PAGE_TYPES = (
    "article",
    "service",
    "product",
    "collection",
    "forum",
    "listing",
    "documentation",
)
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class WcxbPage:
    """One benchmark page and what a good extraction of it holds."""

    page_id: str
    url: str
    page_type: str
    html: str
    main_content: str
    with_snippets: tuple[str, ...]
    without_snippets: tuple[str, ...]


@dataclass(frozen=True)
class PageScore:
    """One page's figures."""

    f1: float
    with_found: int
    with_total: int
    without_leaked: int
    without_total: int


def available(folder: Path = WCXB_DEV) -> bool:
    """Return whether the benchmark's pages are where they are expected."""
    return (folder / "ground-truth").is_dir() and (folder / "html").is_dir()


def page_ids(folder: Path = WCXB_DEV) -> list[str]:
    """Return the ids of the pages that have both HTML and ground truth, sorted."""
    return sorted(path.name[: -len(".json")] for path in (folder / "ground-truth").glob("*.json"))


def load_page(page_id: str, folder: Path = WCXB_DEV) -> WcxbPage:
    """Read one page and its ground truth."""
    truth = json.loads((folder / "ground-truth" / f"{page_id}.json").read_text())
    raw = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
    expected = truth.get("ground_truth") or {}
    return WcxbPage(
        page_id=page_id,
        url=truth.get("url") or "",
        page_type=truth["_internal"]["page_type"]["primary"],
        html=raw.decode("utf-8", errors="replace"),
        main_content=expected.get("main_content") or "",
        with_snippets=tuple(expected.get("with") or ()),
        without_snippets=tuple(expected.get("without") or ()),
    )


def page_type_of(page_id: str, folder: Path = WCXB_DEV) -> str:
    """Return a page's type without reading its HTML."""
    truth = json.loads((folder / "ground-truth" / f"{page_id}.json").read_text())
    return str(truth["_internal"]["page_type"]["primary"])


def stratified_sample(per_type: int, seed: int = 24, folder: Path = WCXB_DEV) -> list[str]:
    """Return up to ``per_type`` page ids of each type, drawn with a fixed ``seed``."""
    by_type: dict[str, list[str]] = {}
    for page_id in page_ids(folder):
        by_type.setdefault(page_type_of(page_id, folder), []).append(page_id)
    chosen: list[str] = []
    for page_type in sorted(by_type):
        ids = by_type[page_type]
        chosen += random.Random(f"{seed}:{page_type}").sample(ids, min(per_type, len(ids)))
    return sorted(chosen)


def word_f1(extracted: str, expected: str) -> float:
    """Return the benchmark's word-level F1 of one page (bags of lower-cased tokens)."""
    got = Counter(_TOKEN.findall(extracted.lower()))
    want = Counter(_TOKEN.findall(expected.lower()))
    if not want:
        return 1.0 if not got else 0.0
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(got.values())
    recall = overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def score_page(extracted: str, page: WcxbPage) -> PageScore:
    """Return the F1 and snippet counts of ``extracted`` on ``page``."""
    lowered = " ".join(extracted.lower().split())

    def present(snippet: str) -> bool:
        return " ".join(snippet.lower().split()) in lowered

    return PageScore(
        f1=word_f1(extracted, page.main_content),
        with_found=sum(present(snippet) for snippet in page.with_snippets),
        with_total=len(page.with_snippets),
        without_leaked=sum(present(snippet) for snippet in page.without_snippets),
        without_total=len(page.without_snippets),
    )


@dataclass(frozen=True)
class Summary:
    """Figures over a group of pages."""

    pages: int
    f1: float
    with_found: float
    without_leaked: float


def summarise(scores: list[PageScore]) -> Summary:
    """Average the pages' F1; pool their snippets (shares of all snippets)."""
    if not scores:
        return Summary(0, 0.0, 0.0, 0.0)
    with_total = sum(score.with_total for score in scores)
    without_total = sum(score.without_total for score in scores)
    return Summary(
        pages=len(scores),
        f1=sum(score.f1 for score in scores) / len(scores),
        with_found=sum(score.with_found for score in scores) / with_total if with_total else 1.0,
        without_leaked=(
            sum(score.without_leaked for score in scores) / without_total if without_total else 0.0
        ),
    )


def by_type(scores: dict[str, PageScore], types: dict[str, str]) -> dict[str, Summary]:
    """Return the summary of all pages (key "all") and of each page type."""
    out = {"all": summarise(list(scores.values()))}
    for page_type in PAGE_TYPES:
        group = [score for page_id, score in scores.items() if types[page_id] == page_type]
        if group:
            out[page_type] = summarise(group)
    return out
