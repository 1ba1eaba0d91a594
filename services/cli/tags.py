"""``kbm tags``, ``kbm tags merge`` and ``kbm tags rename``: the knowledge base's tag vocabulary.

A merge or a rename changes every link carrying the tag, then publishes the published
links again through the gateway (as ``kbm republish`` does).
"""

from __future__ import annotations

from typing import Any

import click

from services.cli import output
from services.cli.command import KbmGroup, client

PAGE = 1000


@click.group(cls=KbmGroup, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_context
def tags(context: click.Context, as_json: bool) -> None:
    """List the tag vocabulary, the most used first, with how many links carry each tag."""
    if context.invoked_subcommand is not None:
        return
    found: list[dict[str, Any]] = []
    while True:
        page = client().request("GET", "/api/tags", params={"limit": PAGE, "offset": len(found)})
        found += page["tags"]
        if not page["tags"] or len(found) >= page["total"]:
            break
    if as_json:
        output.emit_json(found)
        return
    if not found:
        click.echo("no tags yet")
        return
    rows = [[tag["uses"], tag["source"], tag["name"]] for tag in found]
    click.echo(output.table(["links", "source", "tag"], rows))


@tags.command("merge")
@click.argument("names", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def tags_merge(names: tuple[str, ...], as_json: bool) -> None:
    """Merge the tags NAMES... into the last one, on every link; publish them again.

    Example: kbm tags merge ML "machine-learning" "machine learning"
    """
    if len(names) < 2:
        raise click.UsageError("give the tags to merge, then the tag to merge them into")
    *merged, into = names
    answer = client().request("POST", "/api/tags/merge", json={"tags": merged, "into": into})
    _report(answer, as_json)


@tags.command("rename")
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def tags_rename(old: str, new: str, as_json: bool) -> None:
    """Rename the tag OLD to NEW on every link (a NEW already in use: merged into it)."""
    answer = client().request("POST", "/api/tags/rename", json={"name": old, "to": new})
    _report(answer, as_json)


def _report(answer: dict[str, Any], as_json: bool) -> None:
    if as_json:
        output.emit_json(answer)
        return
    tasks = answer["republish_tasks"]
    click.echo(
        f"tag {answer['tag']!r}: {output.counted(len(answer['links']), 'link')} changed"
        + (f"; publishing again in task {', '.join(map(str, tasks))}" if tasks else "")
    )
