"""One database connection per message, returned to the pool afterwards."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from shared.db import database


class DatabaseConnection(Middleware):
    """Open the thread's connection before a message and release it after."""

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Connect (or reuse the thread's open connection)."""
        database.connect(reuse_if_open=True)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        """Release the connection to the pool."""
        self._release()

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Release the connection of a skipped message too."""
        self._release()

    @staticmethod
    def _release() -> None:
        if not database.is_closed():
            database.close()
