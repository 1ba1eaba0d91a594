from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from services.ai.tokens import (
    UNKNOWN_CONTEXT_WINDOW,
    TokenCounter,
    context_window,
    estimate_tokens,
    is_reasoning_model,
)

SENTENCE = "The committee met on Tuesday to discuss the budget for next year. "


class CharacterEncoding:
    """A stand-in tokenizer: one token per character."""

    def encode(self, text: str, *, disallowed_special: Any = ()) -> list[int]:
        return [ord(char) for char in text]

    def decode(self, tokens: Sequence[int]) -> str:
        return "".join(chr(token) for token in tokens)


def test_the_estimate_counts_four_ascii_characters_per_token() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd" * 100) == 100


def test_the_estimate_counts_other_scripts_more_densely() -> None:
    assert estimate_tokens("é" * 10) == 4
    assert estimate_tokens("漢字" * 10) == 20
    assert estimate_tokens("Straße") > estimate_tokens("Strasse") - 1


def test_known_models_have_their_windows_and_others_a_safe_guess() -> None:
    assert context_window("gpt-4o-mini-2024-07-18") == 128_000
    assert context_window("gpt-4.1-mini") == 1_047_576
    assert context_window("gpt-4") == 8_192
    assert context_window("llama3.1:8b") == UNKNOWN_CONTEXT_WINDOW == 4_096


def test_reasoning_models_are_recognised() -> None:
    assert is_reasoning_model("o4-mini") and is_reasoning_model("gpt-5-mini")
    assert not is_reasoning_model("gpt-4o-mini")


def test_an_unavailable_tokenizer_falls_back_to_the_estimate() -> None:
    counter = TokenCounter("gpt-4o-mini", loader=lambda model: None)

    assert counter.count("abcd" * 10) == 10
    assert not counter.exact


def test_an_available_tokenizer_is_used_and_loaded_once() -> None:
    loads: list[str] = []

    def loader(model: str) -> CharacterEncoding:
        loads.append(model)
        return CharacterEncoding()

    counter = TokenCounter("gpt-4o-mini", loader=loader)

    assert counter.count("abcd") == 4
    assert counter.count("abcdefgh") == 8
    assert loads == ["gpt-4o-mini"]
    assert counter.exact


def test_the_estimate_setting_never_loads_a_tokenizer() -> None:
    def loader(model: str) -> CharacterEncoding:
        raise AssertionError("must not load")

    assert TokenCounter("gpt-4o", use_tiktoken=False, loader=loader).count("abcd") == 1


def test_tiktoken_offline_settles_for_the_estimate_quickly() -> None:
    # tiktoken cannot download its files here: the counter must not fail or hang.
    counter = TokenCounter("gpt-4o-mini")

    assert counter.count("abcd" * 25) > 0


def test_messages_count_their_framing() -> None:
    counter = TokenCounter("m", use_tiktoken=False)
    messages = [{"role": "system", "content": "abcd"}, {"role": "user", "content": "abcdabcd"}]

    assert counter.count_messages(messages) == 3 + (3 + 1) + (3 + 2)


@pytest.mark.parametrize("exact", [False, True])
def test_truncation_keeps_whole_sentences_within_the_limit(exact: bool) -> None:
    counter = TokenCounter(
        "m", use_tiktoken=exact, loader=lambda model: CharacterEncoding() if exact else None
    )
    text = SENTENCE * 40

    cut = counter.truncate(text, 500)

    assert counter.count(cut) <= 500
    assert text.startswith(cut) and cut.endswith("next year.")
    assert counter.count(cut) > 400


def test_a_text_within_the_limit_is_not_cut() -> None:
    counter = TokenCounter("m", use_tiktoken=False)

    assert counter.truncate(SENTENCE, 500) == SENTENCE


def test_splitting_makes_consecutive_parts_within_the_limit_at_paragraph_ends() -> None:
    counter = TokenCounter("m", use_tiktoken=False)
    paragraphs = [f"Paragraph {n}. " + SENTENCE * 3 for n in range(30)]

    parts = counter.split("\n".join(paragraphs), 200)

    assert all(counter.count(part) <= 200 for part in parts)
    assert "\n".join(parts) == "\n".join(paragraph.strip() for paragraph in paragraphs)
    assert all(part.startswith("Paragraph") for part in parts)


def test_a_paragraph_longer_than_a_part_is_split_between_sentences() -> None:
    counter = TokenCounter("m", use_tiktoken=False)

    parts = counter.split(SENTENCE * 30, 100)

    assert len(parts) > 1
    assert all(counter.count(part) <= 100 for part in parts)
    assert all(part.endswith("next year.") for part in parts)
