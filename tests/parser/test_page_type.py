"""Page types: how a page is recognised, read with its strategy, and carried downstream."""

from __future__ import annotations

import datetime
import json

import pytest

from services.ai.prompt import article_message
from services.ai.providers import ArticleInput
from services.notion.publishers.base import PublishDocument
from services.notion.publishers.markdown import render
from services.parser import forum, items, page_type, product
from services.parser.extract import extract_article
from services.parser.html import parse_page

WORDS = (
    "The committee met on Tuesday to discuss the harbour, the ferries and the new timetable "
    "that the town will publish before the summer season begins in earnest."
)


def page(body: str, head: str = "") -> str:
    return f"<html><head><title>A page</title>{head}</head><body>{body}</body></html>"


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def kind_of(html: str, url: str) -> page_type.PageKind:
    tree = parse_page(html)
    assert tree is not None
    return page_type.classify(tree, url)


@pytest.mark.parametrize(
    ("html", "url", "expected"),
    [
        (page(f"<p>{WORDS}</p>"), "https://example.com/about", "article"),
        (
            page(f"<p>{WORDS}</p>", ld({"@type": "Product", "offers": {"@type": "Offer"}})),
            "https://shop.example.com/products/blue-mug",
            "product",
        ),
        (page(f"<p>{WORDS}</p>"), "https://shop.example.com/collections/mugs", "collection"),
        (page(f"<p>{WORDS}</p>"), "https://community.example.org/t/a-question/1234", "forum"),
        (
            page(f"<p>{WORDS}</p>", ld({"@type": "QAPage"})),
            "https://example.org/q/1",
            "forum",
        ),
        (
            page("".join(f"<pre>x = {n}</pre>" for n in range(4)) + f"<p>{WORDS}</p>"),
            "https://docs.example.dev/guide/start",
            "documentation",
        ),
        (page(f"<p>{WORDS}</p>"), "https://example.com/news", "listing"),
        # The variants of one product (sizes, colours) are no collection of products.
        (
            page(
                f"<p>{WORDS}</p>",
                ld({"@type": "ProductGroup", "hasVariant": [{"@type": "Product"}] * 6}),
            ),
            "https://shop.example.com/mugs/blue-mug",
            "product",
        ),
        # A product's address inside the shop's is a product's.
        (
            page(f'<p>{WORDS}</p><button class="add-to-cart">Add to cart</button>'),
            "https://example.com/store/products/blue-mug",
            "product",
        ),
        # A home page that declares one product sells that product.
        (
            page(f"<p>{WORDS}</p>", ld({"@type": "Product", "offers": {"@type": "Offer"}})),
            "https://shop.example.com/",
            "product",
        ),
    ],
)
def test_pages_are_recognised_from_their_schema_address_and_markup(
    html: str, url: str, expected: str
) -> None:
    assert kind_of(html, url).page_type == expected


def test_an_article_that_says_so_is_declared_and_goes_to_the_ensemble() -> None:
    head = '<meta property="og:type" content="article">' + ld({"@type": "NewsArticle"})
    kind = kind_of(page(f"<article><p>{WORDS}</p></article>", head), "https://example.com/a")
    assert kind == page_type.PageKind("article", declared_article=True)
    assert not kind_of(page(f"<p>{WORDS}</p>"), "https://example.com/about").declared_article


def thread_of(body: str) -> tuple[str, list[str]]:
    """Return the forum software recognised in ``body`` and its thread's block texts."""
    tree = parse_page(page(body))
    assert tree is not None
    found = forum.thread_blocks(tree)
    assert found is not None
    software, blocks = found
    return software, [block["text"] for block in blocks]


DISCOURSE = "".join(
    f"""<div id="post_{n}" class="topic-body crawler-post">
      <div class="crawler-post-meta"><span class="creator" itemprop="author">
        <a href="/u/{name}"><span itemprop="name">{name}</span></a></span>
        <span class="crawler-post-infos"><time datetime="2024-05-0{n}">May {n}, 2024</time></span>
      </div>
      <div class="post" itemprop="text"><p>{text}</p></div>
    </div>"""
    for n, name, text in [
        (1, "raoul", "After the update my devices stay unavailable after every reboot."),
        (2, "tom", "Roll back to the previous release and open an issue with the log."),
        (3, "raoul", "Rolling back worked, thank you; the issue is open now."),
    ]
)


def test_a_thread_is_read_post_by_post_with_authors_in_order() -> None:
    tree = parse_page(page(f"<nav>Latest Top Categories</nav>{DISCOURSE}<footer>Powered</footer>"))
    assert tree is not None
    found = forum.thread_blocks(tree)
    assert found is not None
    software, blocks = found
    assert software == "discourse"
    texts = [block["text"] for block in blocks]
    assert texts[0] == "raoul · May 1, 2024"
    assert texts[1].startswith("After the update")
    assert [text.split(" · ")[0] for text in texts[::2]] == ["raoul", "tom", "raoul"]


def test_a_forum_page_keeps_every_reply_through_extract_article() -> None:
    html = page(f"<nav>Latest Top Categories</nav>{DISCOURSE}")
    article = extract_article(html, "https://community.example.org/t/devices/724779")
    assert article.page_type == "forum"
    assert "Roll back to the previous release" in article.text
    assert "Rolling back worked" in article.text


def xenforo_post(name: str, body: str) -> str:
    return f"""<article class="message message--post">
      <h4 class="message-name"><a href="/members/{name}">{name}</a></h4>
      <div class="message-attribution-main"><time>Feb 20, 2010</time></div>
      <div class="bbWrapper">{body}</div></article>"""


def quoting(name: str, text: str) -> str:
    return (
        '<blockquote class="bbCodeBlock bbCodeBlock--expandable bbCodeBlock--quote">'
        f'<div class="bbCodeBlock-title">{name} said:</div>'
        f'<div class="bbCodeBlock-content">{text}</div></blockquote>'
    )


def test_a_reply_is_read_without_its_quote_of_an_earlier_post_on_the_page() -> None:
    first = "Which sounds better for the course: car rental English or English for car rental?"
    earlier = "Rental English is what the previous page of this thread settled on long ago."
    thread = (
        xenforo_post("tomas", first)
        + xenforo_post("maria", quoting("tomas", first) + "English for car rental, I think.")
        + xenforo_post("jan", quoting("piet", earlier) + "As was said before the break.")
    )
    software, texts = thread_of(thread)
    assert software == "xenforo"
    # The question once, in its own post; maria's reply without the copy nor "said:".
    assert sum(first in text for text in texts) == 1
    assert "tomas said:" not in " ".join(texts)
    assert "English for car rental, I think." in texts
    # A quote of a post that is not on this page is all the reader has of it: kept.
    assert "piet said:" in texts
    assert any(earlier in text for text in texts)


def vbulletin_post(number: int, name: str, date: str, text: str) -> str:
    return f"""<div id="edit{number}"><table id="post{number}" class="tborder"><tr>
      <td class="thead"><a name="post{number}"><img alt="Old"></a> {date}</td>
      <td class="thead">#<a href="showpost.php?p={number}">{number}</a> | Link</td></tr>
      <tr><td class="alt2"><a class="bigusername" href="member.php?u=1">{name}</a>
      <div class="smallfont">Join Date: Mar 2016</div></td>
      <td class="alt1" id="td_post_{number}"><div id="post_message_{number}">{text}</div>
      </td></tr></table></div>"""


def test_a_vbulletin_thread_is_read_post_by_post() -> None:
    thread = vbulletin_post(
        1, "microfast", "30th March 2025, 16:26", "The card plays 23.976 films at 23.951 Hz."
    ) + vbulletin_post(2, "Emulgator", "31st March 2025, 09:02", "Try the older driver first.")
    assert thread_of(f'<div id="posts">{thread}</div>') == (
        "vbulletin",
        [
            "microfast · 30th March 2025, 16:26",
            "The card plays 23.976 films at 23.951 Hz.",
            "Emulgator · 31st March 2025, 09:02",
            "Try the older driver first.",
        ],
    )


def test_a_flarum_thread_is_read_from_its_crawler_view() -> None:
    posts = "".join(
        f'<article><div class="PostUser"><h3 class="PostUser-name">{name}</h3></div>'
        f'<div class="Post-body"><p>{text}</p></div></article>'
        for name, text in [
            ("antonjw", "What kinds of discussion should forum software serve today?"),
            ("luceos", "Threads, questions and chat all have their place here."),
        ]
    )
    body = (
        '<div id="app"><main><noscript id="flarum-content"><div class="container">'
        f"<h1>Types of threads</h1><div>{posts}</div></div></noscript></main></div>"
    )
    assert thread_of(body) == (
        "flarum",
        [
            "antonjw",
            "What kinds of discussion should forum software serve today?",
            "luceos",
            "Threads, questions and chat all have their place here.",
        ],
    )


def test_an_invision_5_thread_is_read_post_by_post() -> None:
    posts = "".join(
        f"""<article class="ipsEntry js-ipsEntry ipsEntry--post" id="elComment_{n}">
          <aside class="ipsEntry__author-column"><a class="ipsUsername" href="/u/{n}">{name}</a>
          <span>563 posts</span></aside>
          <div class="ipsEntry__header"><time class="ipsTime" datetime="2024-08-2{n}">
            <span class="ipsTime__long">August 2{n}, 2024</span>
            <span class="ipsTime__short">1 yr</span>
          </time></div>
          <div class="ipsRichText ipsRichText--user" data-role="commentContent"><p>{text}</p></div>
        </article>"""
        for n, name, text in [
            (6, "ron1cne", "Where can I read the roadmap for the coming releases?"),
            (7, "paul2009", "Members of the Circle programme see the roadmap early."),
        ]
    )
    assert thread_of(f"<main>{posts}</main>") == (
        "invision 5",
        [
            "ron1cne · August 26, 2024",
            "Where can I read the roadmap for the coming releases?",
            "paul2009 · August 27, 2024",
            "Members of the Circle programme see the roadmap early.",
        ],
    )


def test_the_replies_of_a_thread_on_unknown_software_are_kept() -> None:
    reply = (
        "Two ferries a day would be plenty for the winter months, and the summer timetable "
        "could double them without any new boats being bought at all."
    )
    body = (
        f"<nav>Home Forums</nav><main><article><h1>Ferries</h1><p>{WORDS}</p></article>"
        f'<div id="comments" class="comments"><div class="comment"><p>{reply}</p></div>'
        '<div class="comment"><p>Agreed, the harbour master said as much last week.</p></div>'
        "</div></main>"
    )
    article = extract_article(page(body), "https://www.example.org/forum/harbour/ferries-1234")
    assert article.page_type == "forum"
    assert article.method == "forum: trafilatura"
    assert [block["text"] for block in article.blocks] == [
        WORDS,
        reply,
        "Agreed, the harbour master said as much last week.",
    ]


def test_a_grid_of_cards_outside_the_navigation_is_the_list_of_items() -> None:
    menu = "".join(f'<li class="m"><a href="/{n}">Menu entry {n}</a></li>' for n in range(9))
    cards = "".join(
        f'<div class="card"><a href="/p/{n}"><h3>Course {n}</h3></a><p>Learn topic {n} '
        f"in six weeks with weekly exercises.</p></div>"
        for n in range(5)
    )
    body = f'<nav><ul>{menu}</ul></nav><main><div class="grid">{cards}</div></main>'
    tree = parse_page(page(body))
    assert tree is not None
    found = items.list_items(tree)
    assert [block["text"].split(" Learn")[0] for block in found] == [
        f"Course {n}" for n in range(5)
    ]


def test_a_product_description_from_structured_data_fills_what_the_page_lacks() -> None:
    data = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Shop"},
            {
                "@type": "Product",
                "name": "Blue mug",
                "description": "A stoneware mug.<br>Holds 350 ml &amp; keeps tea warm.",
            },
        ],
    }
    tree = parse_page(page("<p>Add to cart</p>", ld(data)))
    assert tree is not None
    blocks = product.product_blocks(tree)
    assert [block["text"] for block in blocks] == [
        "Blue mug",
        "A stoneware mug.",
        "Holds 350 ml & keeps tea warm.",
    ]
    merged = product.merge(blocks, [{"type": "paragraph", "text": "A stoneware mug."}])
    assert [block["text"] for block in merged] == [
        "Blue mug",
        "Holds 350 ml & keeps tea warm.",
        "A stoneware mug.",
    ]


def test_the_page_type_reaches_the_front_matter_and_the_prompt() -> None:
    document = PublishDocument(
        link_id=7,
        url="https://shop.example.com/products/blue-mug",
        title="Blue mug",
        text="A stoneware mug.",
        summary="A mug.",
        category="Home",
        tags=["mugs"],
        sentiment="neutral",
        sentiment_score=0.0,
        authors=[],
        published_at=datetime.date(2024, 1, 2),
        language="en",
        page_type="product",
    )
    assert "\ntype: product\nlink_id: 7\n" in render(document)
    message = article_message(
        ArticleInput("Blue mug", "A stoneware mug.", "en", document.url, page_type="product"),
        "A stoneware mug.",
    )
    assert "Page type: product. This is a product page" in message
    plain = article_message(ArticleInput("News", "Text.", "en", "https://e.com/a"), "Text.")
    assert "Page type" not in plain
