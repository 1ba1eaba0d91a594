"""The log level of every process, ``LOG_LEVEL`` (``Settings.log_level``), applied here.

Who sets up logging differs by process, and each one's set-up calls
:func:`configure_logging` with the setting: the worker processes and the scheduler
through :func:`shared.broker.setup` (Dramatiq and periodiq have given the root logger its
handler by then, so only the level changes), the ``kbm`` command from its entry point
(``kbm -v`` asks for DEBUG). The launchers (``services.cli.launch``) hand the level on
to the programs they start, for the lines those log before the project's code runs and
for gunicorn's own logger.
"""

from __future__ import annotations

import logging

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
