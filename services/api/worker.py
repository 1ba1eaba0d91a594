"""The gateway's gunicorn worker: an event loop that accepts only while it has room.

gunicorn's ``asgi`` worker accepts every pending connection as soon as it can, so under
load one process may hold most requests while another idles, and requests queue inside
a process instead of in the listening socket that every process shares. This worker
accepts a connection only while fewer than ``limit`` complete requests are being
answered (:class:`Gate`): a busy process leaves the next connection to an idle one, as
gunicorn's sync workers do, while a client that has not finished its request still
holds nothing but a buffer (it is not counted until :class:`services.api.asgi.WholeRequests`
has read its request whole).

It relies on gunicorn's worker internals (``gunicorn.workers.gasgi``): the version is
pinned below the next major release in ``pyproject.toml``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket

from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers.gasgi import ASGIWorker

#: accept() errors that say the process is out of descriptors: wait, then try again.
_OUT_OF_DESCRIPTORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


#: How long a newly accepted connection has to present its request before the next accept:
#: a request sent at once arrives within it; 50 clients that stall delay accepting 0.5 s.
PRESENT_S = 0.01


#: How long an acceptor at ``worker_connections`` waits before it looks again.
FULL_WAIT_S = 0.05


class Gate:
    """Count the complete requests running in a process; wake acceptors when one ends."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a gate needs room for at least one request")
        self.limit = limit
        self.running = 0
        self._room = asyncio.Event()
        self._room.set()
        self._entered = asyncio.Event()

    def enter(self) -> None:
        """Count a complete request that starts being answered."""
        self.running += 1
        if self.running >= self.limit:
            self._room.clear()
        self._entered.set()
        self._entered = asyncio.Event()

    def leave(self) -> None:
        """Count a request answered (or abandoned)."""
        self.running -= 1
        if self.running < self.limit:
            self._room.set()

    async def room(self) -> None:
        """Return once fewer than ``limit`` requests run."""
        await self._room.wait()

    async def next_entry(self, timeout: float) -> None:
        """Return when a request next enters, or after ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._entered.wait(), timeout)


class _Acceptor:
    """Accept connections on one listening socket while the gate has room."""

    def __init__(self, worker: GatedASGIWorker, listener: socket.socket, gate: Gate) -> None:
        self.worker = worker
        self.listener = listener
        self.gate = gate
        self.task = asyncio.get_running_loop().create_task(self._accept_forever())

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.gate.room()
            if self.worker.nr_conns >= self.worker.worker_connections:
                # At worker_connections open connections, new ones wait in the listening
                # socket (for another process, or for one of these to close).
                await asyncio.sleep(FULL_WAIT_S)
                continue
            try:
                connection, _ = await loop.sock_accept(self.listener)
            except OSError as ex:
                if ex.errno in _OUT_OF_DESCRIPTORS:
                    self.worker.log.error("gateway: cannot accept (%s); retrying in 0.5 s", ex)
                    await asyncio.sleep(0.5)
                continue
            connection.setblocking(False)
            try:
                await loop.connect_accepted_socket(lambda: ASGIProtocol(self.worker), connection)
            except OSError:
                connection.close()
                continue
            # Give the new connection's request the time to be read and counted before
            # the next accept; a client that stalls costs this wait once.
            await self.gate.next_entry(PRESENT_S)

    def close(self) -> None:
        """Stop accepting (connections already accepted are served to the end)."""
        self.task.cancel()

    async def wait_closed(self) -> None:
        """Return once the accept loop has stopped."""
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class GatedASGIWorker(ASGIWorker):
    """gunicorn's ``asgi`` worker, accepting only while its app's :class:`Gate` has room.

    The app must carry its gate as ``app.gate`` (see
    :func:`services.api.asgi.behind_event_loop`); lifespan events are not sent (the
    gateway has none: ``asgi_lifespan = "off"``).
    """

    async def _serve(self) -> None:
        gate = getattr(self.asgi, "gate", None)
        if not isinstance(gate, Gate):
            raise SystemExit("gateway: the app has no Gate (app.gate); serve it with asgi")
        if self.cfg.is_ssl:
            raise SystemExit("gateway: TLS is for the reverse proxy in front of the gateway")
        self.servers = [_Acceptor(self, listener.sock, gate) for listener in self.sockets]
        for listener in self.sockets:
            self.log.info("gateway listening on %s", listener)
        try:
            while self.alive:
                self.notify()
                if self.ppid != os.getppid():
                    self.log.info("Parent changed, shutting down: %s", self)
                    break
                await asyncio.sleep(1.0)
        except asyncio.CancelledError:
            pass
        await self._shutdown()
