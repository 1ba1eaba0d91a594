"""What a page says about itself: canonical URL, language, titles, dates, links."""

from __future__ import annotations

import datetime
import json
import re
from urllib.parse import urljoin

from lxml.html import HtmlElement

from shared.language import language_code, resolve_language
from shared.urls import InvalidURL, normalize_url

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def declared_language(tree: HtmlElement) -> str | None:
    """Return the language the page declares (``<html lang>``, meta tags), or None."""
    candidates = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    candidates += tree.xpath(
        "//meta[translate(@http-equiv, 'CONTENT-LANGUAGE', 'content-language')"
        " = 'content-language']/@content | //meta[@property = 'og:locale']/@content"
    )
    for candidate in candidates:
        code = language_code(str(candidate or ""))
        if code:
            return code
    return None


def article_language(text: str, declared: str | None) -> str | None:
    """Return the language of an article's ``text``: detected from its words.

    The page's ``declared`` language counts only when the text is too short or mixed
    for the detector to be sure (:func:`shared.language.resolve_language`): sites
    often declare one language for pages in several.
    """
    return resolve_language(text, declared)


def canonical_url(tree: HtmlElement, url: str) -> str | None:
    """Return the page's normalised canonical URL (``rel=canonical``, else ``og:url``)."""
    hrefs = tree.xpath(
        "//link[contains(concat(' ', normalize-space(translate(@rel, 'CANONICAL', "
        "'canonical')), ' '), ' canonical ')]/@href | //meta[@property = 'og:url']/@content"
    )
    for href in hrefs:
        absolute = http_url(str(href), url)
        if absolute:
            try:
                return normalize_url(absolute)
            except InvalidURL:
                continue
    return None


def page_titles(tree: HtmlElement) -> list[str]:
    """Return the titles the page gives itself (``og:title``, ``<title>``, first h1)."""
    found = [str(title) for title in tree.xpath("//meta[@property = 'og:title']/@content")]
    for tag in ("title", "h1"):
        found += [element.text_content() for element in tree.iter(tag)][:1]
    return [" ".join(title.split()) for title in found if title.strip()]


def http_url(value: str | None, base: str) -> str | None:
    """Return ``value`` resolved against ``base`` if it is an http(s) URL, else None."""
    if not value or not value.strip():
        return None
    absolute = urljoin(base, value.strip())
    return absolute if absolute.startswith(("http://", "https://")) else None


def parse_date(value: str | None) -> datetime.date | None:
    """Return the date at the start of an ISO 8601 string, or None."""
    if not value or not _DATE.match(value):
        return None
    try:
        return datetime.date.fromisoformat(value[:10])
    except ValueError:
        return None


def declared_authors(tree: HtmlElement) -> list[str]:
    """Return the authors the page names in its meta tags or JSON-LD (cheap, no guessing)."""
    names = [str(name) for name in tree.xpath("//meta[@name = 'author']/@content")]
    for script in tree.xpath("//script[@type = 'application/ld+json']/text()")[:5]:
        try:
            data = json.loads(str(script))
        except ValueError:
            continue
        for node in data if isinstance(data, list) else [data]:
            author = node.get("author") if isinstance(node, dict) else None
            for person in author if isinstance(author, list) else [author]:
                if isinstance(person, dict) and isinstance(person.get("name"), str):
                    names.append(person["name"])
                elif isinstance(person, str):
                    names.append(person)
    # Several names in one value are separated as trafilatura separates them.
    cleaned = (" ".join(part.split()) for name in names for part in re.split(r"[;|]", name))
    return list(dict.fromkeys(name for name in cleaned if name and len(name) <= 100))


def declared_date(tree: HtmlElement) -> str | None:
    """Return the publication date the page declares (meta tags, JSON-LD, ``<time>``)."""
    candidates = tree.xpath(
        "//meta[@property = 'article:published_time' or @name = 'date'"
        " or @itemprop = 'datePublished' or @name = 'publish-date']/@content"
        " | //*[@itemprop = 'datePublished']/@datetime"
    )
    for script in tree.xpath("//script[@type = 'application/ld+json']/text()")[:5]:
        match = re.search(r'"datePublished"\s*:\s*"([^"]+)"', str(script))
        if match:
            candidates.append(match.group(1))
    candidates += tree.xpath("(//time/@datetime)[1]")
    for candidate in candidates:
        value = str(candidate).strip()
        if parse_date(value):
            return value
    return None


def declared_image(tree: HtmlElement) -> str | None:
    """Return the page's preview image (``og:image``, ``twitter:image``), if it names one."""
    found = tree.xpath("//meta[@property = 'og:image' or @name = 'twitter:image']/@content")
    return str(found[0]).strip() if found else None
