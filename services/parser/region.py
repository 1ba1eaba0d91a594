"""The page's main region, all of it, without the site's furniture.

A service's home page, a listing of articles, a shop's category: their content is most
of what the page's ``<main>`` holds (or its body, when it has none): sections side by
side, short paragraphs, lists, cards. trafilatura, built for articles, keeps the longest
run of prose there and drops the rest as boilerplate. This reader keeps the whole region
and leaves out only what is furniture on every site: navigation, header, footer, side
bars, forms and buttons, dialogs, hidden elements, and boxes named so (menus, cookie
banners, breadcrumbs, sharing buttons, comments, related links).
:mod:`services.parser.strategy` decides when to prefer it to trafilatura.
"""

from __future__ import annotations

import re

from lxml.etree import _Element

from services.parser.structure import blocks_from_html
from shared.blocks import Block

#: A ``<main>`` with fewer words than this is a shell (the content lies elsewhere).
MIN_MAIN_WORDS = 50
_FURNITURE_TAGS = frozenset(
    {"nav", "header", "footer", "aside", "form", "dialog", "iframe", "select", "button"}
)
_FURNITURE_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "dialog", "complementary", "search", "menu", "menubar"}
)
_FURNITURE_NAMES = re.compile(
    r"(?i)(?:^|[\s_-])(?:nav|navbar|navigation|menu|megamenu|footer|header|breadcrumbs?"
    r"|sidebar|cookies?|consent|modal|drawer|newsletter|popup|skip|share|social"
    r"|comments?|respond|related)"
    r"(?:$|[\s_-])"
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def region_blocks(tree: _Element) -> list[Block]:
    """Return the blocks of the page's main region (``<main>``, else ``<body>``)."""
    root = _main(tree)
    if root is None:
        return []
    return blocks_from_html(
        root, skip=lambda element: element is not root and is_furniture(element)
    )


def is_furniture(element: _Element) -> bool:
    """Return whether ``element`` is site furniture rather than content."""
    if element.tag in _FURNITURE_TAGS or element.get("role") in _FURNITURE_ROLES:
        return True
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    style = element.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    names = element.get("class"), element.get("id")
    return any(names) and bool(_FURNITURE_NAMES.search(f"{names[0] or ''} {names[1] or ''}"))


def _main(tree: _Element) -> _Element | None:
    """Return the page's ``<main>`` region when it holds content, else its body."""
    for main in tree.xpath("//main | //*[@role='main']"):
        if len(main.text_content().split()) > MIN_MAIN_WORDS:
            return main
    return tree.find("body")
