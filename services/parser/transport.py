"""The parser's one HTTP transport: it connects only to addresses it has just checked.

DNS is asked once per connection, every answer is checked
(:func:`~services.parser.addresses.checked_addresses`), and the socket is opened to one
of those very addresses, so a name cannot resolve to a public address for the check
and to an internal one for the connection (DNS rebinding). The URL keeps its host
name: the ``Host`` header, TLS SNI and certificate verification all use it.

requests-hardened (maintained, where advocate is dead) pins the resolved address the
same way, but for requests/urllib3, a second HTTP stack beside httpx; it judges only
the first DNS answer and leaves body caps, content types and deadlines to the caller.
httpcore's network-backend hook gives the same guarantee on the client we already use.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from services.parser.addresses import Resolver, checked_addresses, system_resolver
from shared.errors import FetchRejected

# A host with many addresses could otherwise make one fetch try each for the full
# connect timeout.
MAX_ADDRESSES_TRIED = 3


class GuardedBackend(httpcore.NetworkBackend):
    """Open TCP connections only to checked, public addresses."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        # The backend that opens sockets; tests pass one that records where it connects.
        self.backend = backend or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve and check ``host``, then connect to the first checked address that answers."""
        addresses = checked_addresses(
            host, port, allow_private=self.allow_private, resolver=self.resolver
        )
        failure: Exception | None = None
        for address in addresses[:MAX_ADDRESSES_TRIED]:
            try:
                return self.backend.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as ex:
                failure = ex
        assert failure is not None  # checked_addresses never returns an empty list
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Refuse: the parser only speaks TCP to public addresses."""
        raise FetchRejected(f"refused to connect to the unix socket {path}")

    def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does."""
        self.backend.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """An HTTP/1.1 transport whose every connection goes through :class:`GuardedBackend`.

    Proxies are never used: a proxy would make the connection on our behalf, to an
    address we never checked.
    """

    def __init__(self, backend: GuardedBackend, *, max_connections: int = 4) -> None:
        context = ssl_context()
        super().__init__(verify=context, trust_env=False, retries=0)
        # httpx offers no public way to give its pool a network backend. Fail closed if
        # the attribute ever changes, rather than fetch through an unguarded pool.
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx.HTTPTransport changed: cannot install the address guard")
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend,
        )


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """Return the verifying TLS context every fetch shares (loading CAs takes ~20 ms)."""
    return httpx.create_ssl_context(trust_env=False)


def guarded_client(
    *,
    allow_private: bool,
    resolver: Resolver = system_resolver,
    backend: GuardedBackend | None = None,
) -> httpx.Client:
    """Return an HTTP client that can only reach public addresses, and ignores proxies.

    ``allow_private`` lifts the address check (tests and local use); cloud metadata
    addresses stay refused.
    """
    guard = backend or GuardedBackend(allow_private=allow_private, resolver=resolver)
    # trust_env=False: HTTP(S)_PROXY, ALL_PROXY and .netrc must not change where we connect.
    return httpx.Client(transport=GuardedTransport(guard), trust_env=False, follow_redirects=False)
