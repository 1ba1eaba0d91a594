"""The local provider's category: the taxonomy entry whose keyword lexicon the text uses.

Each category of the default taxonomy has a keyword lexicon (a custom category's name,
or an alias of a known one, picks its words); the text's words vote, those of the title
and its most central words weighing extra, and a category short of enough evidence
loses to "Other".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from services.ai.analysis import ArticleText
from services.ai.text import stem, words

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


class Taxonomy:
    """The categories articles are sorted into, each with its keyword stems."""

    def __init__(self, categories: Sequence[str]) -> None:
        self.categories = tuple(categories)
        self._stems = {name: keywords_of(name) for name in self.categories}

    def categorize(self, text: ArticleText) -> str:
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
            score = sum(stems[keyword] for keyword in self._stems[name])
            if score > best_score:
                best, best_score = name, score
        needed = max(MIN_CATEGORY_SCORE, MIN_CATEGORY_SHARE * stems.total())
        if best_score >= needed:
            return best
        return self.fallback()

    def fallback(self) -> str:
        """Return "Other" in the taxonomy's spelling when present, else the last category."""
        for name in self.categories:
            if name.strip().lower() == FALLBACK_CATEGORY:
                return name
        return self.categories[-1]


def keywords_of(category: str) -> frozenset[str]:
    """Return the keyword stems of ``category``: its lexicon, or its name's words."""
    lowered = category.strip().lower()
    if lowered == FALLBACK_CATEGORY:
        return frozenset()
    lexicon = CATEGORY_LEXICON.get(CATEGORY_ALIASES.get(lowered, lowered), "")
    return frozenset(stem(word) for word in words(f"{lexicon} {category}"))
