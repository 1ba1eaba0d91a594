"""``kbm import FILE``: send a library export to the gateway; print its fidelity report.

The file (or an Omnivore export folder, zipped here first; ``-`` for standard input)
is streamed as the body of ``POST /api/imports`` with its length announced; the
gateway recognises its format from its content. ``kbm submit -f`` goes this way too
when its file holds more URLs than one ``/api/pipeline`` request may carry.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any

import click

from services.cli import output
from services.cli.client import GatewayClient
from services.cli.command import KbmCommand, client, settings
from shared.pipeline import STAGE_NAMES

#: An import may take a while to write a hundred thousand links: wait this long for it.
IMPORT_TIMEOUT_S = 600.0
#: Refusals printed one by one (``--json`` gives every one the gateway listed).
SHOWN_REFUSALS = 20

ROWS = (
    ("links_new", "new links"),
    ("already_known", "already known"),
    ("merged_by_normalisation", "merged by normalisation"),
    ("duplicate_rows", "duplicate rows"),
    ("refused", "refused"),
    ("feeds_subscribed", "feeds subscribed"),
    ("feeds_known", "feeds already subscribed"),
    ("links_updated", "links whose kept metadata changed"),
)


def zip_folder(folder: Path, target: IO[bytes]) -> int:
    """Write a folder's ``metadata_*.json`` files (Omnivore's export) as a zip; count them."""
    names = sorted(folder.rglob("metadata_*.json"))
    if not names:
        raise click.UsageError(f"{folder} is a folder with no metadata_*.json file in it")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in names:
            archive.write(path, path.relative_to(folder).as_posix())
    return len(names)


def send_file(
    gateway: GatewayClient,
    stream: IO[bytes],
    *,
    dry_run: bool = False,
    stages: list[str] | None = None,
    priority: str = "normal",
    file_format: str | None = None,
) -> dict[str, Any]:
    """Post a seekable file to ``/api/imports``; return the report."""
    size = stream.seek(0, 2)
    stream.seek(0)
    limit = settings().import_max_bytes
    if size > limit:
        raise click.ClickException(
            f"the file is {size} bytes, over the import limit of {limit} bytes "
            "(IMPORT_MAX_BYTES); split it and import the parts"
        )
    params: dict[str, Any] = {"priority": priority}
    if dry_run:
        params["dry_run"] = "true"
    if stages:
        params["stages"] = ",".join(stages)
    if file_format:
        params["format"] = file_format
    report: dict[str, Any] = gateway.request(
        "POST",
        "/api/imports",
        params=params,
        content=stream,
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        timeout=IMPORT_TIMEOUT_S,
    )
    return report


def report_text(report: dict[str, Any]) -> str:
    """Return the fidelity report as lines for the terminal."""
    lines = [f"{report['format_label']}: {report['rows_read']} rows read"]
    lines += [f"  {label:<34}{report[key]:>8}" for key, label in ROWS if report.get(key)]
    if report["dry_run"]:
        lines.append(f"dry run: nothing imported; {report['items_queued']} links would be queued")
    elif report["task_id"] is not None:
        lines.append(
            f"task {report['task_id']} {report['status']} with {report['items_queued']} items "
            f"(kbm status {report['task_id']})"
        )
    else:
        lines.append("no new links to process: no task created")
    refusals = report.get("refusals") or []
    if refusals:
        lines.append("refused rows:")
        lines += [
            f"  row {r['row']}: {r['url'] or '(none)'}: {r['reason']}"
            for r in refusals[:SHOWN_REFUSALS]
        ]
        if report["refused"] > SHOWN_REFUSALS:
            lines.append(f"  … and {report['refused'] - SHOWN_REFUSALS} more (--json lists them)")
    for warning in (report.get("warnings") or [])[:SHOWN_REFUSALS]:
        lines.append(f"warning: row {warning['row']}: {warning['warning']}")
    return "\n".join(lines)


@click.command("import", cls=KbmCommand)
@click.argument("file", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="show the report without importing anything")
@click.option(
    "--stages", default=",".join(STAGE_NAMES), show_default=True, help="comma-separated stages"
)
@click.option(
    "--priority", type=click.Choice(["high", "normal", "low"]), default="normal", show_default=True
)
@click.option("--format", "file_format", default=None, help="read as this format, unrecognised")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def import_command(
    file: Path, dry_run: bool, stages: str, priority: str, file_format: str | None, as_json: bool
) -> None:
    """Import a library export (its format is recognised from its content).

    Pocket (CSV or HTML), browser bookmarks, Instapaper, Raindrop.io, Readwise Reader,
    Omnivore (zip or folder), Karakeep, Linkwarden, OPML (feeds) or a URL list.
    """
    stage_list = [name.strip() for name in stages.split(",") if name.strip()]
    with tempfile.TemporaryFile() as spool:
        if str(file) == "-":
            shutil.copyfileobj(sys.stdin.buffer, spool)
            stream: IO[bytes] = spool
        elif file.is_dir():
            zip_folder(file, spool)
            stream = spool
        elif file.is_file():
            stream = file.open("rb")
        else:
            raise click.UsageError(f"{file}: no such file or folder")
        with stream:
            report = send_file(
                client(), stream, dry_run=dry_run, stages=stage_list, priority=priority,
                file_format=file_format,
            )  # fmt: skip
    if as_json:
        output.emit_json(report)
    else:
        click.echo(report_text(report))


COMMANDS = (import_command,)


def submit_through_import(
    gateway: GatewayClient, urls: list[str], *, stages: list[str], priority: str, as_json: bool
) -> dict[str, Any] | None:
    """Submit more URLs than one request may carry as an import; return the task created.

    ``None`` when every link was already known (no task). The report is printed unless
    ``as_json`` (the caller prints its own JSON).
    """
    with tempfile.TemporaryFile() as spool:
        spool.write("".join(f"{url}\n" for url in urls).encode("utf-8"))
        report = send_file(gateway, spool, stages=stages, priority=priority, file_format="text")
    if not as_json:
        click.echo(report_text(report))
    if report["task_id"] is None:
        return None
    return {
        "task_id": report["task_id"],
        "status": report["status"],
        "total_items": report["items_queued"],
        "import": report,
    }
