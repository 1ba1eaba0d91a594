"""The Markdown publisher: one file per link with YAML front matter, written atomically.

A link's file is ``<slug-of-title>-<link_id>.md`` under the export folder. Its front
matter holds the article's metadata (the Notion page's properties); ``author`` is a list
of names (Obsidian's convention), so a name that itself holds a comma survives the round
trip. The body has the Notion page's structure: the title as a heading, the summary as a
block quote, then the article's blocks (headings one level below the title, paragraphs,
lists, quotes, code). Without blocks, each non-blank line of the text is a paragraph
(extractors separate paragraphs with one newline, which Markdown would otherwise merge).
Below the title, the page's URL is a link when it is an http(s) one.

Every piece of text in the body comes from a fetched page or the LLM and is written
through :mod:`services.notion.markdown_escape`, so it reads as text and can make no HTML,
link or image: the file is as safe to render as the page was to fetch. The front matter
is YAML written by ``yaml.safe_dump``, which quotes a value wherever it could end the
front matter or start a key.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from services.notion.markdown_escape import autolink, escape_heading, escape_text, fenced_code
from services.notion.publishers.base import Progress, Publication, PublishDocument
from shared.blocks import Block, paragraphs_from_text
from shared.errors import PublishError

NAME = "markdown"
SLUG_MAX_CHARS = 60
APOSTROPHES = frozenset("'\u2019\u02bc")
#: File systems limit a name to 255 bytes; a Chinese or Japanese character takes three.
SLUG_MAX_BYTES = 180
FALLBACK_SLUG = "untitled"
# mkstemp creates files readable by their owner only; an export is meant to be shared.
FILE_MODE = 0o644
# Letters that NFKD does not split into an ASCII base letter plus accents.
TRANSLITERATION = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "þ": "th",
    }
)


def slugify(title: str) -> str:
    """Return a title as lowercase words joined by hyphens, or "untitled" without any.

    Latin letters lose their accents ("Crème" gives "creme"); letters of other scripts
    stay as they are ("東京", "самые"), so every title that has words gives a name. The
    slug holds letters, digits and hyphens only (no separator, dot or reserved
    character) and at most SLUG_MAX_CHARS characters and SLUG_MAX_BYTES bytes of UTF-8.
    """
    kept: list[str] = []
    for char in unicodedata.normalize("NFKC", title.translate(TRANSLITERATION)):
        if char in APOSTROPHES:  # "Don't" gives "dont", not "don-t"
            continue
        ascii_form = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        if ascii_form.isalnum():
            kept.append(ascii_form.lower())
        elif char.isalnum() or (unicodedata.category(char)[0] == "M" and kept[-1:] != ["-"]):
            # A letter of another script, or a vowel sign or virama on one (Devanagari).
            kept.append(char.lower())
        else:
            kept.append("-")
    slug = unicodedata.normalize("NFC", re.sub("-+", "-", "".join(kept)).strip("-"))
    return _shorten(slug) or FALLBACK_SLUG


def _shorten(slug: str) -> str:
    """Cut ``slug`` to the length limits, at a hyphen when one is near the end."""
    if len(slug) <= SLUG_MAX_CHARS and len(slug.encode()) <= SLUG_MAX_BYTES:
        return slug
    end = SLUG_MAX_CHARS
    while len(slug[:end].encode()) > SLUG_MAX_BYTES:
        end -= 1
    # One character more shows whether a word ends right at the limit.
    cut = slug[: end + 1].rfind("-")
    return (slug[:cut] if cut >= end // 2 else slug[:end]).rstrip("-")


def file_name(document: PublishDocument) -> str:
    """Return the name of a document's file: ``<slug-of-title>-<link_id>.md``."""
    return f"{slugify(document.title)}-{document.link_id}.md"


def render(document: PublishDocument) -> str:
    """Return a document as Markdown: front matter, title, source, summary, then the text."""
    published = document.published_at
    if isinstance(published, datetime.datetime):
        # A timestamp would claim a precision the page never gave; keep the day.
        published = published.date()
    front_matter: dict[str, Any] = {
        "title": document.title,
        "url": document.url,
        "tags": list(document.tags),
        "category": document.category,
        "sentiment": document.sentiment,
        "sentiment_score": float(document.sentiment_score),
        "summary": document.summary,
        "author": list(document.authors),
        "published": published,
        "language": document.language,
        # The kind of page (article, product, forum…), when the parser recorded it.
        **({"type": document.page_type} if document.page_type else {}),
        "link_id": document.link_id,
    }
    # What the user kept with the link in the service it was imported from, if anything.
    front_matter.update(document.library)
    header = yaml.safe_dump(front_matter, allow_unicode=True, sort_keys=False)
    parts = ["---\n" + header + "---", "# " + escape_heading(document.title)]
    source = autolink(document.url)
    if source is not None:
        parts.append(f"Source: {source}")
    if document.summary.strip():
        parts.append(_quoted(escape_text(document.summary.strip())))
    parts.extend(render_blocks(document.blocks or paragraphs_from_text(document.text)))
    return "\n\n".join(parts) + "\n"


def render_blocks(blocks: list[Block]) -> list[str]:
    """Return the article's blocks as Markdown parts; a list is one part."""
    parts: list[str] = []
    open_list: str | None = None  # the kind of list the last part is, if it is one
    number = 0
    for block in blocks:
        kind, text = block["type"], block.get("text", "")
        if not text.strip():
            continue
        if kind == "list_item":
            marker_kind = "ordered" if block.get("ordered") else "bullet"
            number = number + 1 if open_list == marker_kind else 1
            marker = f"{number}. " if marker_kind == "ordered" else "- "
            item = marker + escape_text(text.strip()).replace("\n", "\n" + " " * len(marker))
            if open_list == marker_kind:
                parts[-1] += "\n" + item
            else:
                parts.append(item)
            open_list = marker_kind
            continue
        open_list = None
        if kind == "heading":
            # The title is the only level-1 heading: the article's headings start at 2.
            level = min(int(block.get("level", 1)) + 1, 6)
            parts.append("#" * level + " " + escape_heading(text))
        elif kind == "quote":
            parts.append(_quoted(escape_text(text.strip())))
        elif kind == "code":
            parts.append(fenced_code(text))
        else:
            parts.append(escape_text(text.strip()))
    return parts


def _quoted(text: str) -> str:
    """Return Markdown lines as a block quote; a blank line stays inside it."""
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


class MarkdownPublisher:
    """Publish each link as one Markdown file in ``export_dir`` (created when missing)."""

    name = NAME

    def __init__(self, export_dir: Path) -> None:
        self.export_dir = export_dir.expanduser().absolute()

    def publish(
        self,
        document: PublishDocument,
        previous: Publication | None,
        *,
        progress: Progress | None = None,
        deadline: float | None = None,
    ) -> Publication:
        """Write the link's file, replacing its earlier file if the title changed.

        One atomic write has no intermediate state to report, and no waits: ``progress``
        and ``deadline`` are not needed.
        """
        target = self.export_dir / file_name(document)
        try:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            _write_atomically(target, render(document))
        except OSError as ex:
            raise PublishError(f"cannot write {target}: {ex.strerror or ex}") from ex
        # The new file is in place before the old one goes, so the link always has one.
        for stale in self._stale_files(document.link_id, target, previous):
            try:
                stale.unlink(missing_ok=True)
            except OSError as ex:
                raise PublishError(
                    f"cannot remove the old file {stale}: {ex.strerror or ex}"
                ) from ex
        return Publication(
            publisher=NAME, page_id=f"{NAME}:{document.link_id}", page_url=None, path=str(target)
        )

    def _stale_files(self, link_id: int, target: Path, previous: Publication | None) -> list[Path]:
        """Return the link's other files: the previous one and any left in the folder."""
        suffix = f"-{link_id}.md"
        candidates = set(self.export_dir.glob(f"*{suffix}"))
        # Only a name this publisher gives to this link is ever deleted, wherever it is.
        if (
            previous is not None
            and previous.publisher == NAME
            and previous.path
            and Path(previous.path).name.endswith(suffix)
        ):
            candidates.add(Path(previous.path))
        return sorted(path for path in candidates if not _same_file(path, target))


def _same_file(path: Path, target: Path) -> bool:
    """Tell whether two paths name one file, even through a symlink or another spelling."""
    if path == target:
        return True
    try:
        return path.samefile(target)
    except OSError:
        return False


def _write_atomically(target: Path, content: str) -> None:
    """Write ``content`` to ``target`` through a temporary file and a rename."""
    # A temporary file in the same folder keeps the rename on one file system, where
    # os.replace is atomic: readers see the old file or the new one, never half of one.
    handle, temp_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(content)
            stream.flush()
            # Flushed to disk before the rename, so a power cut cannot leave an empty file.
            os.fsync(stream.fileno())
        os.chmod(temp_name, FILE_MODE)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
