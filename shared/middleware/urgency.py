"""Tell the process's urgent gate which messages are urgent (see ``shared.urgency``)."""

from __future__ import annotations

import socket
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from shared.redis_broker import Keys
from shared.urgency import GATE, URGENT_OPTION, UrgentGate


class UrgentFirst(Middleware):
    """Count the urgent messages running in this process while they run.

    Dramatiq runs a message's hooks in the thread that runs it: the gate knows from the
    thread whether the message that ends was an urgent one.
    """

    def __init__(self, gate: UrgentGate = GATE, *, shared: bool = False) -> None:
        self.gate = gate
        #: Whether the gate is shared with the host's other processes (a Redis broker).
        self.shared = shared

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Share urgent work with the other worker processes through Redis."""
        if self.shared:
            assert isinstance(broker, RedisBroker)
            key = Keys(broker.namespace).urgent_running(socket.gethostname())
            self.gate.share(broker.client, key)

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Hold bulk work at its checkpoints while an urgent message runs."""
        if message.options.get(URGENT_OPTION):
            self.gate.enter(message.message_id)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        """Let bulk work go on once the urgent message ended, whatever its outcome."""
        self.gate.leave(message.message_id)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Let bulk work go on after a skipped urgent message too."""
        self.gate.leave(message.message_id)
