"""Decode an HTML body to text: declared, sniffed and wrongly declared charsets.

Order, after the HTML standard: a byte order mark; the charset of the Content-Type
header; the page's own ``<meta charset>``, ``http-equiv`` or XML declaration; a guess.
Two mistakes are common enough to repair: pages declared Latin-1 (often the server's
default) that are really UTF-8, and pages declared UTF-8 that hold Windows-1252 bytes,
wholly or in patches pasted from elsewhere.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

# The prescan of the HTML standard stops at 1024 bytes, but real pages often declare the
# charset after long inline scripts.
SNIFF_BYTES = 16 * 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
# Labels browsers decode differently from what the name says (WHATWG Encoding standard).
_WHATWG_ALIASES = {
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_ERRORS = "parser-cp1252-fallback"
# How much of an undeclared body the charset guesser reads: enough to be sure, cheap.
_GUESS_BYTES = 64 * 1024


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    # Bytes that are not UTF-8 are read as Windows-1252, the usual source of the mix;
    # the five bytes it leaves undefined map to the same code points, as browsers do.
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    text = "".join(bytes([byte]).decode("cp1252", errors="ignore") or chr(byte) for byte in bad)
    return text, error.end


codecs.register_error(_ERRORS, _cp1252_fallback)


def decode_html(body: bytes, header_charset: str | None = None) -> str:
    """Return ``body`` decoded as the page intends, repairing common mislabelling."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace")
    declared = codec_name(header_charset) or declared_charset(body)
    if declared == "utf-8" or (declared is None and _mostly_utf8(body)):
        return body.decode("utf-8", errors=_ERRORS)
    if declared == "cp1252" and not body.isascii() and _is_utf8(body):
        # Valid multi-byte UTF-8 almost never happens by accident in Latin-1 text.
        return body.decode("utf-8")
    if declared is not None:
        return body.decode(declared, errors="replace")
    return body.decode(_guess(body), errors="replace")


def declared_charset(body: bytes) -> str | None:
    """Return the codec the page declares in its first bytes, or None."""
    head = body[:SNIFF_BYTES]
    for pattern in (_XML_ENCODING, _META_CHARSET):
        match = pattern.search(head)
        name = codec_name(match.group(1).decode("ascii")) if match else None
        if name:
            # A page that can declare itself in ASCII is not UTF-16 (HTML standard).
            return "utf-8" if name.startswith("utf-16") else name
    return None


def codec_name(label: str | None) -> str | None:
    """Return Python's codec name for a charset label as browsers read it, or None."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return _WHATWG_ALIASES.get(name, name)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as ex:
        # A multi-byte character cut by the end of the body is still UTF-8.
        return ex.start >= len(body) - 3 and ex.reason == "unexpected end of data"
    return True


def _mostly_utf8(body: bytes) -> bool:
    """Tell whether ``body`` is UTF-8, perhaps with a few stray bytes of another charset."""
    if _is_utf8(body):
        return True
    decoded = body.decode("utf-8", errors="replace")
    invalid = decoded.count("\ufffd")
    # Text in a single-byte charset almost never forms valid multi-byte sequences.
    multibyte = len(decoded) - len(decoded.encode("ascii", errors="ignore")) - invalid
    return multibyte > invalid


def _guess(body: bytes) -> str:
    matches = charset_normalizer.from_bytes(body[:_GUESS_BYTES])
    encodings = [match.encoding for match in matches]
    # Guessers cannot tell the Western single-byte charsets apart on short texts;
    # Windows-1252 is the web's legacy default, so it wins whenever it is plausible.
    if "cp1252" in encodings or not encodings:
        return "cp1252"
    return codec_name(encodings[0]) or "cp1252"
