"""What every ``kbm`` command shares: its settings, ``-v``, logging and the gateway client.

Every command and group is a :class:`KbmCommand` or :class:`KbmGroup`: each takes
``-v/--verbose`` wherever it stands on the line (``kbm -v status 1``, ``kbm status 1
-v``), and logging is set up from the settings just before the command runs, so even a
command that fails on its first line logs at the level asked for.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from services.cli.client import GatewayClient
from shared.logs import configure_logging
from shared.settings import Settings
from shared.urls import InvalidURL, validate_url

#: Keys of the root context's ``meta``: ``-v`` was given; the settings read once.
VERBOSE = "kbm.verbose"
SETTINGS = "kbm.settings"
#: Refused URLs named one by one in an error; the rest are counted.
MAX_REFUSED_SHOWN = 10


def _remember_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta[VERBOSE] = True


def _verbose_option() -> click.Option:
    return click.Option(
        ["-v", "--verbose"],
        is_flag=True,
        expose_value=False,
        callback=_remember_verbose,
        help="log debug lines too, here and in what the command starts (LOG_LEVEL=DEBUG)",
    )


def settings() -> Settings:
    """Return this invocation's settings, read once; ``-v`` makes ``LOG_LEVEL`` DEBUG."""
    root = click.get_current_context().find_root()
    if SETTINGS not in root.meta:
        overrides = {"log_level": "DEBUG"} if root.meta.get(VERBOSE) else {}
        root.meta[SETTINGS] = Settings.from_env(**overrides)
    current: Settings = root.meta[SETTINGS]
    return current


def client() -> GatewayClient:
    """Return a client of the gateway at ``API_URL``, with ``API_TOKEN`` if set."""
    current = settings()
    token = current.api_token.get_secret_value() if current.api_token else None
    return GatewayClient(current.api_url, token)


def configure_cli_logging(level: str) -> None:
    """Apply ``LOG_LEVEL`` to this process (see ``shared.logs``)."""
    configure_logging(level)
    # httpx logs every request at INFO: here each is the command's own call of the
    # gateway, whose answer the command prints, and `--watch` polls twice a second.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


class KbmCommand(click.Command):
    """A ``kbm`` command: ``-v`` among its options; logging set up before it runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_verbose_option())

    def invoke(self, ctx: click.Context) -> Any:
        """Set up logging at this invocation's level, then run the command."""
        configure_cli_logging(settings().log_level)
        return super().invoke(ctx)


class KbmGroup(click.Group):
    """A group of ``kbm`` commands: ``-v`` among its options, its commands ``KbmCommand``."""

    command_class = KbmCommand
    #: Subgroups are of this class too.
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_verbose_option())


def read_urls(urls: tuple[str, ...], file: Path | None) -> list[str]:
    """Return the URLs given as arguments and in ``file`` (``-``: stdin), one per line.

    Every URL is checked as the gateway checks it; those that are no http(s) URL are
    named with their line (or argument) and nothing is sent.
    """
    given = [(f"argument {n}", url) for n, url in enumerate(urls, 1)]
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else _read_text(file)
        given += [
            (f"{file} line {n}", line.strip())
            for n, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.startswith("#")
        ]
    if not given:
        raise click.UsageError("give URLs as arguments or with -f FILE (one per line)")
    refused = []
    for where, url in given:
        try:
            validate_url(url)
        except InvalidURL as ex:
            refused.append(f"{where}: {url!r} {ex}")
    if refused:
        shown = refused[:MAX_REFUSED_SHOWN]
        more = len(refused) - len(shown)
        raise click.ClickException(
            "not a URL to submit, nothing was sent:\n  "
            + "\n  ".join(shown)
            + (f"\n  and {more} more" if more else "")
        )
    return [url for _, url in given]


def _read_text(file: Path) -> str:
    """Return a file's text; a file that cannot be read is one line naming the problem."""
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"cannot read {file}: it is not UTF-8 text") from None
    except OSError as ex:
        reason = ex.strerror or str(ex)
        raise click.ClickException(f"cannot read {file}: {reason}") from None


def poll_until_finished(source: Callable[[], dict[str, Any]], interval: float) -> dict[str, Any]:
    """Return the task ``source`` reports once it has finished, asking every ``interval`` s."""
    while True:
        task = source()
        if task["finished_at"]:
            return task
        time.sleep(interval)
