"""The combination: trim to what both extractors confirm, repair fragments, referee rarely."""

from __future__ import annotations

from services.parser.combine import Combined, combine
from services.parser.extractors import Extraction
from shared.blocks import Block

ARTICLE = [
    "The harbour authority approved the new breakwater after three years of public debate.",
    "Construction starts in spring and should take two summers if the weather allows.",
    "Fishermen welcomed the decision, while residents worry about traffic during the works.",
    "The project is funded by the region and a European grant for coastal protection.",
]
TEASER = "Everything you need to know about the breakwater, explained in five minutes flat."
RELATED = ["Read next: the ten best beaches of the coast this summer for families and dogs"]


def extraction(name: str, texts: list[str], kind: str = "paragraph") -> Extraction:
    blocks: list[Block] = [{"type": kind, "text": text} for text in texts]  # type: ignore[typeddict-item]
    return Extraction(extractor=name, blocks=blocks)


class Referee:
    def __init__(self, answer: Extraction | None) -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self) -> Extraction | None:
        self.calls += 1
        return self.answer


def texts(result: Combined | None) -> list[str]:
    assert result is not None
    return [block["text"] for block in result.blocks]


def test_blocks_before_and_after_what_both_found_are_dropped() -> None:
    referee = Referee(None)
    primary = extraction("trafilatura", [TEASER, *ARTICLE, *RELATED])
    secondary = extraction("readability", ARTICLE)

    result = combine(primary, secondary, referee)

    assert texts(result) == ARTICLE
    assert result is not None and result.method == "trafilatura confirmed by readability"
    assert referee.calls == 0


def test_a_block_only_one_extractor_kept_inside_the_article_stays() -> None:
    quote = "“We have waited for this for twenty years,” said the harbour master on Tuesday."
    primary = extraction("trafilatura", [*ARTICLE[:2], quote, *ARTICLE[2:]])
    secondary = extraction("readability", ARTICLE)

    assert texts(combine(primary, secondary, Referee(None))) == [*ARTICLE[:2], quote, *ARTICLE[2:]]


def test_a_fragment_of_the_other_extraction_gives_way_to_it() -> None:
    primary = extraction("trafilatura", ARTICLE[:1])
    secondary = extraction("readability", ARTICLE)

    result = combine(primary, secondary, Referee(None))

    assert texts(result) == ARTICLE
    assert result is not None and result.method == "readability (trafilatura kept a fragment)"


def test_when_one_extractor_finds_nothing_the_other_is_used_alone() -> None:
    result = combine(None, extraction("readability", ARTICLE), Referee(None))

    assert texts(result) == ARTICLE
    assert result is not None and result.method == "readability alone"


def test_when_both_find_nothing_the_referee_is_the_last_resort() -> None:
    referee = Referee(extraction("newspaper4k", ARTICLE))

    result = combine(extraction("trafilatura", []), None, referee)

    assert texts(result) == ARTICLE
    assert referee.calls == 1
    assert combine(None, None, Referee(None)) is None


def test_the_referee_decides_only_when_the_two_share_nothing() -> None:
    comments = ["What a waste of public money, as usual, said nobody who lives near the harbour."]
    referee = Referee(extraction("newspaper4k", ARTICLE[1:]))

    result = combine(
        extraction("trafilatura", comments), extraction("readability", ARTICLE), referee
    )

    assert texts(result) == ARTICLE
    assert result is not None and result.method == "readability chosen by newspaper4k"
    assert referee.calls == 1


def test_text_without_spaces_is_confirmed_by_its_characters() -> None:
    japanese = ["先日、不正に改造したiPhoneを販売したとして、商標法違反の疑いで男性が逮捕された。"]
    primary = extraction("trafilatura", ["メニュー", *japanese])
    secondary = extraction("readability", japanese)

    assert texts(combine(primary, secondary, Referee(None))) == japanese
