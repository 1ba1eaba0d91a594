"""Score the parser against plain trafilatura on WCXB, overall and per page type.

The parser is measured as users get it: :func:`extract_article` with the page's URL,
the function the parse stage calls (metadata, language detection and hashing included).
Plain trafilatura is ``trafilatura.extract(html, url=url)`` with its default options.
The two take turns on each page, so a busy machine slows both alike; each page's time
is its best of ``repeat`` runs.
"""

from __future__ import annotations

import importlib
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import trafilatura

from bench.wcxb import PAGE_TYPES, PageScore, Summary, by_type, load_page, score_page
from services.parser.extract import extract_article
from shared.errors import ExtractionError

#: A candidate maps (html, url) to its text and how it was reached.
Candidate = Callable[[str, str], tuple[str, str]]


def parser_text(html: str, url: str) -> tuple[str, str]:
    """Return the parser's text of a page and its page type."""
    try:
        article = extract_article(html, url)
    except ExtractionError:
        return "", "nothing found"
    return article.text, getattr(article, "page_type", "article")


def trafilatura_text(html: str, url: str) -> tuple[str, str]:
    """Return plain trafilatura's text of a page."""
    return trafilatura.extract(html, url=url) or "", "trafilatura"


CANDIDATES: dict[str, Candidate] = {"parser": parser_text, "trafilatura": trafilatura_text}


@dataclass(frozen=True)
class Result:
    """One candidate's figures per page type, its time per page and how it classified."""

    summaries: dict[str, Summary]
    ms_per_page: dict[str, float]
    labels: Counter[tuple[str, str]]


def evaluate(page_ids: list[str], names: list[str], repeat: int = 1) -> dict[str, Result]:
    """Run the named candidates over ``page_ids``; return their results."""
    scores: dict[str, dict[str, PageScore]] = {name: {} for name in names}
    seconds: dict[str, dict[str, float]] = {name: {} for name in names}
    labels: dict[str, Counter[tuple[str, str]]] = {name: Counter() for name in names}
    types: dict[str, str] = {}
    warmed = False
    for page_id in page_ids:
        page = load_page(page_id)
        types[page_id] = page.page_type
        if not warmed:  # imports and models loaded on first use are not timed
            for name in names:
                CANDIDATES[name](page.html, page.url)
            _warm_up_referee()
            warmed = True
        for name in names:
            best = float("inf")
            for _round in range(repeat):
                started = time.perf_counter()
                text, label = CANDIDATES[name](page.html, page.url)
                best = min(best, time.perf_counter() - started)
            for kind in (page.page_type, "all"):
                seconds[name][kind] = seconds[name].get(kind, 0.0) + best
            scores[name][page_id] = score_page(text, page)
            labels[name][(page.page_type, label)] += 1
    counts = Counter(types.values())
    counts["all"] = len(types)
    return {
        name: Result(
            summaries=by_type(scores[name], types),
            ms_per_page={kind: seconds[name][kind] * 1000 / counts[kind] for kind in counts},
            labels=labels[name],
        )
        for name in names
    }


def print_table(results: dict[str, Result]) -> None:
    """Print F1 per page type, snippets and time per page, the candidates side by side."""
    names = list(results)
    header = "type".ljust(15) + "pages".rjust(6)
    header += "".join(f"{name[:11]:>12}" for name in names) + "".join(
        f"{'ms ' + name[:8]:>12}" for name in names
    )
    print(header)
    print("-" * len(header))
    first = results[names[0]].summaries
    for kind in ("all", *PAGE_TYPES):
        if kind not in first:
            continue
        row = kind.ljust(15) + f"{first[kind].pages:6d}"
        row += "".join(f"{results[name].summaries[kind].f1:12.3f}" for name in names)
        row += "".join(f"{results[name].ms_per_page[kind]:12.1f}" for name in names)
        print(row)
    print()
    for name in names:
        overall = results[name].summaries["all"]
        print(
            f"{name}: 'with' snippets found {overall.with_found:.1%}, "
            f"'without' snippets leaked {overall.without_leaked:.1%}"
        )
    if "parser" in results and "trafilatura" in results:
        ratio = results["parser"].ms_per_page["all"] / results["trafilatura"].ms_per_page["all"]
        print(f"parser time vs plain trafilatura: {ratio:.2f}x (limit 1.5x)")


def print_confusion(result: Result) -> None:
    """Print how the parser classified the pages of each true type."""
    print("page types: true (rows) vs the parser's (columns)")
    print("".ljust(15) + "".join(f"{kind[:7]:>8}" for kind in PAGE_TYPES))
    for truth in PAGE_TYPES:
        row = [result.labels[(truth, guess)] for guess in PAGE_TYPES]
        if any(row):
            print(truth.ljust(15) + "".join(f"{count:8d}" for count in row))


def _warm_up_referee() -> None:
    """Import newspaper4k, which the parser imports on the first page it referees."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        importlib.import_module("newspaper")
