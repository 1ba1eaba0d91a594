"""The offline provider: TextRank summary and keyphrase tags, lexicon category, VADER sentiment.

The summary is the text's most central sentences (TextRank, nudged towards the lead and
the title); tags are its keyphrases, ranked by frequency and TextRank centrality, the
tags already in use first; the category is the taxonomy entry whose keyword lexicon the
text, and above all its keyphrases, use most. Everything it needs ships inside the
installed packages (VADER's lexicon, py3langid's model), so it runs without network
access, and the same input always gives the same output.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.ai.providers.base import MAX_TAGS, MIN_TAGS, ArticleInput, Enrichment, Sentiment
from services.ai.text import (
    detect_language,
    is_content,
    same_word,
    singular,
    split_sentences,
    stem,
    stopwords_for,
    tag_key,
    words,
)
from services.ai.textrank import rank_sentences, rank_words

__all__ = ["SUMMARY_MAX_CHARS", "LocalProvider", "split_sentences"]

MODEL = "local-extractive"
SUMMARY_MAX_CHARS = 1200
MAX_TAG_CHARS = 40
# VADER's cost grows faster than linearly with the length of one string, so long
# sentences are scored in pieces, and a huge text is bounded to its first pieces.
SENTIMENT_CHUNK_WORDS = 60
SENTIMENT_MAX_CHUNKS = 2000
POSITIVE_FROM = 0.05
NEGATIVE_FROM = -0.05


# Keywords of the default taxonomy; a category is scored by how often its words occur.
CATEGORY_LEXICON: dict[str, str] = {
    "technology": """
        technology tech software hardware computer computing internet online digital app
        apps smartphone iphone android ipad laptop macbook apple google microsoft amazon
        facebook twitter meta samsung intel nvidia chip chips processor semiconductor cloud
        data algorithm artificial intelligence robot robotics automation startup developer
        developers programming code coding cybersecurity hacker hackers malware encryption
        network wireless broadband 5g gadget device devices keyboard screen display battery
        console xbox playstation nintendo gaming streaming browser website platform
        silicon user users upgrade engineering gigabyte sensor
    """,
    "science": """
        science scientist scientists research researcher researchers study studies
        experiment laboratory lab physics chemistry biology biologist astronomy astronomer
        space nasa planet planets moon moons mars jupiter saturn galaxy star stars telescope
        orbit spacecraft astronaut astronauts universe cell cells gene genes genetic dna
        molecule protein evolution species fossil quantum particle theory discovery
        mathematics journal specimen data surface atmosphere geological geology
    """,
    "business": """
        business company companies market markets stock stocks share shares investor
        investors investment bank banking finance financial economy economic revenue profit
        profits earnings sales price prices retail retailer trade tariff tariffs ceo
        executive startup deal deals merger acquisition billion dollar dollars industry
        customer customers consumer consumers brand brands growth quarter analyst analysts
        fund funds loan debt wall street nasdaq dow index valuation ipo shareholder
        shareholders inflation interest rate rates money payment payments order orders
    """,
    "politics": """
        politics political politician government president election elections vote votes
        voter voters campaign congress senate senator house representative parliament
        minister prime party parties democrat democrats democratic republican republicans
        conservative labour policy law laws legislation bill court justice judge supreme
        impeachment trump biden administration official officials governor border
        immigration immigrant immigrants migrant migrants congressman lawmaker lawmakers
        mayor diplomat diplomatic sanctions protest protesters protests police military
        treaty foreign nation national war inquiry investigation testimony
    """,
    "health": """
        health healthcare medical medicine doctor doctors nurse patient patients hospital
        hospitals clinic disease diseases virus viral infection infections vaccine vaccines
        vaccination flu cancer diabetes heart lung lungs brain symptom symptoms treatment
        therapy drug drugs pharmaceutical diet nutrition obesity fitness exercise mental
        wellbeing outbreak epidemic pandemic immune immunity surgery diagnosis illness
        chronic care insurance plague fatality deaths workout calories weight protein
    """,
    "culture": """
        culture cultural art arts artist artists museum gallery exhibition design designer
        music musician song songs album band concert singer film films movie movies cinema
        director actor actress theater theatre festival book books novel author writer
        poetry literature fashion television series show celebrity entertainment dance
        painting sculpture architecture heritage tradition religion food recipe cooking
        chef restaurant installation performance dish meal ingredient ingredients kitchen
        flavor bake baking jam
    """,
    "sports": """
        sport sports game games match matches team teams player players coach coaches
        league season championship tournament cup final finals win wins won victory defeat
        score scored scores goal goals point points football soccer basketball baseball
        hockey tennis golf cricket rugby racing race olympic olympics athlete athletes nfl
        nba mlb nhl fifa uefa stadium quarterback pitcher playoff playoffs overtime fans
        referee medal swim swimmer swimming qualifying qualifier striker defender
        medley backstroke freestyle relay title titles champion champions
    """,
    "education": """
        education educational school schools student students teacher teachers teaching
        university universities college colleges campus class classes classroom course
        courses curriculum degree degrees exam exams learning pupil pupils professor
        academic academy tuition scholarship graduate graduates kindergarten literacy
        lecture lectures homework
    """,
    "environment": """
        environment environmental climate warming emissions carbon dioxide pollution
        pollutant air quality renewable renewables solar wind energy fossil fuel fuels
        coal oil gas sustainability sustainable recycling plastic waste wildlife
        biodiversity forest forests deforestation ocean oceans conservation drought flood
        floods wildfire wildfires ecosystem species extinction green nature smog
    """,
}
CATEGORY_ALIASES = {
    "tech": "technology",
    "sport": "sports",
    "economy": "business",
    "finance": "business",
    "world": "politics",
    "arts": "culture",
    "entertainment": "culture",
    "climate": "environment",
}
FALLBACK_CATEGORY = "other"
# A category needs this much evidence (title words count triple) to beat the fallback:
# a few hits, and at least this share of the content words, so that the odd lexicon word
# in a text of another language does not decide.
MIN_CATEGORY_SCORE = 2
MIN_CATEGORY_SHARE = 0.01
# The text's most central words are its subject: they weigh extra in the category vote.
CATEGORY_KEYWORDS = 10
CATEGORY_KEYWORD_WEIGHT = 3
# Sentences TextRank compares; later ones of a very long text are rarely summary material
# and would make the comparison quadratic in the length of the text.
MAX_RANKED_SENTENCES = 400
# Below this many distinct words every word is a node of the word graph; above, only
# recurring ones and the title's (a word seen once is no subject of a long text).
SMALL_VOCABULARY = 60
# How much TextRank centrality counts against plain frequency in a tag's score.
CENTRALITY_WEIGHT = 0.5


@dataclass(frozen=True)
class _Candidate:
    """A possible tag: its comparison key, how it reads, and its weight in the text."""

    key: str
    label: str
    score: float
    first_seen: int
    #: How often it occurs (title words twice): a tag beyond the minimum must recur.
    count: float

    def resembles(self, other: _Candidate) -> bool:
        """Tell whether two tags are near-duplicates: they share a word's stem or prefix."""
        return any(
            same_word(mine, theirs) for mine in self.key.split() for theirs in other.key.split()
        )


@dataclass(frozen=True)
class _Text:
    """An article cut up once for every ranking: sentences, words, content words, ranks."""

    sentences: list[str]
    sentence_words: list[list[str]]
    #: Per sentence, its content words in singular form (the words that carry meaning).
    content: list[list[str]]
    title_words: list[str]
    title_content: list[str]
    stopwords: frozenset[str]
    #: TextRank centrality of content words, from 0 to 1 (the most central word).
    word_ranks: dict[str, float]

    @classmethod
    def of(cls, article: ArticleInput, stopwords: frozenset[str]) -> _Text:
        """Return ``article`` cut up, with its words ranked."""
        sentences = split_sentences(article.text)
        sentence_words = [words(sentence) for sentence in sentences]
        content = [_content_keys(found, stopwords) for found in sentence_words]
        title_words = words(article.title)
        title_content = _content_keys(title_words, stopwords)
        counts = Counter(key for found in content for key in found)
        nodes = None
        if len(counts) > SMALL_VOCABULARY:
            nodes = {key for key, count in counts.items() if count > 1} | set(title_content)
        ranks = rank_words([title_content, *content], nodes)
        top = max(ranks.values(), default=0.0) or 1.0
        return cls(
            sentences=sentences,
            sentence_words=sentence_words,
            content=content,
            title_words=title_words,
            title_content=title_content,
            stopwords=stopwords,
            word_ranks={key: rank / top for key, rank in ranks.items()},
        )


def _content_keys(found: Sequence[str], stopwords: frozenset[str]) -> list[str]:
    """Return the singular forms of the content words of ``found``, in order."""
    return [singular(word) for word in found if is_content(word, stopwords)]


class LocalProvider:
    """Enrich articles offline and deterministically, without any model download."""

    name = "local"
    model = MODEL

    def __init__(self, categories: Sequence[str], summary_sentences: int) -> None:
        if not categories:
            raise ValueError("categories must name at least one category")
        if summary_sentences < 1:
            raise ValueError("summary_sentences must be at least 1")
        self.categories = tuple(categories)
        self.summary_sentences = summary_sentences
        self._analyzer = SentimentIntensityAnalyzer()
        self._category_stems = {name: self._keywords_of(name) for name in self.categories}

    def enrich(self, article: ArticleInput, existing_tags: Sequence[str]) -> Enrichment:
        """Return the summary, category, tags, sentiment and language of ``article``."""
        language = article.language or self.detect_language(article.text)
        text = _Text.of(article, stopwords_for(language))
        label, score = self.sentiment([article.title, *text.sentences])
        return Enrichment(
            summary=self.summarize(text),
            category=self.categorize(text),
            tags=self.tag(text, existing_tags),
            sentiment=label,
            sentiment_score=score,
            language=language,
            provider=self.name,
            model=self.model,
            prompt_tokens=0,
            completion_tokens=0,
            cost_usd=0.0,
        )

    def summarize(self, text: _Text) -> str:
        """Return the ``summary_sentences`` most central sentences, in the order of the text."""
        sentences = text.sentences
        if len(sentences) <= self.summary_sentences:
            return _cap(" ".join(sentences))
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
        prior = [
            (1 + len(found & title)) / math.sqrt(1 + position)
            for position, found in enumerate(word_sets)
        ]
        ranks = rank_sentences(word_sets, prior)
        order = sorted(range(len(candidates)), key=lambda k: (-ranks[k], candidates[k]))
        chosen: list[int] = []
        length = 0
        for position in order:
            index = candidates[position]
            if len(chosen) == self.summary_sentences:
                break
            if chosen and length + 1 + len(sentences[index]) > SUMMARY_MAX_CHARS:
                continue
            # Pages repeat lines (teasers, pull quotes); a summary says each thing once.
            if any(sentences[index] == sentences[other] for other in chosen):
                continue
            chosen.append(index)
            length += len(sentences[index]) + 1
        return _cap(" ".join(sentences[index] for index in sorted(chosen)))

    def tag(self, text: _Text, existing_tags: Sequence[str]) -> list[str]:
        """Return 3 to 5 keyphrase tags, preferring ``existing_tags`` in their own spelling."""
        known = _known_tags(existing_tags, text.stopwords)
        # The title names the subject, so its words count twice.
        weighted = [(text.title_words, 2), *((found, 1) for found in text.sentence_words)]
        candidates = _candidates(weighted, text.stopwords, known, text.word_ranks)
        total_words = sum(len(found) for found in text.sentence_words)
        present = _count_known(weighted, known)
        # In a long text a single passing mention of a popular tag is not its subject.
        needed = 1 if total_words < 100 else 2
        ranked = [
            _Candidate(key, label, float(present[key]), -1, float(present[key]))
            for key, label in known.items()
            if present[key] >= needed
        ]
        ranked.sort(key=lambda candidate: -candidate.score)
        ranked += sorted(candidates, key=lambda candidate: (-candidate.score, candidate.first_seen))
        chosen: list[_Candidate] = []
        for candidate in ranked:
            if len(chosen) == MAX_TAGS:
                break
            # Beyond the minimum, only words that recur are worth a tag.
            if len(chosen) >= MIN_TAGS and candidate.count < 2:
                continue
            if any(candidate.resembles(other) for other in chosen):
                continue
            chosen.append(candidate)
        return [candidate.label for candidate in chosen]

    def categorize(self, text: _Text) -> str:
        """Return the category whose keywords the text, and its keyphrases, use most."""
        stems: Counter[str] = Counter()
        for key in text.title_content:
            stems[stem(key)] += 3
        for found in text.content:
            stems.update(stem(key) for key in found)
        central = sorted(text.word_ranks, key=lambda key: (-text.word_ranks[key], key))
        for key in central[:CATEGORY_KEYWORDS]:
            stems[stem(key)] += CATEGORY_KEYWORD_WEIGHT
        best, best_score = "", 0
        for name in self.categories:
            score = sum(stems[keyword] for keyword in self._category_stems[name])
            if score > best_score:
                best, best_score = name, score
        needed = max(MIN_CATEGORY_SCORE, MIN_CATEGORY_SHARE * stems.total())
        if best_score >= needed:
            return best
        return self._fallback_category()

    def sentiment(self, sentences: Sequence[str]) -> tuple[Sentiment, float]:
        """Return the label and the mean VADER compound score of ``sentences``."""
        chunks = list(_chunks(sentences))[:SENTIMENT_MAX_CHUNKS]
        if not chunks:
            return "neutral", 0.0
        total = sum(self._analyzer.polarity_scores(chunk)["compound"] for chunk in chunks)
        score = round(total / len(chunks), 4)
        if score >= POSITIVE_FROM:
            return "positive", score
        if score <= NEGATIVE_FROM:
            return "negative", score
        return "neutral", score

    def detect_language(self, text: str) -> str | None:
        """Return the ISO 639-1 code of the language of ``text``, or None if it is blank."""
        return detect_language(text)

    def _keywords_of(self, category: str) -> frozenset[str]:
        """Return the keyword stems of ``category``: its lexicon, or its name's words."""
        lowered = category.strip().lower()
        if lowered == FALLBACK_CATEGORY:
            return frozenset()
        lexicon = CATEGORY_LEXICON.get(CATEGORY_ALIASES.get(lowered, lowered), "")
        return frozenset(stem(word) for word in words(f"{lexicon} {category}"))

    def _fallback_category(self) -> str:
        """Return "Other" in the taxonomy's spelling when present, else the last category."""
        for name in self.categories:
            if name.strip().lower() == FALLBACK_CATEGORY:
                return name
        return self.categories[-1]


def _known_tags(existing_tags: Iterable[str], stopwords: frozenset[str]) -> dict[str, str]:
    """Map the comparison key of each usable existing tag to its spelling."""
    known: dict[str, str] = {}
    for tag in existing_tags:
        key = tag_key(tag)
        # A tag such as "IT" or "US" would match every "it" and "us" of the text.
        if not key or key in stopwords or len(key) > MAX_TAG_CHARS:
            continue
        known.setdefault(key, tag.strip())
    return known


def _count_known(
    weighted: Sequence[tuple[Sequence[str], int]], known: dict[str, str]
) -> Counter[str]:
    """Count how often each known tag occurs, hyphenated, spaced or written as one word."""
    by_form: dict[str, str] = {}
    for key in known:
        by_form.setdefault(key, key)
        by_form.setdefault(key.replace(" ", ""), key)
    longest = max((len(key.split()) for key in known), default=0)
    counts: Counter[str] = Counter()
    for found, weight in weighted:
        keys = [singular(word) for word in found]
        for size in range(1, longest + 1):
            for start in range(len(keys) - size + 1):
                match = by_form.get(" ".join(keys[start : start + size]))
                if match is not None:
                    counts[match] += weight
    return counts


def _candidates(
    weighted: Sequence[tuple[Sequence[str], int]],
    stopwords: frozenset[str],
    known: dict[str, str],
    word_ranks: dict[str, float],
) -> list[_Candidate]:
    """Return single words and recurring two-word phrases of the text as tag candidates.

    A candidate scores its count plus, for each repetition, a share of its TextRank
    centrality (a phrase: its most central word's), so that of two words as frequent,
    the one the text revolves around wins.
    """
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    spellings: dict[str, Counter[str]] = {}
    position = 0
    for found, weight in weighted:
        previous: str | None = None
        for word in found:
            position += 1
            if not is_content(word, stopwords):
                previous = None
                continue
            phrases = [word] if previous is None else [word, f"{previous} {word}"]
            for phrase in phrases:
                key = tag_key(phrase)
                counts[key] += weight
                first_seen.setdefault(key, position)
                spellings.setdefault(key, Counter())[phrase] += 1
            previous = word
    candidates = []
    for key, count in counts.items():
        compact = key.replace(" ", "")
        label = known.get(key) or known.get(compact) or spellings[key].most_common(1)[0][0]
        parts = key.split()
        is_phrase = len(parts) > 1
        # A phrase is a tag only when it recurs; then it beats its single words.
        if is_phrase and count < 2:
            continue
        if len(label) > MAX_TAG_CHARS:
            continue
        centrality = CENTRALITY_WEIGHT * max(word_ranks.get(part, 0.0) for part in parts)
        # Centrality adds with each repetition: a word seen once is ranked by position
        # only, as TextRank is noise on single mentions.
        score = (count + (count - 1) * centrality) * (2.0 if is_phrase else 1.0)
        candidates.append(_Candidate(key, label, score, first_seen[key], float(count)))
    return candidates


def _chunks(sentences: Iterable[str]) -> Iterable[str]:
    """Yield ``sentences``, long ones cut into pieces of at most SENTIMENT_CHUNK_WORDS."""
    for sentence in sentences:
        tokens = sentence.split()
        for start in range(0, len(tokens), SENTIMENT_CHUNK_WORDS):
            yield " ".join(tokens[start : start + SENTIMENT_CHUNK_WORDS])


def _cap(summary: str) -> str:
    """Cut ``summary`` at a word boundary so it stays within SUMMARY_MAX_CHARS."""
    if len(summary) <= SUMMARY_MAX_CHARS:
        return summary
    return summary[: SUMMARY_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
