"""Score the parser's extraction on both benchmarks in ../shared/data.

``make eval-extract`` runs two benchmarks, each with its own metric:

1. The article-extraction benchmark (``../shared/data/pages``, 61 news pages): precision,
   recall, F1, accuracy and time per page for each candidate alone (trafilatura and
   readability as shipped, newspaper4k) and for the parser (``extract_article``,
   metadata included), then the parser's time as a multiple of trafilatura's. The
   metric is described in the pages' README: 4-word shingles, per-page ratios averaged
   over pages, F1 of the two averages.
2. WCXB's development split (``../shared/data/wcxb-dev``, 1,497 pages of seven types):
   word-level F1 overall and per page type, ``with`` / ``without`` snippets, and time
   per page, the parser beside plain ``trafilatura.extract(html, url=url)``
   (:mod:`bench.eval_wcxb`); ``--wcxb-sample N`` takes N pages of each type instead,
   ``--wcxb-types listing,service`` only the pages of those types.

A benchmark whose data is missing is reported as missing (the data lives beside the
repository, in ``../shared/data``); the command fails only when both are.
"""

from __future__ import annotations

import argparse
import logging
import re
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import trafilatura

from bench import eval_wcxb, wcxb
from bench.harness import PAGES, load_pages, report
from services.parser import metadata
from services.parser.extract import Article, extract_article
from services.parser.extractors import Extraction
from services.parser.extractors import newspaper as newspaper_extractor
from services.parser.extractors import readability as readability_extractor
from services.parser.extractors import trafilatura as trafilatura_extractor

_TOKEN = re.compile(r"\w+")
# A candidate maps (html, url) to what it found; only that call is timed.
Candidate = Callable[[str, str], "Article | Extraction | None"]


@dataclass(frozen=True)
class Scores:
    """One extractor's figures over the pages."""

    precision: float
    recall: float
    f1: float
    accuracy: float
    ms_per_page: float


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """Return the multiset of 4-grams of consecutive word tokens of ``text``."""
    tokens = _TOKEN.findall(text)
    return Counter(tuple(tokens[index : index + 4]) for index in range(len(tokens) - 3))


def page_scores(extracted: str, expected: str) -> tuple[float, float]:
    """Return one page's precision and recall as the benchmark defines them."""
    got, want = shingles(extracted), shingles(expected)
    tp = sum((got & want).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    if fp == 0 and fn == 0:
        return 1.0, 1.0
    # The benchmark divides by tp + fp + fn so that every page weighs the same; the
    # ratios below are unchanged by it.
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def score(texts: dict[str, str], expected: dict[str, str], seconds: float) -> Scores:
    """Return the figures of extracted ``texts`` against ``expected``, by page id."""
    pairs = [page_scores(texts[page_id], expected[page_id]) for page_id in expected]
    precision = sum(pair[0] for pair in pairs) / len(pairs)
    recall = sum(pair[1] for pair in pairs) / len(pairs)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = sum(
        _TOKEN.findall(texts[page_id]) == _TOKEN.findall(expected[page_id]) for page_id in expected
    )
    return Scores(precision, recall, f1, exact / len(expected), seconds * 1000 / len(expected))


def _text(result: Article | Extraction | None, titles: set[str]) -> tuple[str, str]:
    """Return the text a candidate's result stands for, and how it was reached."""
    if isinstance(result, Article):
        return result.text, result.method
    if result is None:
        return "", "nothing found"
    # As in the parser, leading blocks that repeat the page's title are dropped.
    titles = titles | ({_tokens(result.title)} if result.title else set())
    blocks = result.blocks
    while len(blocks) > 1 and _tokens(blocks[0]["text"]) in titles:
        blocks = blocks[1:]
    return "\n\n".join(block["text"] for block in blocks), result.extractor


def _tokens(text: str) -> str:
    return " ".join(_TOKEN.findall(text.lower()))


CANDIDATES: dict[str, Candidate] = {
    # trafilatura as one would use it alone: with its own fallbacks and the metadata.
    "trafilatura": lambda html, url: trafilatura_extractor.extract(
        trafilatura.load_html(html), url, fast=False
    ),
    "readability": lambda html, url: readability_extractor.extract(html, url, fast=False),
    "newspaper4k": newspaper_extractor.extract,
    # The parser's extraction, metadata, language detection and hashing included.
    "combined": extract_article,
}


def evaluate(names: list[str], repeat: int = 1) -> dict[str, tuple[Scores, Counter[str]]]:
    """Run the named candidates over every page; return their scores and methods.

    The candidates take turns on each page, so that a machine busy with something else
    slows them all alike and the time ratios hold; each page's time is its best of
    ``repeat`` runs.
    """
    pages = load_pages()
    expected = {page_id: truth for page_id, (_url, _html, truth) in pages.items()}
    documents = {
        page_id: (url, html.decode("utf-8", errors="replace"))
        for page_id, (url, html, _truth) in pages.items()
    }
    titles = {}
    for page_id, (_url, html) in documents.items():
        tree = trafilatura.load_html(html)
        titles[page_id] = {_tokens(title) for title in metadata.page_titles(tree)}
    url, html = next(iter(documents.values()))
    for name in names:
        CANDIDATES[name](html, url)  # warm-up: imports, models loaded on first use
    texts: dict[str, dict[str, str]] = {name: {} for name in names}
    methods: dict[str, Counter[str]] = {name: Counter() for name in names}
    seconds = dict.fromkeys(names, 0.0)
    for page_id, (url, html) in documents.items():
        for name in names:
            best = float("inf")
            for _round in range(repeat):
                started = time.perf_counter()
                result = CANDIDATES[name](html, url)
                best = min(best, time.perf_counter() - started)
            seconds[name] += best
            texts[name][page_id], method = _text(result, titles[page_id])
            methods[name][method] += 1
    return {name: (score(texts[name], expected, seconds[name]), methods[name]) for name in names}


def main() -> None:
    """Print the evaluation tables of both benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "candidates", nargs="*", default=list(CANDIDATES), help=", ".join(CANDIDATES)
    )
    parser.add_argument("--repeat", type=int, default=3, help="time each page's best of N runs")
    parser.add_argument("--methods", action="store_true", help="show how each page was decided")
    parser.add_argument("--articles-only", action="store_true", help="skip WCXB")
    parser.add_argument("--wcxb-only", action="store_true", help="skip the article benchmark")
    parser.add_argument(
        "--wcxb-sample", type=int, default=0, help="WCXB: N pages of each type (0: all)"
    )
    parser.add_argument("--wcxb-repeat", type=int, default=1, help="WCXB: best of N runs")
    parser.add_argument(
        "--wcxb-types",
        default="",
        help=f"WCXB: only these page types, comma-separated ({', '.join(wcxb.PAGE_TYPES)})",
    )
    args = parser.parse_args()
    unknown = set(args.candidates) - set(CANDIDATES)
    if unknown:
        parser.error(f"unknown candidates {sorted(unknown)}; choose from {', '.join(CANDIDATES)}")
    types = [kind for kind in args.wcxb_types.split(",") if kind]
    if set(types) - set(wcxb.PAGE_TYPES):
        parser.error(f"unknown page types {sorted(set(types) - set(wcxb.PAGE_TYPES))}")
    # The libraries warn about every odd page; the figures are what matters here.
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")

    ran = 0
    if not args.wcxb_only:
        if (PAGES / "expected.json").exists():
            print("== article-extraction benchmark")
            article_benchmark(args.candidates, args.repeat, args.methods)
            ran += 1
        else:
            print(f"MISSING: the article benchmark's pages are not at {PAGES} (expected.json")
            print("and <id>.html.gz files); put ../shared/data beside the repository.")
    if not args.articles_only:
        print()
        if wcxb.available():
            wcxb_benchmark(args.wcxb_sample, args.wcxb_repeat, types)
            ran += 1
        else:
            print(f"MISSING: WCXB's development split is not at {wcxb.WCXB_DEV} (html/ and")
            print("ground-truth/); put ../shared/data beside the repository.")
    if not ran:
        raise SystemExit("no benchmark data found: nothing was measured")


def wcxb_benchmark(per_type: int, repeat: int, types: list[str] | None = None) -> None:
    """Print the parser and plain trafilatura on WCXB's development split.

    ``per_type`` pages of each type (0: all), of the page ``types`` given (None: all).
    """
    ids = wcxb.stratified_sample(per_type) if per_type else wcxb.page_ids()
    what = f"a sample of {per_type} pages per type" if per_type else "all pages"
    if types:
        ids = [page_id for page_id in ids if wcxb.page_type_of(page_id) in types]
        what += f" of type {', '.join(types)}"
    print(f"== WCXB development split ({what}: {len(ids)} from {wcxb.WCXB_DEV})")
    print("word-level F1 averaged over pages; time per page, best of", repeat)
    results = eval_wcxb.evaluate(ids, list(eval_wcxb.CANDIDATES), repeat)
    eval_wcxb.print_table(results)
    print()
    eval_wcxb.print_confusion(results["parser"])


def article_benchmark(names: list[str], repeat: int, show_methods: bool) -> None:
    """Print the candidates' figures on the article-extraction benchmark."""
    results = evaluate(names, repeat)
    print(f"{len(load_pages())} pages from {PAGES}")
    columns = ("precision", "recall", "F1", "accuracy", "ms/page")
    header = "extractor".ljust(14) + "".join(column.rjust(10) for column in columns)
    print(header)
    print("-" * len(header))
    for name, (scores, _methods) in results.items():
        figures = (scores.precision, scores.recall, scores.f1, scores.accuracy)
        print(
            name.ljust(14)
            + "".join(f"{figure:10.4f}" for figure in figures)
            + f"{scores.ms_per_page:10.1f}"
        )
    if "combined" in results and "trafilatura" in results:
        combined = results["combined"][0]
        alone = [(scores.f1, name) for name, (scores, _) in results.items() if name != "combined"]
        best_f1, best_name = max(alone)
        ratio = combined.ms_per_page / results["trafilatura"][0].ms_per_page
        report(
            "combination",
            [
                ("F1 gain over the best alone", f"{combined.f1 - best_f1:+.4f} ({best_name})"),
                ("time vs trafilatura", f"{ratio:.2f}x (limit 2x)"),
            ],
        )
    if show_methods and "combined" in results:
        decided = results["combined"][1].most_common()
        report("how the combination decided", [(method, str(count)) for method, count in decided])


if __name__ == "__main__":
    main()
