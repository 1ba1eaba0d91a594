"""Words, sentences and stopwords of every language (services/ai/text.py and friends)."""

from __future__ import annotations

import pytest

from services.ai.segment import MAX_COMPOUND_CHARS, japanese_words
from services.ai.stopwords import has_stopword_list, stopwords_for
from services.ai.text import (
    is_content,
    join_sentences,
    join_words,
    split_sentences,
    tag_key,
    words,
)

JAPANESE = "不正に改造したiPhoneを販売すると、商標権侵害になるのでしょうか。"
CHINESE = "我们在北京大学学习自然语言处理。"

# Words


def test_japanese_is_cut_into_words_with_compound_nouns_kept_whole() -> None:
    found = words(JAPANESE, "ja")

    assert found[:4] == ["不正", "に", "改造", "し"]
    assert "商標権侵害" in found
    assert "iphone" in found
    assert all(len(word) <= MAX_COMPOUND_CHARS for word in found)


def test_a_too_long_run_of_nouns_is_given_as_its_parts() -> None:
    found = japanese_words("特許業務法人ライトハウス国際特許事務所")

    assert len(found) > 1
    assert "".join(found) == "特許業務法人ライトハウス国際特許事務所"


def test_chinese_is_cut_into_words() -> None:
    assert words(CHINESE, "zh") == ["我们", "在", "北京大学", "学习", "自然语言", "处理"]


def test_without_a_language_kana_tell_japanese_from_chinese() -> None:
    assert words(JAPANESE) == words(JAPANESE, "ja")
    assert words(CHINESE) == words(CHINESE, "zh")


def test_letters_keep_their_combining_marks() -> None:
    assert words("हिन्दी भाषा में समाचार") == ["हिन्दी", "भाषा", "में", "समाचार"]
    assert words("தமிழ் மொழி") == ["தமிழ்", "மொழி"]


def test_spaced_languages_are_cut_at_spaces_and_punctuation() -> None:
    assert words("L'économie, c'est Machine-Learning's «future».") == [
        "économie",
        "est",
        "machine",
        "learning",
        "future",
    ]
    assert words("한국어 문장입니다") == ["한국어", "문장입니다"]


def test_tag_keys_join_chinese_and_japanese_words_without_spaces() -> None:
    assert tag_key("商标 注册") == tag_key("商标注册") == "商标注册"
    assert tag_key("Machine-Learning") == "machine learning"
    assert join_words(["商標権", "侵害", "iPhone", "X"]) == "商標権侵害 iPhone X"


@pytest.mark.parametrize(
    ("word", "content"),
    [
        ("商標", True),
        ("アップル社", True),
        ("商标", True),
        ("서울", True),
        ("的", False),  # one character
        ("ます", False),  # grammar, in hiragana
        ("思わ", False),  # an inflected verb: kanji then hiragana
        ("economy", True),
        ("of", False),
        ("2019", False),
    ],
)
def test_content_words(word: str, content: bool) -> None:
    assert is_content(word, frozenset({"of"})) is content


# Sentences


def test_japanese_sentences_end_at_full_width_stops_without_spaces() -> None:
    text = "今日は晴れです。明日は雨でしょう！本当ですか？「そうです。」と彼は言った。"  # noqa: RUF001

    assert split_sentences(text) == [
        "今日は晴れです。",
        "明日は雨でしょう！",  # noqa: RUF001
        "本当ですか？",  # noqa: RUF001
        "「そうです。」と彼は言った。",
    ]


def test_chinese_sentences_end_at_full_width_stops() -> None:
    assert split_sentences("天气很好。我们去公园吧！你去吗？") == [  # noqa: RUF001
        "天气很好。",
        "我们去公园吧！",  # noqa: RUF001
        "你去吗？",  # noqa: RUF001
    ]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("यह पहला वाक्य है। यह दूसरा है।", 2),  # Devanagari danda, no letter case
        ("هذه جملة أولى. هذه جملة ثانية؟ نعم", 3),  # Arabic: no letter case
        ("첫 번째 문장입니다. 두 번째 문장입니다.", 2),
        ("Первое предложение. Второе предложение.", 2),
        ("It costs 3.5 dollars. Really.", 2),
    ],
)
def test_sentences_of_scripts_without_letter_case(text: str, count: int) -> None:
    assert len(split_sentences(text)) == count


def test_sentences_are_joined_as_their_language_writes_them() -> None:
    assert join_sentences(["今日は晴れです。", "明日は雨。"]) == "今日は晴れです。明日は雨。"
    assert join_sentences(["One.", "Two."]) == "One. Two."
    assert split_sentences(join_sentences(["今日は晴れです。", "Then English."])) == [
        "今日は晴れです。",
        "Then English.",
    ]


# Stopwords


@pytest.mark.parametrize(
    ("language", "stopwords"),
    [
        ("de", {"die", "und", "der", "von", "den"}),
        ("ru", {"что", "для", "есть", "или"}),
        ("id", {"dan", "yang"}),
        ("pt", {"que", "para", "uma"}),
        ("it", {"che", "della", "sono"}),
        ("ko", {"그리고", "하지만"}),
        ("zh", {"我们", "的"}),
        ("ja", {"これ", "ます"}),
        ("pt-BR", {"que"}),
        ("nn", {"og", "ikke"}),  # Nynorsk: the Norwegian list
    ],
)
def test_each_language_has_its_stopwords(language: str, stopwords: set[str]) -> None:
    assert stopwords <= stopwords_for(language)
    assert {"the", "and"} <= stopwords_for(language)  # English ones count everywhere


def test_a_language_without_a_list_falls_back_on_english() -> None:
    assert not has_stopword_list("xal")  # Kalmyk: neither stopwords-iso nor wordfreq
    assert stopwords_for("xal") == stopwords_for("en")
    assert has_stopword_list("de")
