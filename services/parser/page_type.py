"""What kind of page it is: article, forum, product, collection, listing, documentation, service.

The parser extracts each kind with the strategy that fits it (``services/parser/strategy.py``),
and the type is stored with the content. The page says what it is in several ways, read
here in one pass over the parsed tree, no model involved:

- schema.org types in JSON-LD and microdata (``Product`` + ``Offer``, ``QAPage``,
  ``DiscussionForumPosting``, ``TechArticle``, ``ItemList``, ``CollectionPage``…);
- its Open Graph type (``article``, ``product``, ``product.group``);
- the shape of its address (``/products/…``, ``/collections/…``, ``/t/slug/123``,
  ``/questions/123/…``, ``docs.…``, ``/news``, ``/blog``);
- its markup: code blocks, repeated posts, prices and "add to cart" buttons, grids of
  product cards, repeated ``<article>`` teasers.

Each signal adds to a type's score; the best score wins when it passes THRESHOLD,
otherwise the page is an article. Of articles, those that declare themselves so (an
``Article`` type, ``og:type`` article, a dated address: DECLARED_ARTICLE) go to the
ensemble tuned on news; the others, like every other type, to the strategies of
``services/parser/strategy.py``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml.html import HtmlElement

ARTICLE = "article"
SERVICE = "service"
PRODUCT = "product"
COLLECTION = "collection"
FORUM = "forum"
LISTING = "listing"
DOCUMENTATION = "documentation"
#: Every type the parser tells apart, in the benchmark's order.
PAGE_TYPES = (ARTICLE, SERVICE, PRODUCT, COLLECTION, FORUM, LISTING, DOCUMENTATION)
#: The score a type needs to win over the default (article).
THRESHOLD = 2.0
#: The article score from which an article counts as declared (two of its signals).
DECLARED_ARTICLE = 2.0

_LD_TYPE = re.compile(r'"@type"\s*:\s*(\[[^\]]*\]|"[^"]*")')
_QUOTED = re.compile(r'"([^"]+)"')
_PRICE = re.compile(r"[$€£¥₹]\s?\d|\d\s?(?:€|EUR|USD|GBP)\b")

_FORUM_HOST = re.compile(r"^(?:forums?|community|discuss|discourse|talk|answers|users)\.")
_FORUM_PATH = re.compile(
    r"/(?:t/[^/]+/\d+|questions/\d+|threads?/|topic/|topics/|viewtopic|showthread"
    r"|forums?/|discussions?/|comments/\w+/)",
    re.IGNORECASE,
)
_FORUM_SITES = re.compile(
    r"(?:stackexchange\.com|stackoverflow\.com|superuser\.com|serverfault\.com"
    r"|askubuntu\.com|reddit\.com|quora\.com)$"
)
_PRODUCT_PATH = re.compile(r"/(?:products?|p|dp|item|shop/p)/[^/]+", re.IGNORECASE)
_COLLECTION_PATH = re.compile(
    r"/(?:collections?|categor(?:y|ies)|shop|store|c)(?:/|$)", re.IGNORECASE
)
_DOCS_HOST = re.compile(r"^(?:docs?|developers?|dev|api|wiki|manual|help|learn|reference)\.")
_DOCS_PATH = re.compile(
    r"/(?:docs?|documentation|reference|manual|api|guide|guides|tutorial|tutorials"
    r"|handbook|wiki|man|library|usersguide|book)(?:/|$|[-_.])",
    re.IGNORECASE,
)
_DOCS_SITES = re.compile(r"(?:readthedocs\.io|gitbook\.io|github\.io|rtfd\.io)$")
_LISTING_PATH = re.compile(
    r"/(?:news|blog|blogs|articles|events|press|resources|stories|posts|archives?"
    r"|insights|updates|courses|jobs|careers|publications|awards|page/\d+)/?$",
    re.IGNORECASE,
)
_POST_CLASSES = frozenset(
    {"post", "topic-post", "message-body", "postbody", "answercell", "post-message"}
    | {"comment-body", "message--post"}
)
_DATED_PATH = re.compile(r"/(?:19|20)\d\d/(?:[01]?\d/)?")
_SERVICE_PATH = re.compile(
    r"(?:^|[/_-])(?:services?|pricing|prices|plans|tuition|fees|solutions|consulting"
    r"|features|hire|booking|quote|repair|rentals?|training|certification|programs?)(?:$|[/_.-])",
    re.IGNORECASE,
)
#: A last path segment of this many words is an article's slug ("how-to-book-a-flight").
_SLUG_WORDS = 4


@dataclass
class Signals:
    """What the page says about its kind, gathered once."""

    schema: Counter[str] = field(default_factory=Counter)
    og_type: str = ""
    host: str = ""
    path: str = ""
    code_blocks: int = 0
    prices: int = 0
    carts: int = 0
    articles: int = 0
    comments: int = 0
    paragraphs: int = 0


@dataclass(frozen=True)
class PageKind:
    """A page's type, and whether it declares itself an article."""

    page_type: str
    declared_article: bool = False


def classify(tree: HtmlElement, url: str) -> PageKind:
    """Return the type of the page parsed as ``tree``, found at ``url``."""
    scores = type_scores(read_signals(tree, url))
    best, score = max(scores.items(), key=lambda pair: pair[1])
    kind = best if score >= THRESHOLD else ARTICLE
    return PageKind(kind, kind == ARTICLE and scores[ARTICLE] >= DECLARED_ARTICLE)


def read_signals(tree: HtmlElement, url: str) -> Signals:
    """Gather the signals :func:`type_scores` weighs."""
    parts = urlsplit(url)
    signals = Signals(host=(parts.hostname or "").lower(), path=parts.path or "/")
    for script in tree.xpath("//script[@type='application/ld+json']/text()"):
        signals.schema.update(_ld_types(str(script)))
    for itemtype in tree.xpath("//@itemtype"):
        signals.schema.update(name.rstrip("/").rsplit("/", 1)[-1] for name in str(itemtype).split())
    og = tree.xpath("//meta[@property='og:type']/@content")
    signals.og_type = str(og[0]).strip().lower() if og else ""
    signals.code_blocks = len(tree.xpath("//pre")) + len(tree.xpath("//code")) // 4
    # Each query names its elements: a test on every element of a page costs more.
    signals.carts = len(
        tree.xpath(
            "//form[contains(@action, 'cart')] | //button[contains(translate(concat("
            "@class, ' ', @id, ' ', @name), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ-_', "
            "'abcdefghijklmnopqrstuvwxyz'), 'addtocart')]"
        )
    )
    signals.articles = len(tree.xpath("//article"))
    posts = tree.xpath(
        "//div[contains(@class, 'post') or contains(@class, 'message-body')"
        " or contains(@class, 'answercell') or contains(@class, 'comment-body')]"
        " | //article[contains(@class, 'post') or contains(@class, 'message')]"
    )
    signals.comments = sum(
        1 for post in posts if _POST_CLASSES.intersection((post.get("class") or "").split())
    )
    signals.paragraphs = len(tree.xpath("//p"))
    body = tree.find("body")
    text = body.text_content() if body is not None else ""
    signals.prices = len(_PRICE.findall(text))
    return signals


def type_scores(signals: Signals) -> dict[str, float]:
    """Return each type's score from the page's signals (higher: more likely)."""
    schema, host, path = signals.schema, signals.host, signals.path
    scores = dict.fromkeys(PAGE_TYPES, 0.0)

    def add(page_type: str, weight: float, *conditions: object) -> None:
        if all(conditions):
            scores[page_type] += weight

    articleish = schema["Article"] + schema["NewsArticle"] + schema["BlogPosting"]
    add(ARTICLE, 2.0, articleish)
    add(ARTICLE, 1.0, signals.og_type == "article")
    add(ARTICLE, 1.0, _DATED_PATH.search(path))

    add(FORUM, 3.0, schema["DiscussionForumPosting"] or schema["QAPage"])
    add(FORUM, 1.5, schema["Comment"] >= 2 or signals.comments >= 3)
    add(FORUM, 2.0, _FORUM_HOST.match(host))
    add(FORUM, 2.0, _FORUM_PATH.search(path))
    add(FORUM, 2.0, _FORUM_SITES.search(host) and "/questions/" in path)

    products = schema["Product"] + schema["ProductGroup"]
    # One ProductGroup outside a list: its Products are the variants of one product.
    variants = schema["ProductGroup"] == 1 and not schema["ItemList"]
    single = products == 1 or (products and schema["Offer"] and products <= 2) or variants
    # A product's address inside a shop's (/store/products/x, /c/product/123) is a product.
    product_path = _PRODUCT_PATH.search(path)
    add(PRODUCT, 2.5, single)
    add(PRODUCT, 2.0, signals.og_type in ("product", "og:product", "product.item"))
    add(PRODUCT, 1.5, product_path)
    add(PRODUCT, 1.0, signals.carts >= 1, signals.carts <= 3)

    add(COLLECTION, 3.0, _COLLECTION_PATH.search(path) and not product_path)
    add(COLLECTION, 2.0, signals.og_type == "product.group")
    add(COLLECTION, 2.0, products >= 3 and not variants)
    add(COLLECTION, 1.0, schema["ItemList"] or schema["CollectionPage"], signals.prices >= 4)
    add(COLLECTION, 1.5, signals.prices >= 12)
    add(COLLECTION, 1.0, signals.carts >= 4)

    add(DOCUMENTATION, 3.0, schema["TechArticle"] or schema["APIReference"])
    add(DOCUMENTATION, 2.0, _DOCS_HOST.match(host) or _DOCS_SITES.search(host))
    add(DOCUMENTATION, 1.5, _DOCS_PATH.search(path))
    add(DOCUMENTATION, 1.5, signals.code_blocks >= 3)
    add(DOCUMENTATION, 1.0, signals.code_blocks >= 10)

    # A service page presents an offer: often a site's home page, or a page named for
    # what it sells, with FAQ, business or contact data; its address is no article slug,
    # and it declares no single product.
    slug = path.rstrip("/").rsplit("/", 1)[-1]
    if len(re.split(r"[-_]+", slug)) < _SLUG_WORDS and not articleish and not single:
        add(SERVICE, 2.0, path in ("", "/"))
        add(SERVICE, 1.5, _SERVICE_PATH.search(path))
        add(SERVICE, 1.0, schema["FAQPage"] or schema["Service"] or schema["LocalBusiness"])
        add(SERVICE, 0.5, schema["ContactPoint"] or schema["ProfessionalService"])
        add(SERVICE, 0.5, signals.og_type in ("website", ""))

    add(LISTING, 2.5, _LISTING_PATH.search(path))
    add(LISTING, 1.5, schema["ItemList"] or schema["CollectionPage"], signals.prices < 4)
    add(LISTING, 1.5, signals.articles >= 5)

    return scores


def _ld_types(script: str) -> Iterator[str]:
    """Yield every ``@type`` named in a JSON-LD script (nested ones included)."""
    try:
        data = json.loads(script)
    except ValueError:
        # Broken JSON-LD is common: read the types from the text.
        for match in _LD_TYPE.finditer(script):
            yield from _QUOTED.findall(match.group(1))
        return
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            kind = node.get("@type")
            if isinstance(kind, str):
                yield kind.rsplit("/", 1)[-1]
            elif isinstance(kind, list):
                yield from (str(name).rsplit("/", 1)[-1] for name in kind)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
