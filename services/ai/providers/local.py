"""The offline provider: extractive summary, keyword tags, lexicon category, VADER sentiment.

Everything it needs ships inside the installed packages (VADER's lexicon, py3langid's
model), so it runs without network access, and the same input always gives the same output.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import py3langid
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.ai.providers.base import MAX_TAGS, MIN_TAGS, ArticleInput, Enrichment, Sentiment

MODEL = "local-extractive"
SUMMARY_MAX_CHARS = 1200
MAX_TAG_CHARS = 40
# Enough text for a confident guess; classifying a whole long article only costs time.
LANGUAGE_SAMPLE_CHARS = 5000
# VADER's cost grows faster than linearly with the length of one string, so long
# sentences are scored in pieces, and a huge text is bounded to its first pieces.
SENTIMENT_CHUNK_WORDS = 60
SENTIMENT_MAX_CHUNKS = 2000
POSITIVE_FROM = 0.05
NEGATIVE_FROM = -0.05


def _wordset(text: str) -> frozenset[str]:
    """Return the whitespace-separated words of a word list written as a text block."""
    return frozenset(text.split())


ABBREVIATIONS = _wordset(
    "mr mrs ms dr prof sr jr st mt vs inc ltd co corp no nos fig gen gov sen rep lt col "
    "capt sgt adm jan feb apr jun jul aug sep sept oct nov dec approx dept est al ca nr "
    "bzw vgl str mme mlle sra srta ud uds av"
)

STOPWORDS_EN = _wordset(
    """
    a about above after again against all almost along already also although always am
    among an and another any anyone anything are around as at away back be became because
    become been before being below between both but by can cannot could did do does doing
    done down during each either else enough etc even ever every few for from further get
    gets getting go goes going gone got had has have having he her here hers herself him
    himself his how however i if in including into is it its itself just least less let
    like made make makes making many may maybe me might more most much must my myself
    near need needs neither never next no nor not now of off often on once one only onto
    or other others otherwise our ours ourselves out over own per perhaps quite rather
    really same see seen she should since so some something still such than that the
    their theirs them themselves then there these they this those though through thus
    to too toward towards under until up upon us use used using very via was we well
    were what whatever when where whether which while who whom whose why will with within
    without would yet you your yours yourself yourselves
    ago according across actually add added ahead allow amid anyway ask asked based behind
    believe best better big bit came come comes coming continue day days different doesn don
    early end far find first five four full give given gives good great half high hit
    include instead keep kind know known large largest last late later lead left long look
    looking lot lots low mean means million billion month months mr mrs ms new news number
    old part past people place point put recent recently report reported reports right said
    say saying says second set several show shows side six small started take taken takes
    talk tell ten thing things think third three time times today told top total try turn
    two way ways week weeks went whole won work year years yes yesterday monday tuesday
    wednesday thursday friday saturday sunday january february march april june july august
    september october november december percent inch inches cent
    """
)

STOPWORDS_DE = _wordset(
    """
    aber alle allem allen aller alles als also am an ander andere anderen auch auf aus
    bzw daß für gab geht gut kam kommt lassen macht mal
    bei beim bereits bin bis bist da dabei damit dann darauf darum das dass dem den denn
    der des deshalb dich die dies diese diesem diesen dieser dieses dir doch dort du durch
    ein eine einem einen einer eines einige er es etwa euch euer gibt ganz gegen gewesen
    hab habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr ihre ihrem
    ihren ihrer im immer in ins ist ja jede jedem jeden jeder jedoch jetzt kann kein
    keine keinen können könnte man mehr mein meine mich mir mit muss müssen nach nicht
    nichts noch nun nur ob oder ohne schon sehr sein seine seinem seinen seiner seit
    selbst sich sie sind so soll sollen sowie über um und uns unser unter viel viele vom
    von vor war waren was weil weiter welche welchen wenn wer werden wie wieder will wir
    wird wo wurde wurden zu zum zur zwar zwischen heute jahr jahren prozent sagte
    """
)

STOPWORDS_FR = _wordset(
    """
    au aux avec avoir ce cela ces cet cette ceux chez comme dans de des donc dont du elle
    elles en encore est et été être eu fait faire il ils je la le les leur leurs lui ma
    mais me même mes moi mon ne ni nos notre nous on ont ou où par pas pendant peu peut
    plus pour qu que quel quelle qui sa sans se selon ses si son sont sous sur ta te tes
    toi ton tous tout toute toutes très tu un une vos votre vous aussi avant après alors
    ainsi bien car depuis entre était étaient leur sera seront cette année ans
    """
)

STOPWORDS_ES = _wordset(
    """
    al algo algunos ante antes como con contra cual cuando de del desde donde dos el ella
    ellas ellos en entre era eran es esa esas ese eso esos esta estaba estado están este
    esto estos fue fueron ha habia había han hasta hay la las le les lo los más me mi mis
    muy nada ni no nos nosotros o otra otras otro otros para pero poco por porque que qué
    quien se sea según ser si sido sin sobre su sus también tanto te tiene tienen todo
    todos tu un una uno unos y ya año años además así aunque cada dijo
    """
)

STOPWORDS = {"en": STOPWORDS_EN, "de": STOPWORDS_DE, "fr": STOPWORDS_FR, "es": STOPWORDS_ES}

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

# Quotes and brackets that may close a sentence or open the next one.
_CLOSERS = "\"'\u201d\u2019\u00bb)]"
_OPENERS = "\"'\u201c\u2018\u00ab(["
_SENTENCE_END = re.compile(r"[.!?…]+[" + re.escape(_CLOSERS) + r"]*\s+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_ELISIONS = frozenset({"l", "d", "j", "m", "n", "s", "t", "c", "qu"})
_SINGULAR_AS_IS = frozenset({"news", "series", "species", "physics", "politics", "economics"})
_STEM_SUFFIXES = (
    *("ations", "ation", "ings", "ing", "ers", "er", "ments", "ment", "ed", "ly"),
    *("ity", "al", "ic", "e"),
)


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; a line break always ends one."""
    sentences: list[str] = []
    for line in text.splitlines():
        paragraph = " ".join(line.split())
        start = 0
        for match in _SENTENCE_END.finditer(paragraph):
            following = paragraph[match.end() :].lstrip(_OPENERS)[:1]
            if not (following.isupper() or following.isdigit()):
                continue
            if match.group().startswith(".") and _ends_in_abbreviation(
                paragraph[start : match.start()]
            ):
                continue
            sentences.append(paragraph[start : match.end()].strip())
            start = match.end()
        if tail := paragraph[start:].strip():
            sentences.append(tail)
    return sentences


def _ends_in_abbreviation(text: str) -> bool:
    """Tell whether the period after ``text`` belongs to an abbreviation or an initial."""
    last = text.rsplit(maxsplit=1)[-1].lstrip(_OPENERS) if text.strip() else ""
    # "J. Smith", "U.S. officials", "e.g. this" and "Dr. Who" are not sentence ends.
    return len(last) == 1 or "." in last or last.lower() in ABBREVIATIONS


def words(text: str) -> list[str]:
    """Return the lowercase words of ``text``; hyphens split, possessives and elisions go."""
    found = []
    for token in _WORD.findall(text.replace("\u2019", "'").lower()):
        if "'" in token:
            head, _, tail = token.partition("'")
            if head in _ELISIONS:  # French l'économie, qu'il
                token = tail
            elif tail == "s":
                token = head
            elif tail in {"t", "re", "ve", "ll", "d", "m"}:
                continue  # English contractions are all function words
        found.append(token)
    return found


def singular(word: str) -> str:
    """Return a crude singular of an English ``word``, good enough to compare tags."""
    if len(word) <= 3 or word in _SINGULAR_AS_IS or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def stem(word: str) -> str:
    """Return a crude stem of ``word``: "gaming", "gamer" and "games" all give "gam"."""
    base = singular(word)
    for suffix in _STEM_SUFFIXES:
        if base.endswith(suffix) and len(base) - len(suffix) >= 3:
            return base[: -len(suffix)]
    return base


def tag_key(phrase: str) -> str:
    """Return the comparison key of a tag: lowercase, singular, hyphens as spaces."""
    return " ".join(singular(word) for word in words(phrase))


def _stopwords(language: str | None) -> frozenset[str]:
    """Return English stopwords plus those of ``language`` when known."""
    code = (language or "en").split("-")[0].lower()
    return STOPWORDS_EN | STOPWORDS.get(code, frozenset())


def _is_content(word: str, stopwords: frozenset[str]) -> bool:
    """Tell whether ``word`` carries meaning: not a stopword, a number or a fragment."""
    return 3 <= len(word) <= 25 and word not in stopwords and not word.isdigit()


@dataclass(frozen=True)
class _Candidate:
    """A possible tag: its comparison key, how it reads, and its weight in the text."""

    key: str
    label: str
    score: float
    first_seen: int

    def resembles(self, other: _Candidate) -> bool:
        """Tell whether two tags are near-duplicates: they share a word's stem or prefix."""
        return any(
            _same_word(mine, theirs) for mine in self.key.split() for theirs in other.key.split()
        )


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
        stopwords = _stopwords(language)
        sentences = split_sentences(article.text)
        sentence_words = [words(sentence) for sentence in sentences]
        title_words = words(article.title)
        label, score = self.sentiment([article.title, *sentences])
        return Enrichment(
            summary=self.summarize(sentences, sentence_words, stopwords),
            category=self.categorize(title_words, sentence_words, stopwords),
            tags=self.tag(title_words, sentence_words, stopwords, existing_tags),
            sentiment=label,
            sentiment_score=score,
            language=language,
            provider=self.name,
            model=self.model,
            prompt_tokens=0,
            completion_tokens=0,
        )

    def summarize(
        self,
        sentences: Sequence[str],
        sentence_words: Sequence[Sequence[str]],
        stopwords: frozenset[str],
    ) -> str:
        """Return the best ``summary_sentences`` sentences, in the order of the text."""
        if len(sentences) <= self.summary_sentences:
            return _cap(" ".join(sentences))
        frequency = Counter(
            singular(word)
            for found in sentence_words
            for word in found
            if _is_content(word, stopwords)
        )
        top = max(frequency.values(), default=1)
        scores = []
        for index, found in enumerate(sentence_words):
            content = [singular(word) for word in found if _is_content(word, stopwords)]
            # Bylines, captions and one-word lines are no summary material.
            if len(found) < 5 or not content:
                continue
            weight = sum(frequency[word] / top for word in content) / math.sqrt(len(content))
            scores.append((-weight, index))
        if not scores:
            scores = [(0.0, index) for index in range(len(sentences))]
        chosen: list[int] = []
        length = 0
        for _, index in sorted(scores):
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

    def tag(
        self,
        title_words: Sequence[str],
        sentence_words: Sequence[Sequence[str]],
        stopwords: frozenset[str],
        existing_tags: Sequence[str],
    ) -> list[str]:
        """Return 3 to 5 keyword tags, preferring ``existing_tags`` in their own spelling."""
        known = _known_tags(existing_tags, stopwords)
        # The title names the subject, so its words count twice.
        weighted = [(title_words, 2), *((found, 1) for found in sentence_words)]
        candidates = _candidates(weighted, stopwords, known)
        total_words = sum(len(found) for found in sentence_words)
        present = _count_known(weighted, known)
        # In a long text a single passing mention of a popular tag is not its subject.
        needed = 1 if total_words < 100 else 2
        ranked = [
            _Candidate(key, label, float(present[key]), -1)
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
            if len(chosen) >= MIN_TAGS and candidate.score < 2:
                continue
            if any(candidate.resembles(other) for other in chosen):
                continue
            chosen.append(candidate)
        return [candidate.label for candidate in chosen]

    def categorize(
        self,
        title_words: Sequence[str],
        sentence_words: Sequence[Sequence[str]],
        stopwords: frozenset[str],
    ) -> str:
        """Return the category of the taxonomy whose keywords the text uses most."""
        stems: Counter[str] = Counter()
        for word in title_words:
            if _is_content(word, stopwords):
                stems[stem(word)] += 3
        for found in sentence_words:
            stems.update(stem(word) for word in found if _is_content(word, stopwords))
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
        sample = text[:LANGUAGE_SAMPLE_CHARS]
        if not sample.strip():
            return None
        code, _ = py3langid.classify(sample)
        return str(code)

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
) -> list[_Candidate]:
    """Return single words and recurring two-word phrases of the text as tag candidates."""
    scores: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    spellings: dict[str, Counter[str]] = {}
    position = 0
    for found, weight in weighted:
        previous: str | None = None
        for word in found:
            position += 1
            if not _is_content(word, stopwords):
                previous = None
                continue
            phrases = [word] if previous is None else [word, f"{previous} {word}"]
            for phrase in phrases:
                key = tag_key(phrase)
                scores[key] += weight
                first_seen.setdefault(key, position)
                spellings.setdefault(key, Counter())[phrase] += 1
            previous = word
    candidates = []
    for key, score in scores.items():
        compact = key.replace(" ", "")
        label = known.get(key) or known.get(compact) or spellings[key].most_common(1)[0][0]
        is_phrase = " " in key
        # A phrase is a tag only when it recurs; then it beats its single words.
        if is_phrase and score < 2:
            continue
        if len(label) > MAX_TAG_CHARS:
            continue
        candidates.append(
            _Candidate(key, label, score * 2.0 if is_phrase else float(score), first_seen[key])
        )
    return candidates


def _same_word(first: str, second: str) -> bool:
    """Tell whether two words are forms of one: "games"/"gaming", "patient"/"patienten"."""
    if stem(first) == stem(second):
        return True
    shorter, longer = sorted((first, second), key=len)
    return len(shorter) >= 5 and longer.startswith(shorter) and len(longer) - len(shorter) <= 3


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
