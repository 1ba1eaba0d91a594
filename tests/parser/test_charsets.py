"""Decoding pages: declared, sniffed and wrongly declared charsets."""

from __future__ import annotations

import codecs

import pytest

from services.parser.charsets import decode_html

FRENCH = "Le café était déjà fermé — hélas, « pas de crème brûlée » ce soir à 5 €."
RUSSIAN = "Сегодня в Москве прошла большая конференция, посвящённая развитию науки."


def page(text: str, head: str = "") -> str:
    return f"<html><head>{head}<title>t</title></head><body><p>{text}</p></body></html>"


def test_the_header_charset_decides() -> None:
    assert RUSSIAN in decode_html(page(RUSSIAN).encode("cp1251"), "windows-1251")


@pytest.mark.parametrize(
    "head",
    [
        '<meta charset="koi8-r">',
        "<meta charset=koi8-r>",
        '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">',
    ],
)
def test_the_page_declaration_is_used_when_the_header_names_none(head: str) -> None:
    assert RUSSIAN in decode_html(page(RUSSIAN, head).encode("koi8-r"))


def test_the_xml_declaration_of_an_xhtml_page_is_read() -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-15"?>' + page("Prix : 5 € l'œuf")

    assert "5 € l'œuf" in decode_html(body.encode("iso-8859-15"))


def test_a_declaration_after_long_inline_scripts_is_found() -> None:
    head = "<script>" + "var x = 1;" * 300 + '</script><meta charset="windows-1252">'

    assert FRENCH in decode_html(page(FRENCH, head).encode("cp1252"))


def test_latin1_is_read_as_windows_1252_as_browsers_do() -> None:
    # 0x80 is a C1 control in Latin-1 but "€" in Windows-1252, which pages mean.
    assert FRENCH in decode_html(page(FRENCH).encode("cp1252"), "ISO-8859-1")


def test_a_utf8_page_declared_latin1_is_read_as_utf8() -> None:
    assert FRENCH in decode_html(page(FRENCH).encode(), "iso-8859-1")


def test_a_windows_1252_page_declared_utf8_is_repaired() -> None:
    assert FRENCH in decode_html(page(FRENCH, '<meta charset="utf-8">').encode("cp1252"))


def test_a_utf8_page_with_pasted_windows_1252_bytes_keeps_both() -> None:
    body = page(RUSSIAN + " ").encode() + "« déjà »".encode("cp1252")

    text = decode_html(body, "utf-8")

    assert RUSSIAN in text
    assert "« déjà »" in text


@pytest.mark.parametrize(
    ("text", "encoding"), [(FRENCH, "utf-8"), (FRENCH, "cp1252"), (RUSSIAN, "cp1251")]
)
def test_an_undeclared_charset_is_sniffed(text: str, encoding: str) -> None:
    assert text in decode_html(page(text * 3).encode(encoding))


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ],
)
def test_a_byte_order_mark_beats_every_declaration(bom: bytes, encoding: str) -> None:
    body = bom + page(FRENCH, '<meta charset="koi8-r">').encode(encoding)

    assert decode_html(body, "windows-1251").startswith("<html>")
    assert FRENCH in decode_html(body, "windows-1251")


def test_an_unknown_header_charset_falls_back_to_the_page_declaration() -> None:
    body = page("žluťoučký kůň", '<meta charset="utf-8">').encode()

    assert "žluťoučký kůň" in decode_html(body, "no-such-charset")


def test_a_body_cut_inside_a_character_is_still_utf8() -> None:
    # As when a server closes the connection early: the last character is half there.
    body = ("<html><body><p>" + RUSSIAN.rstrip(".")).encode()[:-1]

    assert "Сегодня" in decode_html(body)
