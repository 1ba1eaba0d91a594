"""The language rule shared by the parser and the ai service (shared/language.py)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from shared import language
from shared.language import LanguageGuess, detect, language_code, resolve_language

GERMAN = (
    "Die elektronische Patientenakte soll die Versorgung verbessern. Ärzte, Kliniken und "
    "Apotheken sollen Befunde, Medikationspläne und Arztbriefe darin austauschen können."
)
RUSSIAN = "Самые популярные фудблогеры рассказали нам, как они решили заняться творчеством."
JAPANESE = "不正に改造したiPhoneを販売すると、商標権侵害になるのでしょうか。"
CHINESE = "商标是用来区别一个经营者的品牌或服务和其他经营者的商品或服务的标记。"
INDONESIAN = "Sebelum Islam pecah jadi Sunni dan Syiah, para sahabat Nabi hidup bersama."


@pytest.mark.parametrize(
    ("text", "code"),
    [(GERMAN, "de"), (RUSSIAN, "ru"), (JAPANESE, "ja"), (CHINESE, "zh"), (INDONESIAN, "id")],
)
def test_the_text_decides_over_a_wrong_declaration(text: str, code: str) -> None:
    assert resolve_language(text, "en") == code


def test_the_declaration_decides_when_the_text_is_too_short() -> None:
    guess = detect("Hallo")

    assert guess is not None and not guess.sure
    assert resolve_language("Hallo", "fr") == "fr"


def test_without_a_declaration_an_unsure_guess_still_counts() -> None:
    assert resolve_language("Danke schön", None) is not None


def test_a_text_without_letters_has_the_declared_language_or_none() -> None:
    assert resolve_language("  12 345 — 67  ", None) is None
    assert resolve_language("", "pt-BR") == "pt"


def test_a_guess_is_sure_with_enough_letters_and_a_clear_winner() -> None:
    assert LanguageGuess("de", 0.9, letters=200).sure
    assert not LanguageGuess("de", 0.9, letters=10).sure
    assert not LanguageGuess("de", 0.3, letters=200).sure


@pytest.mark.parametrize(
    ("tag", "code"),
    [("en", "en"), ("en-US", "en"), ("pt_BR", "pt"), ("ZH-Hant", "zh"), ("ceb", "ceb")],
)
def test_a_language_tag_gives_its_primary_subtag(tag: str, code: str) -> None:
    assert language_code(tag) == code


@pytest.mark.parametrize("tag", [None, "", "x", "english", "12-34"])
def test_what_is_no_language_tag_gives_none(tag: str | None) -> None:
    assert language_code(tag) is None


def test_the_model_loads_from_the_package_without_network_access(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a process that has not loaded the model, where any connection fails
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the language model tried to reach the network")

    monkeypatch.setattr(language, "_detector", None)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    # When the model loads and detects
    language.warm_up()

    # Then it works from the wheel's own file
    assert language.model_loaded()
    assert resolve_language(GERMAN) == "de"
