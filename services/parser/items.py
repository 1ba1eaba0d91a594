"""The items of a listing or a collection: the repeated cards of a page's main list.

A listing (news, courses, events) or a collection (a shop's category) is a grid of
cards: sibling elements made alike (same tag, same classes), each with a link and a
few words. Generic extractors judge such grids by their link density and keep few of
them. :func:`list_items` finds the largest grid outside the page's navigation, header
and footer and returns one block per card.
"""

from __future__ import annotations

import re
from collections import Counter

from lxml.etree import _Element

from shared.blocks import Block

#: A grid has at least this many alike children...
MIN_ITEMS = 3
#: ...of which this share have a link and this share at least two words.
LINKED = 0.6
WORDY = 0.6
_SKIPPED = frozenset(
    {"script", "style", "noscript", "svg", "template", "select", "option", "form", "head"}
)
_CHROME_TAGS = frozenset({"nav", "footer", "header", "aside"})
_CHROME = re.compile(
    r"(?i)(?:^|[\s_-])(?:nav|navbar|navigation|menu|megamenu|footer|header|breadcrumbs?"
    r"|sidebar|cookies?|consent|modal|drawer)(?:$|[\s_-])"
)
_TEXT = "descendant-or-self::text()[not(ancestor::script or ancestor::style or ancestor::noscript)]"


def list_items(root: _Element) -> list[Block]:
    """Return one block per card of the page's largest grid of cards (none: [])."""
    best: tuple[int, list[str]] | None = None
    for parent in root.iter():
        if not isinstance(parent.tag, str) or parent.tag in _SKIPPED:
            continue
        group = _alike_children(parent)
        if group is None or _in_chrome(parent):
            continue
        linked = sum(1 for child in group if child.tag == "a" or child.find(".//a") is not None)
        if linked < LINKED * len(group):
            continue
        texts = [_text(child) for child in group]
        if sum(len(text.split()) >= 2 for text in texts) < WORDY * len(group):
            continue
        words = sum(len(text.split()) for text in texts)
        if best is None or words > best[0]:
            best = (words, texts)
    if best is None:
        return []
    return [{"type": "list_item", "text": text, "ordered": False} for text in best[1] if text]


def words_of(blocks: list[Block]) -> int:
    """Return the number of words of ``blocks``."""
    return sum(len(block["text"].split()) for block in blocks)


def _alike_children(parent: _Element) -> list[_Element] | None:
    """Return the most common kind of ``parent``'s children if there are enough of them."""
    children = [child for child in parent if isinstance(child.tag, str)]
    if len(children) < MIN_ITEMS:
        return None
    signatures = Counter(_signature(child) for child in children)
    signature, count = signatures.most_common(1)[0]
    if count < MIN_ITEMS:
        return None
    return [child for child in children if _signature(child) == signature]


def _signature(element: _Element) -> tuple[str, str]:
    classes = " ".join(sorted((element.get("class") or "").split()))
    return str(element.tag), classes[:80]


def _in_chrome(element: _Element) -> bool:
    """Return whether ``element`` lies in the page's navigation, header, footer or a menu."""
    for node in (element, *element.iterancestors()):
        if node.tag in _CHROME_TAGS:
            return True
        if _CHROME.search(f"{node.get('class') or ''} {node.get('id') or ''}"):
            return True
    return False


def _text(element: _Element) -> str:
    """Return the text of ``element``, its pieces joined by single spaces."""
    pieces = (" ".join(str(piece).split()) for piece in element.xpath(_TEXT))
    return " ".join(piece for piece in pieces if piece)
