"""The ``kbm`` command: run the services, submit links, follow and steer tasks.

The commands live with their kind: :mod:`services.cli.processes` runs the services,
:mod:`services.cli.tasks` submits and steers tasks, :mod:`services.cli.monitoring`
watches the stack, :mod:`services.cli.feeds` manages feeds; what they share (settings,
``-v``, logging, the gateway client) is :mod:`services.cli.command`.
"""

from __future__ import annotations

import sys

import click

from services.cli import feeds, imports, library, monitoring, notion_sync, processes, tasks
from services.cli import tags as vocabulary
from services.cli.command import KbmGroup
from shared.errors import KbmError
from shared.redact import install as install_redaction


@click.group(cls=KbmGroup)
@click.version_option(package_name="notion-kb-manager")
def cli() -> None:
    """Notion KB Manager: turn links into a curated Notion knowledge base."""


for _command in (
    *processes.COMMANDS,
    *tasks.COMMANDS,
    *monitoring.COMMANDS,
    feeds.feed,
    *imports.COMMANDS,
    *notion_sync.COMMANDS,
    *library.COMMANDS,
    vocabulary.tags,
):
    cli.add_command(_command)


def main() -> None:
    """Run the command line, turning the project's errors into one clear line."""
    install_redaction()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as ex:
        ex.show()
        sys.exit(ex.exit_code)
    except KbmError as ex:
        click.echo(f"error: {ex}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
