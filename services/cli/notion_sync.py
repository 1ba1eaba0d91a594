"""``kbm republish`` and ``kbm sync-notion``: publish links again, read the user's tags back.

Both keep what users did in Notion: a republish replaces only the article blocks and the
property values the integration still owns (``services/notion/publishers/page.py``), and
the tags a user added become the link's tags (``services/notion/readback.py``).
"""

from __future__ import annotations

import click

from services.cli import output
from services.cli.command import KbmCommand, client, settings


def _published_links() -> list[int]:
    """Return the ids of every link that has a publication, in id order."""
    from shared.db import bind_database, database
    from shared.models import Publication

    bind_database(settings().database_url)
    with database.connection_context():
        query = Publication.select(Publication.link).order_by(Publication.link)
        return [int(row.__data__["link"]) for row in query]


@click.command(cls=KbmCommand)
@click.argument("link_ids", nargs=-1, type=int)
@click.option("--all", "all_links", is_flag=True, help="every link published so far")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def republish(link_ids: tuple[int, ...], all_links: bool, as_json: bool) -> None:
    """Publish links again: the article is replaced, the user's edits in Notion stay.

    Creates publish-only tasks through the gateway (as the republish_failed job does).
    """
    if bool(link_ids) == all_links:
        raise click.UsageError("give the LINK_IDS to publish again, or --all (not both)")
    ids = list(dict.fromkeys(link_ids)) if link_ids else _published_links()
    if not ids:
        click.echo("no link has been published yet")
        return
    size = settings().api_max_urls
    created = []
    for start in range(0, len(ids), size):
        created.append(
            client().request(
                "POST", "/api/notion/import", json={"link_ids": ids[start : start + size]}
            )
        )
    if as_json:
        output.emit_json(created)
        return
    for task in created:
        click.echo(f"task {task['task_id']}: {task['total_items']} links to publish again")


@click.command("sync-notion", cls=KbmCommand)
@click.argument("link_ids", nargs=-1, type=int)
def sync_notion(link_ids: tuple[int, ...]) -> None:
    """Read the tags users added in Notion back into their links (all, or LINK_IDS)."""
    from services.notion.publish import notion_publisher
    from services.notion.readback import sync_notion as read_back
    from shared.db import bind_database, database

    current = settings()
    bind_database(current.database_url)
    publisher = notion_publisher(current.notion)
    with database.connection_context():
        report = read_back(publisher, list(link_ids) or None)
    click.echo(
        f"{report.read} pages read; tags changed on {len(report.changed)} links"
        + (f" ({', '.join(map(str, report.changed))})" if report.changed else "")
    )
    if report.missing:
        click.echo(
            "pages no longer in Notion (the next publish creates them again): links "
            + ", ".join(map(str, report.missing))
        )


COMMANDS = (republish, sync_notion)
