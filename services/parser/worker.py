"""The parser's worker processes: the broker with the parser's own middleware.

``kbm worker parser`` runs ``dramatiq services.parser.worker:setup services.parser.actors``:
Dramatiq calls :func:`setup` before it imports the actors.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from services.parser.extract import warm_up
from shared import broker as shared_broker
from shared.middleware.registry import FETCH_GUARD, describe_worker
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)


class ParserWarmUp(Middleware):
    """Warm the extractors up in each worker process before it takes a message."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Extract the built-in page once (see :func:`extract.warm_up`)."""
        try:
            warm_up()
        except Exception:
            # Only the first page would be slower: the worker starts all the same.
            log.warning("parser: warming the extractors up failed", exc_info=True)


class FetchGuardReport(Middleware):
    """Report the fetch guard each parser process applies, for ``kbm doctor``."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Put this process's fetch settings into its worker registry entry."""
        describe_worker(broker, FETCH_GUARD, get_settings().fetch_guard())


def setup(settings: Settings | None = None, **kwargs: Any) -> dramatiq.Broker:
    """Install the project's broker with the parser's middleware (warm-up, guard report).

    The arguments are :func:`shared.broker.setup`'s.
    """
    return shared_broker.setup(settings, middleware=[ParserWarmUp(), FetchGuardReport()], **kwargs)
