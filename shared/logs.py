"""The log level of every process, ``LOG_LEVEL`` (``Settings.log_level``), applied here.

Who sets up logging differs by process, and each one's set-up calls
:func:`configure_logging` with the setting: the worker processes and the scheduler
through :func:`shared.broker.setup` (Dramatiq and periodiq have given the root logger its
handler by then, so only the level changes), the ``kbm`` command from its entry point
(``kbm -v`` asks for DEBUG). The launchers (``services.cli.launch``) hand the level on
to the programs they start, for the lines those log before the project's code runs and
for gunicorn's own logger.

A run someone watches (local mode) shows Dramatiq's lines briefly:
:func:`brief_worker_logs`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

#: Dramatiq's line format, so that every process's lines read alike.
LOG_FORMAT = (
    "[%(asctime)s] [PID %(process)d] [%(threadName)s] [%(name)s] [%(levelname)s] %(message)s"
)


def configure_logging(level: str) -> None:
    """Make the root logger pass records of ``level`` and above, to stderr if nowhere else.

    A process whose logging is already set up (a Dramatiq worker process, periodiq) keeps
    its handlers and only takes the level.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format=LOG_FORMAT)
    root.setLevel(level)


#: Dramatiq's lines about one failed message; where someone watches a run (local mode),
#: a :class:`shared.middleware.retries.RetryNotice` tells the same in one line.
FAILED_MESSAGE_LINES = ("Failed to process message", "Retrying message", "Retries exceeded")


class OneLineFormatter(logging.Formatter):
    """``level: message``, an exception reduced to its class and text: no traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line."""
        text = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            text += f" ({type(error).__name__}: {error})"
        return f"{record.levelname.lower()}: {' '.join(text.split())}"


class CurrentStderr(logging.StreamHandler):
    """Write to whatever ``sys.stderr`` is at each line.

    A live progress display that redirects it then prints the line above its bars
    instead of through them.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the stream is always the current standard error."""


def _not_a_failed_message(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(FAILED_MESSAGE_LINES)


#: Loggers whose routine lines a watched run leaves out (warnings and errors still show).
ROUTINE_LOGGERS = ("shared.migrations",)
#: Libraries whose warnings are notes about their own heuristics ("discarding data"):
#: the run reports what it makes of a page itself.
LIBRARY_LOGGERS = ("trafilatura", "readability", "newspaper", "htmldate", "courlan", "justext")


@contextmanager
def brief_worker_logs(level: str) -> Iterator[None]:
    """While it lasts, Dramatiq writes warnings and errors only, each on one line.

    For a run someone watches in a terminal (local mode), which reports failed attempts
    itself: Dramatiq's lines about failed messages are left out, and so are the routine
    lines of :data:`ROUTINE_LOGGERS` (the schema's migrations) and the extraction
    libraries' warnings (:data:`LIBRARY_LOGGERS`). ``DEBUG`` (``kbm -v``) keeps every
    line, tracebacks included.
    """
    if level == "DEBUG":
        yield
        return
    dramatiq_logger = logging.getLogger("dramatiq")
    handler = CurrentStderr()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(OneLineFormatter())
    handler.addFilter(_not_a_failed_message)
    propagate = dramatiq_logger.propagate
    quieted = {name: logging.WARNING for name in ROUTINE_LOGGERS}
    quieted |= {name: logging.ERROR for name in LIBRARY_LOGGERS}
    routine = {name: logging.getLogger(name).level for name in quieted}
    dramatiq_logger.addHandler(handler)
    dramatiq_logger.propagate = False
    for name, quiet in quieted.items():
        logging.getLogger(name).setLevel(quiet)
    try:
        yield
    finally:
        dramatiq_logger.removeHandler(handler)
        dramatiq_logger.propagate = propagate
        for name, previous in routine.items():
            logging.getLogger(name).setLevel(previous)
