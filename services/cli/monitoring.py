"""``kbm queues``, ``workers``, ``doctor`` and ``dead-letters``: watch and mend the stack."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from services.cli import output, times
from services.cli.command import KbmCommand, client, settings

if TYPE_CHECKING:
    from services.cli.doctor import Check


@click.command(cls=KbmCommand)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def queues(as_json: bool) -> None:
    """Show each queue's waiting, delayed, unacked and dead-lettered messages."""
    data = client().queues()
    if as_json:
        output.emit_json(data)
        return
    queues_data = data.get("queues", data)
    rows = [
        [name, *(stats.get(key) for key in ("waiting", "delayed", "unacked", "dead"))]
        for name, stats in queues_data.items()
    ]
    click.echo(output.table(["queue", "waiting", "delayed", "unacked", "dead"], rows))


@click.command(cls=KbmCommand)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def workers(as_json: bool) -> None:
    """Show the workers that sent a heartbeat recently."""
    data = client().workers()
    if as_json:
        output.emit_json(data)
        return
    rows = [
        [
            worker["id"],
            worker["kind"],
            ",".join(worker["consumes"]) or ("gateway" if worker["gateway"] else "-"),
            f"{worker['host'] or '-'}:{worker['pid'] or '-'}",
            worker["last_heartbeat_age_s"],
        ]
        for worker in data.get("workers", [])
    ]
    headers = ["id", "kind", "queues", "host:pid", "last heartbeat (s ago)"]
    click.echo(output.table(headers, rows))
    click.echo(f"{data['alive']} worker processes alive")


@click.command(cls=KbmCommand)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def doctor(as_json: bool) -> None:
    """Check Redis, queues, workers, database, AI provider, publisher and fetch guard."""
    from services.cli.doctor import Doctor

    checks = Doctor(settings()).run()
    if as_json:
        output.emit_json([check.__dict__ for check in checks])
    else:
        for check in checks:
            click.echo(f"{_mark(check)} {check.name}: {check.detail}")
            if (check.warning or not check.ok) and check.fix:
                click.echo(f"     fix: {check.fix}")
        failed = sum(not check.ok for check in checks)
        warned = sum(check.ok and check.warning for check in checks)
        click.echo(
            f"\n{len(checks) - failed} of {len(checks)} checks passed"
            + (f" ({warned} with a warning)" if warned else "")
        )
    sys.exit(1 if any(not check.ok for check in checks) else 0)


def _mark(check: Check) -> str:
    """Return a check's mark: ok, warn (passed, with something to know) or FAIL."""
    if not check.ok:
        return click.style("FAIL", fg="red")
    if check.warning:
        return click.style("warn", fg="yellow")
    return click.style("ok  ", fg="green")


@click.command("dead-letters", cls=KbmCommand)
@click.option("--queue", default=None, help="only this queue")
@click.option("--requeue", "requeue_ids", multiple=True, help="send this dead letter again")
@click.option("--requeue-all", is_flag=True, help="send every dead letter again")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def dead_letters(
    queue: str | None, requeue_ids: tuple[str, ...], requeue_all: bool, as_json: bool
) -> None:
    """List messages Dramatiq gave up on, with their error; requeue them."""
    gateway = client()
    if requeue_ids or requeue_all:
        result = gateway.requeue(None if requeue_all else list(requeue_ids))
        click.echo(f"{result['requeued']} requeued, {result['skipped']} skipped")
        unknown = result.get("unknown") or []
        if unknown:
            # A typo'd id, or one another requeue sent already: say so, and fail.
            raise click.ClickException(
                f"no dead letter with id {', '.join(unknown)} (`kbm dead-letters` lists them)"
            )
        return
    letters = gateway.dead_letters(queue=queue)
    if as_json:
        output.emit_json(letters)
        return
    rows = [
        [
            letter["id"],
            letter["queue"],
            letter["actor"],
            letter.get("item_id"),
            times.local(letter["dead_at"]),
            (letter.get("error") or "")[:70],
        ]
        for letter in letters
    ]
    click.echo(output.table(["id", "queue", "actor", "item", "dead at", "error"], rows))


#: The commands of this module, as ``kbm`` adds them.
COMMANDS = (queues, workers, doctor, dead_letters)
