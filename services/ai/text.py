"""Text primitives of the ai service: language, sentences, words, stopwords, stems, tag keys.

Deliberately small and offline: the local provider ranks with them, the enrich stage
compares tags with them ("Machine-Learning" and "machine learning" are one), and the
``openai`` provider falls back on :func:`detect_language` when a model names none.
"""

from __future__ import annotations

import re

import py3langid

# Enough text for a confident guess; classifying a whole long article only costs time.
LANGUAGE_SAMPLE_CHARS = 5000


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


def stopwords_for(language: str | None) -> frozenset[str]:
    """Return English stopwords plus those of ``language`` when known."""
    code = (language or "en").split("-")[0].lower()
    return STOPWORDS_EN | STOPWORDS.get(code, frozenset())


def is_content(word: str, stopwords: frozenset[str]) -> bool:
    """Tell whether ``word`` carries meaning: not a stopword, a number or a fragment."""
    return 3 <= len(word) <= 25 and word not in stopwords and not word.isdigit()


def same_word(first: str, second: str) -> bool:
    """Tell whether two words are forms of one: "games"/"gaming", "patient"/"patienten"."""
    if stem(first) == stem(second):
        return True
    shorter, longer = sorted((first, second), key=len)
    return len(shorter) >= 5 and longer.startswith(shorter) and len(longer) - len(shorter) <= 3


def detect_language(text: str) -> str | None:
    """Return the ISO 639-1 code of the language of ``text``, or None if it is blank."""
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    if not sample.strip():
        return None
    code, _ = py3langid.classify(sample)
    return str(code)
