"""``kbm links`` and ``kbm show``: search the knowledge base and read one link."""

from __future__ import annotations

from typing import Any

import click

from services.cli import output, times
from services.cli.command import KbmCommand, client

#: Characters of a title shown in the table (the rest is cut with an ellipsis).
TITLE_WIDTH = 60
STATUSES = ("new", "parsed", "enriched", "published", "failed")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@click.command(cls=KbmCommand)
@click.argument("query", nargs=-1)
@click.option("--tag", default=None, help="only links with this tag (any case)")
@click.option("--category", default=None, help="only links of this category (any case)")
@click.option(
    "--status", type=click.Choice(STATUSES), default=None, help="only links at this status"
)
@click.option("--limit", type=click.IntRange(1, 200), default=50, help="links per page")
@click.option("--offset", type=click.IntRange(0), default=0, help="skip this many first")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def links(
    query: tuple[str, ...],
    tag: str | None,
    category: str | None,
    status: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """List links, best match first for QUERY (words, "a phrase", -word, OR).

    Put -- before a query that starts with -word: kbm links -- -wind solar
    """
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    for name, value in (("q", " ".join(query)), ("tag", tag), ("category", category)):
        if value:
            params[name] = value
    if status:
        params["status"] = status
    page = client().request("GET", "/api/links", params=params)
    if as_json:
        output.emit_json(page)
        return
    rows = [
        [link["id"], _cut(link["title"], TITLE_WIDTH), link["category"], ", ".join(link["tags"])]
        for link in page["links"]
    ]
    click.echo(output.table(["id", "title", "category", "tags"], rows))
    shown = len(page["links"])
    first = page["offset"] + 1 if shown else 0
    click.echo(f"{first}-{page['offset'] + shown} of {page['total']} links")


def _title(link: dict[str, Any]) -> str:
    content = link.get("content") or {}
    library = link.get("library") or {}
    return str(content.get("title") or library.get("title") or link["url"])


def _page(link: dict[str, Any]) -> str:
    publication = link.get("publication")
    if not publication:
        return "not published"
    if publication.get("page_url"):
        return f"{publication['page_url']} (Notion)"
    return f"{publication.get('path') or publication['page_id']} ({publication['publisher']})"


def _stage_line(name: str, run: dict[str, Any]) -> str:
    attempts = run["attempts"]
    line = f"  {name:<8} {run['status']}, {attempts} attempt{'' if attempts == 1 else 's'}"
    if run.get("finished_at"):
        line += f", {times.local(run['finished_at'])}"
    line += f" (task {run['task_id']})"
    if run.get("error"):
        line += f": {run['error']}"
    return line


def show_text(link: dict[str, Any]) -> str:
    """Return a link as a short report: what it is, what the AI said, where it went."""
    enrichment = link.get("enrichment") or {}
    tags = ", ".join(tag["name"] for tag in link.get("tags") or []) or "-"
    sentiment = enrichment.get("sentiment")
    if sentiment is not None:
        sentiment += f" ({enrichment['sentiment_score']:+.2f})"
    lines = [
        f"Link {link['id']} ({link['status']}): {_title(link)}",
        f"  url:       {link['url']}",
        f"  category:  {enrichment.get('category') or '-'}",
        f"  tags:      {tags}",
        f"  sentiment: {sentiment or '-'}",
        f"  page:      {_page(link)}",
        "  summary:",
        *(f"    {line}" for line in (enrichment.get("summary") or "-").splitlines()),
        "stages:",
    ]
    stages: dict[str, Any] = link.get("stages") or {}
    lines += [_stage_line(name, run) for name, run in stages.items()] or ["  none run yet"]
    return "\n".join(lines)


@click.command(cls=KbmCommand)
@click.argument("link_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def show(link_id: int, as_json: bool) -> None:
    """Show a link: title, summary, tags, category, sentiment, page and each stage."""
    link = client().request("GET", f"/api/links/{link_id}")
    if as_json:
        output.emit_json(link)
        return
    click.echo(show_text(link))


#: The commands of this module, as ``kbm`` adds them.
COMMANDS = (links, show)
