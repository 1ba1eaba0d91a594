"""The page's main region, all of it, without the site's furniture.

A service's home page, a listing of articles, a shop's category: their content is most
of what the page's ``<main>`` holds (or its body, when it has none): sections side by
side, short paragraphs, lists, cards. trafilatura, built for articles, keeps the longest
run of prose there and drops the rest as boilerplate. This reader keeps the whole region
and leaves out only what is furniture on every site: navigation, the page's header (a
header inside a section heads that section), footer, side bars, forms and buttons, links
styled as buttons (calls to action), dialogs, hidden elements and text meant for screen
readers only, and boxes named so (menus, cookie banners, breadcrumbs, sharing buttons,
comments, related links, filters, sorting, pagination) unless they hold much of the
region: then the name is a wrapper's.
:mod:`services.parser.strategy` decides when to prefer it to trafilatura.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from lxml.etree import _Element

from services.parser.structure import blocks_from_html
from shared.blocks import Block

#: A ``<main>`` with fewer words than this is a shell (the content lies elsewhere).
MIN_MAIN_WORDS = 50
_FURNITURE_TAGS = frozenset(
    {"nav", "footer", "aside", "form", "dialog", "iframe", "select", "button"}
)
#: Elements a header may head, rather than the page.
_SECTIONING = ("main", "article", "section", "aside", "nav")
_FURNITURE_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "dialog", "complementary", "search", "menu", "menubar"}
)
_FURNITURE_NAMES = re.compile(
    r"(?i)(?:^|[\s_-])(?:nav|navbar|navigation|menu|megamenu|footer|header|breadcrumbs?"
    r"|sidebar|cookies?|consent|modal|drawer|newsletter|popup|skip|share|social"
    r"|comments?|respond|related|sr-only|visually-hidden|visuallyhidden|screen-reader-text"
    r"|filters?|facets?|sort|sorting|pagination|pager|toolbar|trending|subscribe|signup)"
    r"(?:$|[\s_-])"
)
#: A box named like furniture is furniture when it holds at most this share of the region.
NAMED_AT_MOST = 0.4
#: A link styled as a button is a call to action ("Get a demo", "Add to cart").
_BUTTON_NAMES = re.compile(r"(?i)(?:^|[\s_-])(?:btn|button|cta)(?:$|[\s_-])")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def region_blocks(tree: _Element) -> list[Block]:
    """Return the blocks of the page's main region (``<main>``, else ``<body>``)."""
    root = _main(tree)
    if root is None:
        return []
    # A box named like furniture that holds much of the region is a wrapper of content
    # ("filtering-and-pagination_product-column", "page-header-wrapper").
    # Counted on first need: most pages have few such boxes.
    size = functools.cache(lambda: len(root.text_content().split()))
    return blocks_from_html(
        root,
        skip=lambda element: (
            element is not root and is_furniture(element, lambda: NAMED_AT_MOST * size())
        ),
    )


def is_furniture(element: _Element, limit: Callable[[], float] | None = None) -> bool:
    """Return whether ``element`` is site furniture rather than content.

    An element that is furniture only by its class or id name must hold at most
    ``limit()`` words (any number without ``limit``).
    """
    if element.tag in _FURNITURE_TAGS or element.get("role") in _FURNITURE_ROLES:
        return True
    if element.tag == "header" and next(element.iterancestors(*_SECTIONING), None) is None:
        # The page's own header is the site's banner; a header inside main, an article
        # or a section heads that part of the content (HTML's rule for its role).
        return True
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    style = element.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    names = element.get("class"), element.get("id")
    if element.tag == "a" and (
        element.get("role") == "button" or (names[0] and _BUTTON_NAMES.search(names[0]))
    ):
        return True
    if not any(names) or not _FURNITURE_NAMES.search(f"{names[0] or ''} {names[1] or ''}"):
        return False
    return limit is None or len(element.text_content().split()) <= limit()


def _main(tree: _Element) -> _Element | None:
    """Return the page's ``<main>`` region when it holds content, else its body."""
    for main in tree.xpath("//main | //*[@role='main']"):
        if len(main.text_content().split()) > MIN_MAIN_WORDS:
            return main
    return tree.find("body")
