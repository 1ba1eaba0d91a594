"""The posts of a forum thread, in order, each with its author and date.

General-purpose extractors keep one post (the longest block of text) or mix the posts
with the forum's furniture. Forum software marks its posts up the same way on every
site, so the posts are read from that markup: Discourse and Flarum (their crawler
views), XenForo, Invision Community (4 and 5), phpBB, Stack Exchange, vBulletin, and
any forum that marks posts with schema.org microdata (``Comment``, ``Answer``,
``DiscussionForumPosting`` with an ``itemprop="text"`` body). A thread none of them
matches is left to the generic strategy. A reply's quote of an earlier post on the page
is left out: that post is already there.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from lxml.etree import _Element

from services.parser.structure import blocks_from_html
from shared.blocks import Block


def _has_class(name: str) -> str:
    """Return an XPath test for an element whose class list holds ``name``."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


@dataclass(frozen=True)
class Platform:
    """Where one forum software puts its posts, and each post's author, date and body."""

    name: str
    posts: str
    author: str
    date: str
    body: str


PLATFORMS = (
    Platform(
        "discourse",
        f"//div[{_has_class('crawler-post')}]",
        f".//*[{_has_class('creator')}]//*[@itemprop='name']",
        ".//time",
        ".//div[@itemprop='text']",
    ),
    Platform(
        "xenforo",
        f"//article[{_has_class('message--post')}]",
        f".//*[{_has_class('message-name')}]",
        f".//*[{_has_class('message-attribution-main')}]//time",
        f".//div[{_has_class('bbWrapper')}]",
    ),
    Platform(
        "invision",
        f"//article[{_has_class('cPost')}]",
        f".//*[{_has_class('cAuthorPane_author')}]",
        ".//time",
        ".//div[@data-role='commentContent']",
    ),
    Platform(
        "invision 5",
        f"//article[{_has_class('ipsEntry--post')}]",
        f".//*[{_has_class('ipsUsername')}]",
        f".//*[{_has_class('ipsTime__long')}]",
        f".//div[@data-role='commentContent' or {_has_class('ipsRichText--user')}]",
    ),
    Platform(
        "phpbb",
        f"//div[{_has_class('post')} and .//div[{_has_class('postbody')}]]",
        f".//*[{_has_class('username')} or {_has_class('username-coloured')}]",
        f".//p[{_has_class('author')}]",
        f".//div[{_has_class('content')}]",
    ),
    Platform(
        "stackexchange",
        f"//div[{_has_class('post-layout')}]",
        f".//div[{_has_class('user-details')}]/a",
        ".//time",
        f".//div[{_has_class('js-post-body')}]",
    ),
    Platform(
        "vbulletin",
        "//*[starts-with(@id, 'post_message_')]/ancestor::*[starts-with(@id, 'edit')][1]",
        f".//a[{_has_class('bigusername')}]",
        ".//a[starts-with(@name, 'post')]/parent::*",
        ".//*[starts-with(@id, 'post_message_')]",
    ),
    Platform(
        "flarum",
        f"//*[@id='flarum-content']//article[.//div[{_has_class('Post-body')}]]",
        f".//*[{_has_class('PostUser-name')}]",
        ".//time",
        f".//div[{_has_class('Post-body')}]",
    ),
    Platform(
        "microdata",
        "//*[contains(@itemtype, 'schema.org/Comment') or contains(@itemtype, 'schema.org/Answer')"
        " or contains(@itemtype, 'schema.org/Question')"
        " or contains(@itemtype, 'schema.org/DiscussionForumPosting')]",
        ".//*[@itemprop='author']//*[@itemprop='name'] | .//*[@itemprop='author'][not(*)]",
        ".//time | .//*[@itemprop='datePublished']",
        ".//*[@itemprop='text' or @itemprop='articleBody']",
    ),
)
#: A thread needs this many words in its posts to be taken from the markup.
MIN_WORDS = 15
#: A quote repeats the thread when this share of its word pairs was said in it before.
REPEATED = 0.8
_WORD = re.compile(r"\w+")


def thread_blocks(tree: _Element) -> tuple[str, list[Block]] | None:
    """Return the forum software recognised and the thread's blocks, or None."""
    for platform in PLATFORMS:
        blocks = _posts(tree, platform)
        words = sum(len(block["text"].split()) for block in blocks)
        if words >= MIN_WORDS:
            return platform.name, blocks
    return None


def _posts(tree: _Element, platform: Platform) -> list[Block]:
    """Return the blocks of every post ``platform`` finds: a byline, then the body."""
    blocks: list[Block] = []
    seen: set[_Element] = set()
    # What the thread said so far: a reply quoting an earlier post is read without the
    # quote (its title, "tom said:", too); a quote of a post not on the page stays.
    said: set[tuple[str, str]] = set()
    for post in tree.xpath(platform.posts):
        bodies = [body for body in post.xpath(platform.body) if body not in seen]
        if not bodies:
            continue
        body = bodies[0]
        # A post's body holds the posts nested in it (replies): each is read once.
        seen.update(body.iter())
        found = (_first_text(post, platform.author), _first_text(post, platform.date))
        byline = " · ".join(text for text in found if text)
        body_blocks = blocks_from_html(body, skip=lambda element: _repeats(element, said))
        if not body_blocks:
            continue
        for block in body_blocks:
            said.update(_pairs(block["text"]))
        if byline:
            blocks.append({"type": "paragraph", "text": byline})
        blocks.extend(body_blocks)
    return blocks


def _first_text(post: _Element, xpath: str) -> str:
    """Return the whitespace-collapsed text of the first match of ``xpath`` in ``post``."""
    for found in post.xpath(xpath):
        text = " ".join((found.text_content() if hasattr(found, "text_content") else "").split())
        if text:
            return text[:120]
    return ""


def _is_quote(element: _Element) -> bool:
    """Return whether ``element`` quotes a post: a blockquote, or Discourse's quote box."""
    if element.tag == "blockquote":
        return True
    return element.tag == "aside" and "quote" in (element.get("class") or "").split()


def _pairs(text: str) -> set[tuple[str, str]]:
    """Return the pairs of consecutive words of ``text``, lower-cased."""
    words = _WORD.findall(text.lower())
    return set(itertools.pairwise(words))


def _repeats(element: _Element, said: set[tuple[str, str]]) -> bool:
    """Return whether ``element`` is a quote of what the thread ``said`` before."""
    if not _is_quote(element):
        return False
    pairs = _pairs(element.text_content())
    return bool(pairs) and sum(pair in said for pair in pairs) >= REPEATED * len(pairs)
