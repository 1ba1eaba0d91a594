"""TextRank: rank sentences and words by their centrality in a graph of the text.

Mihalcea and Tarau's method (2004): sentences are linked by the words they share, words by
their co-occurrence within a few positions, and PageRank finds the nodes that the rest
of the text leans on. A central sentence restates what many others say, which makes it
summary material; a central word is a subject, which makes it tag material.

Plain Python, sized for articles: the sentence graph keeps each sentence's strongest
links only, and iterations stop once the ranks settle.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from operator import mul, sub

DAMPING = 0.85
MAX_ITERATIONS = 30
#: Total change of the ranks (which sum to 1) below which they have settled.
TOLERANCE = 1e-4
#: Links kept per sentence: enough for the ranking, few enough to stay fast on long texts.
SENTENCE_NEIGHBOURS = 8
#: Words linked to the next ones within this many positions (stopwords removed).
WORD_WINDOW = 2


def pagerank(
    links: Sequence[dict[int, float]],
    prior: Sequence[float] | None = None,
) -> list[float]:
    """Return the PageRank of each node of an undirected weighted graph.

    ``links[i]`` maps each neighbour of node ``i`` to the weight of their link. ``prior``
    is where the random surfer jumps (personalised PageRank); uniform when None. The
    ranks sum to 1.
    """
    count = len(links)
    if count == 0:
        return []
    if prior is None or not sum(prior):
        base = [1.0 / count] * count
    else:
        total = sum(prior)
        base = [value / total for value in prior]
    strength = [sum(neighbours.values()) for neighbours in links]
    # Each node receives from a neighbour its rank times the link's share of the
    # neighbour's total weight: precompute those shares once.
    sources: list[list[int]] = [[] for _ in range(count)]
    shares: list[list[float]] = [[] for _ in range(count)]
    for source, neighbours in enumerate(links):
        if strength[source]:
            for target, weight in neighbours.items():
                sources[target].append(source)
                shares[target].append(weight / strength[source])
    # Nodes without links give their rank back through the prior, so ranks keep summing to 1.
    dangling = [node for node in range(count) if not strength[node]]
    ranks = list(base)
    for _ in range(MAX_ITERATIONS):
        lost = DAMPING * sum(ranks[node] for node in dangling)
        # map() keeps the inner products in C: this loop is most of the local provider's time.
        updated = [
            (1 - DAMPING + lost) * base[node]
            + DAMPING * sum(map(mul, map(ranks.__getitem__, sources[node]), shares[node]))
            for node in range(count)
        ]
        change = sum(map(abs, map(sub, updated, ranks)))
        ranks = updated
        if change < TOLERANCE:
            break
    return ranks


def rank_sentences(
    sentence_words: Sequence[frozenset[str]], prior: Sequence[float] | None = None
) -> list[float]:
    """Return the TextRank score of each sentence, given the set of its content words.

    Two sentences are linked by the words they share, normalised by their lengths
    (|A ∩ B| / (log |A| + log |B|)) so that long sentences do not win by size alone.
    """
    postings: dict[str, list[int]] = defaultdict(list)
    for index, found in enumerate(sentence_words):
        for word in found:
            postings[word].append(index)
    shared: list[dict[int, int]] = [defaultdict(int) for _ in sentence_words]
    for indexes in postings.values():
        for position, first in enumerate(indexes):
            for second in indexes[position + 1 :]:
                shared[first][second] += 1
    weights: list[dict[int, float]] = [{} for _ in sentence_words]
    norms = [math.log(len(found) + 1) for found in sentence_words]
    for first, others in enumerate(shared):
        for second, overlap in others.items():
            weight = overlap / (norms[first] + norms[second])
            weights[first][second] = weight
            weights[second][first] = weight
    pruned = [_strongest(neighbours, SENTENCE_NEIGHBOURS) for neighbours in weights]
    # Keep links symmetric: a link either end kept stays.
    links: list[dict[int, float]] = [dict(neighbours) for neighbours in pruned]
    for first, neighbours in enumerate(pruned):
        for second, weight in neighbours.items():
            links[second].setdefault(first, weight)
    return pagerank(links, prior)


def rank_words(runs: Sequence[Sequence[str]], nodes: set[str] | None = None) -> dict[str, float]:
    """Return the TextRank score of each word, from runs of content words in text order.

    Words are linked when they occur within WORD_WINDOW positions of each other in a run
    (a sentence without its stopwords). ``nodes`` limits the graph to some words.
    """
    index: dict[str, int] = {}
    links: list[dict[int, float]] = []
    for run in runs:
        kept = [word for word in run if nodes is None or word in nodes]
        for position, word in enumerate(kept):
            if word not in index:
                index[word] = len(links)
                links.append({})
            node = index[word]
            for other in kept[max(0, position - WORD_WINDOW + 1) : position]:
                neighbour = index[other]
                if neighbour != node:
                    links[node][neighbour] = links[node].get(neighbour, 0.0) + 1.0
                    links[neighbour][node] = links[neighbour].get(node, 0.0) + 1.0
    ranks = pagerank(links)
    return {word: ranks[node] for word, node in index.items()}


def _strongest(neighbours: dict[int, float], keep: int) -> dict[int, float]:
    """Return the ``keep`` heaviest links of a node."""
    if len(neighbours) <= keep:
        return neighbours
    heaviest = sorted(neighbours.items(), key=lambda item: (-item[1], item[0]))[:keep]
    return dict(heaviest)
