"""Element trees to blocks: HTML from readability, XML from trafilatura."""

from __future__ import annotations

import lxml.etree
import lxml.html

from services.parser.structure import blocks_from_html, blocks_from_trafilatura


def html_blocks(markup: str) -> list[dict[str, object]]:
    return [
        dict(block)
        for block in blocks_from_html(lxml.html.fragment_fromstring(markup, create_parent="div"))
    ]


def test_html_headings_lists_quotes_and_code_keep_their_kind() -> None:
    blocks = html_blocks(
        "<h1>Title</h1><h4>Deep</h4><p>Text with <a href='#'>a link</a> and <b>bold</b>.</p>"
        "<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>"
        "<blockquote><p>Said once.</p><p>Said twice.</p></blockquote>"
        "<pre>  indented\n    more</pre>"
    )

    assert blocks == [
        {"type": "heading", "level": 1, "text": "Title"},
        {"type": "heading", "level": 3, "text": "Deep"},
        {"type": "paragraph", "text": "Text with a link and bold."},
        {"type": "list_item", "ordered": False, "text": "one"},
        {"type": "list_item", "ordered": False, "text": "two"},
        {"type": "list_item", "ordered": True, "text": "first"},
        {"type": "quote", "text": "Said once."},
        {"type": "quote", "text": "Said twice."},
        {"type": "code", "text": "  indented\n    more"},
    ]


def test_line_breaks_stay_and_whitespace_collapses() -> None:
    assert html_blocks("<p>  Roses   are red,<br>violets\n are   blue </p>") == [
        {"type": "paragraph", "text": "Roses are red,\nviolets are blue"}
    ]


def test_scripts_and_styles_are_skipped_but_text_after_them_kept() -> None:
    assert html_blocks("<p>Before<script>var x;</script> after<style>p{}</style>.</p>") == [
        {"type": "paragraph", "text": "Before after."}
    ]


def test_what_a_browser_without_video_or_audio_shows_is_left_out() -> None:
    blocks = html_blocks(
        "<p>Record your screen.</p><video src='a.mp4'>Your browser does not support the "
        "video tag.</video><audio>No audio here.</audio><canvas>No canvas.</canvas>"
        "<p>Share the link.</p>"
    )
    assert [block["text"] for block in blocks] == ["Record your screen.", "Share the link."]


def test_table_rows_become_paragraphs_with_cells_apart() -> None:
    assert html_blocks(
        "<table><tr><th>Year</th><th>Keepers</th></tr><tr><td>1900</td><td>3</td></tr></table>"
    ) == [
        {"type": "paragraph", "text": "Year | Keepers"},
        {"type": "paragraph", "text": "1900 | 3"},
    ]


def test_text_loose_in_a_div_between_blocks_is_a_paragraph() -> None:
    assert html_blocks("<div>Loose text<p>Inside</p>tail text</div>") == [
        {"type": "paragraph", "text": "Loose text"},
        {"type": "paragraph", "text": "Inside"},
        {"type": "paragraph", "text": "tail text"},
    ]


def test_trafilatura_xml_maps_to_the_same_blocks() -> None:
    body = lxml.etree.fromstring(
        "<body><head rend='h2'>Section</head><p>Para<lb/>next line</p>"
        "<list rend='ol'><item>one</item></list><list rend='ul'><item>dot</item></list>"
        "<quote><p>Quoted</p></quote><code>x = 1</code>"
        "<table><row><cell>a</cell><cell>b</cell></row></table><graphic src='x.png'/></body>"
    )

    assert [dict(block) for block in blocks_from_trafilatura(body)] == [
        {"type": "heading", "level": 2, "text": "Section"},
        {"type": "paragraph", "text": "Para\nnext line"},
        {"type": "list_item", "ordered": True, "text": "one"},
        {"type": "list_item", "ordered": False, "text": "dot"},
        {"type": "quote", "text": "Quoted"},
        {"type": "code", "text": "x = 1"},
        {"type": "paragraph", "text": "a | b"},
    ]
