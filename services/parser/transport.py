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

httpx reads the ``Location`` of every redirect, even one it is told not to follow, and
fails on a target such as ``javascript:`` with errors that name no URL. The client
therefore refuses such a redirect first (:func:`redirect_target`), naming both URLs.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from services.parser.addresses import Resolver, checked_addresses, system_resolver
from shared.errors import FetchRejected
from shared.redact import redact_urls

# A host with many addresses could otherwise make one fetch try each for the full
# connect timeout.
MAX_ADDRESSES_TRIED = 3
#: The only schemes the parser fetches, and so the only redirects it follows.
SCHEMES = frozenset({"http", "https"})


def url_problem(url: str) -> str | None:
    """Return why the parser cannot fetch ``url`` (its scheme, no host...), or None."""
    try:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in SCHEMES:
            return f"scheme {scheme!r} is not http or https"
        parsed = httpx.URL(url)
        host, port = parsed.host, parsed.port  # decoding an IDNA host may fail
    except (httpx.InvalidURL, ValueError) as ex:
        return f"malformed URL ({ex})"
    if not host:
        return "the URL has no host"
    if port is not None and not 0 < port < 65536:
        return f"port {port} is not a TCP port"
    return None


def redirect_target(url: str, location: str) -> str:
    """Return the URL a redirect from ``url`` to ``location`` leads to.

    Raise :class:`FetchRejected` naming both when the parser cannot follow it.
    """
    try:
        # An absolute location is judged as written, as httpx parses it: "http:page"
        # has no host, whatever urljoin would make of it.
        target = location if urlsplit(location).scheme else urljoin(url, location)
        problem = url_problem(target)
    except ValueError as ex:  # a malformed location, e.g. "http://[::1"
        target, problem = location, f"malformed URL ({ex})"
    if problem is not None:
        raise FetchRejected(
            f"GET {redact_urls(target)} refused: {problem} (redirected from {redact_urls(url)})"
        )
    return target


def refuse_unfollowable_redirect(response: httpx.Response) -> None:
    """Refuse a redirect the parser cannot follow before httpx parses its Location."""
    location = response.headers.get("Location", "").strip()
    if response.has_redirect_location and location:
        redirect_target(str(response.request.url), location)


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

    ``allow_private`` lifts the address check for private addresses (tests and local
    use); link-local addresses and cloud metadata services stay refused. A redirect
    to a URL the parser cannot fetch is refused by :func:`redirect_target`.
    """
    guard = backend or GuardedBackend(allow_private=allow_private, resolver=resolver)
    # trust_env=False: HTTP(S)_PROXY, ALL_PROXY and .netrc must not change where we connect.
    return httpx.Client(
        transport=GuardedTransport(guard),
        trust_env=False,
        follow_redirects=False,
        event_hooks={"response": [refuse_unfollowable_redirect]},
    )
