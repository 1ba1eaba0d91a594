"""Write export files of every format kbm imports, from one made-up library.

``python -m tests.imports.make_fixtures DIR [ROWS]`` writes them to DIR; the tests
call :func:`write_all` into a temporary folder. Every file holds the same library:
``ROWS`` distinct links with titles (quotes, commas, non-ASCII), tags (some with
spaces), dates (seconds and ISO), statuses, notes and highlights, then ``DUPLICATES``
repeated rows, ``VARIANTS`` other spellings of earlier links (tracking parameters,
``www.``/``http``) and ``REFUSED`` rows that cannot be imported.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path

DUPLICATES = 5
VARIANTS = 3
REFUSED = (
    "ftp://files.example/archive.zip",
    "https://user:secret@private.example/a",
    "not a url at all",
    "javascript:alert(1)",
)
BASE_TIME = 1_600_000_000
TITLES = (
    'He said "hello", then left',
    "Café, crème & brûlée — 東京 🚀",
    "Plain title",
    "Commas, commas, commas",
    "Ünïcödé \u2018quotes\u2019",
)
TAGS: tuple[list[str], ...] = (
    ["python"],
    ["machine learning", "ai"],
    [],
    ["reading list", "long read", "x"],
    ["news"],
)
FOLDERS = ("Reading/Tech", "Reading", "")


@dataclass
class Entry:
    """One saved link of the made-up library."""

    url: str
    title: str
    tags: list[str]
    saved: int
    status: str  # unread | archived
    favourite: bool
    note: str = ""
    highlights: list[str] = field(default_factory=list)
    folder: str = ""

    @property
    def iso(self) -> str:
        """The saved time in ISO 8601."""
        return datetime.fromtimestamp(self.saved, UTC).isoformat().replace("+00:00", "Z")


def library(rows: int) -> list[Entry]:
    """Return the rows of the library, in file order (edge cases at the end)."""
    entries = [
        Entry(
            url=f"https://site{n % 7}.example/articles/{n}?page={n % 3}",
            title=f"{TITLES[n % len(TITLES)]} #{n}",
            tags=list(TAGS[n % len(TAGS)]),
            saved=BASE_TIME + n * 3600,
            status="archived" if n % 4 == 0 else "unread",
            favourite=n % 10 == 0,
            note=f'note {n}: "quoted", with commas' if n % 6 == 0 else "",
            highlights=[f"highlight {n}.1", f"highlight {n}.2"] if n % 9 == 0 else [],
            folder=FOLDERS[n % len(FOLDERS)],
        )
        for n in range(rows)
    ]
    repeats = [Entry(**vars(entry)) for entry in entries[:DUPLICATES]]
    variants = []
    for n in range(DUPLICATES, DUPLICATES + VARIANTS):
        entry = Entry(**vars(entries[n]))
        host = entry.url.split("/")[2]
        entry.url = entry.url.replace(f"https://{host}", f"http://www.{host}") + "&utm_source=x"
        variants.append(entry)
    refused = [Entry(url, "refused", [], BASE_TIME, "unread", False) for url in REFUSED]
    return entries + repeats + variants + refused


def pocket_csv(entries: list[Entry]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["title", "url", "time_added", "tags", "status"])
    for e in entries:
        writer.writerow(
            [
                e.title,
                e.url,
                e.saved,
                "|".join(e.tags),
                "archive" if e.status == "archived" else "unread",
            ]
        )
    return out.getvalue().encode()


def pocket_html(entries: list[Entry]) -> bytes:
    parts = [
        '<!DOCTYPE html>\n<html><head><meta charset="UTF-8"><title>Pocket Export</title>'
        "</head><body>"
    ]
    for heading, status in (("Unread", "unread"), ("Read Archive", "archived")):
        parts.append(f"<h1>{heading}</h1>\n<ul>")
        for e in entries:
            if e.status == status:
                parts.append(
                    f'<li><a href="{escape(e.url)}" time_added="{e.saved}" '
                    f'tags="{escape(",".join(e.tags))}">{escape(e.title)}</a></li>'
                )
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts).encode()


def netscape(entries: list[Entry]) -> bytes:
    parts = [
        "<!DOCTYPE NETSCAPE-Bookmark-file-1>",
        '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">',
        "<TITLE>Bookmarks</TITLE>",
        "<H1>Bookmarks</H1>",
        "<DL><p>",
    ]

    def line(e: Entry, indent: str) -> None:
        parts.append(
            f'{indent}<DT><A HREF="{escape(e.url)}" ADD_DATE="{e.saved}" '
            f'TAGS="{escape(",".join(e.tags))}">{escape(e.title)}</A>'
        )
        if e.note:
            parts.append(f"{indent}<DD>{escape(e.note)}")

    for e in entries:
        if not e.folder:
            line(e, "    ")
    parts.append("    <DT><H3>Reading</H3>\n    <DL><p>")
    for e in entries:
        if e.folder == "Reading":
            line(e, "        ")
    parts.append("        <DT><H3>Tech</H3>\n        <DL><p>")
    for e in entries:
        if e.folder == "Reading/Tech":
            line(e, "            ")
    parts.append("        </DL><p>\n    </DL><p>\n</DL><p>\n")
    return "\n".join(parts).encode()


def instapaper(entries: list[Entry]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["URL", "Title", "Selection", "Folder", "Timestamp", "Tags"])
    for e in entries:
        folder = "Archive" if e.status == "archived" else (e.folder.split("/")[-1] or "Unread")
        writer.writerow(
            [
                e.url,
                e.title,
                e.highlights[0] if e.highlights else "",
                folder,
                e.saved,
                json.dumps(e.tags),
            ]
        )
    return out.getvalue().encode()


def raindrop(entries: list[Entry]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "id",
            "title",
            "note",
            "excerpt",
            "url",
            "folder",
            "tags",
            "created",
            "cover",
            "highlights",
            "favorite",
        ]
    )
    for n, e in enumerate(entries):
        writer.writerow(
            [
                n,
                e.title,
                e.note,
                "",
                e.url,
                e.folder or "Unsorted",
                ", ".join(e.tags),
                e.iso,
                "",
                "\n".join(f"Highlight:{h}" for h in e.highlights),
                str(e.favourite).lower(),
            ]
        )
    return out.getvalue().encode()


def readwise(entries: list[Entry]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "Title",
            "URL",
            "ID",
            "Document tags",
            "Saved date",
            "Reading progress",
            "Location",
            "Seen",
        ]
    )
    for n, e in enumerate(entries):
        location = "archive" if e.status == "archived" else ("shortlist" if e.favourite else "new")
        saved = datetime.fromtimestamp(e.saved, UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
        writer.writerow([e.title, e.url, n, repr(e.tags), saved, "0", location, "True"])
    return out.getvalue().encode()


def _omnivore_entry(e: Entry) -> dict[str, object]:
    return {
        "id": e.url,
        "slug": "s",
        "title": e.title,
        "url": e.url,
        "state": "Archived" if e.status == "archived" else "Succeeded",
        "labels": e.tags,
        "savedAt": e.iso,
        "readingProgress": 0,
        "highlights": [{"quote": h, "annotation": None} for h in e.highlights],
    }


def omnivore(entries: list[Entry], per_file: int = 100) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for start in range(0, len(entries), per_file):
            chunk = [_omnivore_entry(e) for e in entries[start : start + per_file]]
            name = f"metadata_{start}_to_{start + len(chunk)}.json"
            archive.writestr(name, json.dumps(chunk, ensure_ascii=False))
        archive.writestr("content/readme.txt", "page contents are not imported")
    return out.getvalue()


def karakeep(entries: list[Entry]) -> bytes:
    bookmarks = [
        {
            "createdAt": e.saved,
            "title": e.title,
            "tags": e.tags,
            "content": {"type": "link", "url": e.url},
            "note": e.note or None,
            "archived": e.status == "archived",
            "favourited": e.favourite,
        }
        for e in entries
    ]
    bookmarks.append(
        {
            "createdAt": BASE_TIME,
            "title": "a text note",
            "tags": [],
            "content": {"type": "text", "text": "remember the milk"},
        }
    )
    return json.dumps({"bookmarks": bookmarks}, ensure_ascii=False).encode()


def linkwarden(entries: list[Entry]) -> bytes:
    collections: dict[str, list[dict[str, object]]] = {}
    for n, e in enumerate(entries):
        collections.setdefault(e.folder or "Unorganized", []).append(
            {
                "id": n,
                "name": e.title,
                "url": e.url,
                "description": e.note,
                "tags": [{"name": t} for t in e.tags],
                "createdAt": e.iso,
                "pinnedBy": [{"id": 1}] if e.favourite else [],
            }
        )
    document = {
        "id": 1,
        "name": "me",
        "email": "me@example.org",
        "collections": [
            {"id": n, "name": name, "links": links}
            for n, (name, links) in enumerate(collections.items())
        ],
    }
    return json.dumps(document, ensure_ascii=False).encode()


def opml(feeds: int = 20) -> bytes:
    outlines = "\n".join(
        f'      <outline type="rss" text="Feed {n} &amp; co" xmlUrl="https://feeds{n}.example/rss?n={n}"/>'
        for n in range(feeds)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>subs</title>'
        f'</head><body>\n  <outline text="Tech">\n{outlines}\n  </outline>\n'
        f'  <outline text="not a feed" htmlUrl="https://example.org/"/>\n</body></opml>\n'
    ).encode()


def text(entries: list[Entry]) -> bytes:
    return ("# my reading list\n\n" + "\n".join(e.url for e in entries) + "\n").encode()


WRITERS = {
    "pocket-csv": ("pocket.csv", pocket_csv),
    "pocket-html": ("ril_export.html", pocket_html),
    "netscape": ("bookmarks.html", netscape),
    "instapaper": ("instapaper-export.csv", instapaper),
    "raindrop": ("raindrop.csv", raindrop),
    "readwise": ("reader.csv", readwise),
    "omnivore": ("omnivore.zip", omnivore),
    "karakeep": ("karakeep.json", karakeep),
    "linkwarden": ("linkwarden.json", linkwarden),
    "text": ("urls.txt", text),
}


def write_all(folder: Path, rows: int = 300) -> dict[str, Path]:
    """Write one file per format into ``folder``; return format name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = library(rows)
    written: dict[str, Path] = {}
    for name, (file_name, writer) in WRITERS.items():
        path = folder / file_name
        path.write_bytes(writer(entries))
        written[name] = path
    path = folder / "subscriptions.opml"
    path.write_bytes(opml())
    written["opml"] = path
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("fixtures")
    for fmt, file in write_all(target, int(sys.argv[2]) if len(sys.argv) > 2 else 300).items():
        print(f"{fmt}: {file}")
