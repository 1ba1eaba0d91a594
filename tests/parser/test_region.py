"""The main region of a page, and when the parser reads a page whole rather than its prose."""

from __future__ import annotations

import json

from services.parser import region
from services.parser.extract import extract_article
from services.parser.html import parse_page

FEATURES = [
    ("Plan", "Draw the roadmap with the whole team and share it with one link."),
    ("Track", "Follow every issue from the first report to the release notes."),
    ("Ship", "Release on a schedule the team chose, with reviews built in."),
    ("Learn", "See what slowed each cycle down and fix it before the next one."),
]
FURNITURE = (
    '<nav><a href="/">Home</a><a href="/pricing">Pricing</a></nav>'
    "<header><p>Log in to your workspace</p></header>"
    '<div class="cookie-banner"><p>We use cookies to improve your visit.</p></div>'
    "<div hidden><p>A dialog nobody sees until asked.</p></div>"
    "<button>Open the app</button>"
)


def page(body: str, head: str = "", body_class: str = "") -> str:
    return (
        f"<html><head><title>Workspace</title>{head}</head>"
        f'<body class="{body_class}">{body}</body></html>'
    )


def sections() -> str:
    return "".join(f"<section><h2>{name}</h2><p>{text}</p></section>" for name, text in FEATURES)


def test_the_region_keeps_every_section_and_leaves_the_furniture_out() -> None:
    html = page(f"{FURNITURE}<main>{sections()}</main><footer><p>© Workspace Inc.</p></footer>")
    tree = parse_page(html)
    assert tree is not None
    texts = [block["text"] for block in region.region_blocks(tree)]
    assert texts == [part for feature in FEATURES for part in feature]


def test_without_a_main_element_the_body_is_the_region_even_when_named_like_furniture() -> None:
    html = page(f"{FURNITURE}<div>{sections()}</div>", body_class="has-sidebar with-header")
    tree = parse_page(html)
    assert tree is not None
    texts = [block["text"] for block in region.region_blocks(tree)]
    assert texts == [part for feature in FEATURES for part in feature]


def test_a_service_page_is_read_whole() -> None:
    html = page(f"{FURNITURE}<main><h1>Workspace</h1>{sections()}</main>")
    article = extract_article(html, "https://workspace.example.com/")
    assert article.page_type == "service"
    assert article.method == "service: main region"
    for name, text in FEATURES:
        assert name in article.text and text in article.text
    assert "cookies" not in article.text and "Log in" not in article.text


def test_a_product_page_leaves_out_the_grid_of_other_products() -> None:
    data = {"@type": "Product", "name": "Blue mug", "offers": {"@type": "Offer"}}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    description = (
        "<h1>Blue mug</h1><p>A stoneware mug that holds 350 ml and keeps tea warm. "
        "It is glazed by hand in our workshop by the river.</p>"
    )
    cards = "".join(
        f'<div class="card"><a href="/products/mug-{n}"><div>Mug number {n}</div>'
        f"<div>Stoneware mug glazed by hand in colour {n}</div></a><div>24.00 €</div></div>"
        for n in range(10)
    )
    html = page(f'<main>{description}<div class="grid">{cards}</div></main>', head)
    article = extract_article(html, "https://shop.example.com/products/blue-mug")
    assert article.page_type == "product"
    assert "keeps tea warm" in article.text
    assert "Mug number" not in article.text


def test_calls_to_action_and_screen_reader_text_are_left_out() -> None:
    extras = (
        '<a class="btn btn-primary" href="/demo">Book a demo</a>'
        '<a role="button" href="/trial">Start a trial</a>'
        '<h2 class="sr-only">Sort and filter</h2>'
        '<a href="/guide">Read the planning guide</a>'
    )
    tree = parse_page(page(f"<main>{sections()}{extras}</main>"))
    assert tree is not None
    texts = [block["text"] for block in region.region_blocks(tree)]
    assert texts == [part for feature in FEATURES for part in feature] + ["Read the planning guide"]


def test_a_box_named_like_furniture_that_holds_most_of_the_region_is_kept() -> None:
    # Shops wrap their whole grid in "filtering-and-pagination" boxes.
    pager = '<div class="pagination"><a href="?page=2">Next page</a></div>'
    body = f'<main><div class="filtering-and-pagination_column">{sections()}</div>{pager}</main>'
    tree = parse_page(page(body))
    assert tree is not None
    texts = [block["text"] for block in region.region_blocks(tree)]
    assert texts == [part for feature in FEATURES for part in feature]


def test_a_header_inside_the_content_heads_its_section_and_is_kept() -> None:
    hero = (
        "<section><header><h1>One video is worth a thousand words</h1>"
        "<p>Record and share video messages with your team.</p></header></section>"
    )
    html = page(f"{FURNITURE}<main>{hero}{sections()}</main>")
    tree = parse_page(html)
    assert tree is not None
    texts = [block["text"] for block in region.region_blocks(tree)]
    # The page's own header (FURNITURE's, outside main) is the site's banner: left out.
    assert texts == [
        "One video is worth a thousand words",
        "Record and share video messages with your team.",
        *(part for feature in FEATURES for part in feature),
    ]
