"""SSRF matrix: with the guard on, no spelling of an internal address reaches the canary.

Every fetch here runs on :class:`LoopbackNetwork`, so even a broken guard could only
reach this machine; "public" addresses are mapped to a loopback site.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.parser import transport
from services.parser.addresses import BlockedAddress, system_resolver
from services.parser.fetch import fetch_page
from services.parser.transport import GuardedBackend, guarded_client
from shared.errors import FetchRejected
from shared.redact import redact_urls
from shared.settings import Settings
from tests.parser.conftest import PUBLIC_ADDRESS, FakeDNS, LoopbackNetwork, LoopbackSite

PAGE = "<!doctype html><html><head><title>Hi</title></head><body><p>Public page</p></body></html>"


def guarded_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "fetch_allow_private": False,
        "fetch_connect_timeout": 2.0,
        "fetch_read_timeout": 2.0,
        "parsing_timeout": 10.0,
    }
    return Settings.from_env(**(values | overrides))


def make_dns() -> FakeDNS:
    return FakeDNS(
        {
            "public.test": [PUBLIC_ADDRESS],
            "internal.test": ["127.0.0.1"],
            "mixed.test": [PUBLIC_ADDRESS, "127.0.0.1"],
            "metadata.test": ["169.254.169.254"],
            "mapped.test": ["::ffff:127.0.0.1"],
        },
        fallback=system_resolver,  # for localhost
    )


def guarded(network: LoopbackNetwork, dns: FakeDNS, *, allow_private: bool = False) -> httpx.Client:
    backend = GuardedBackend(allow_private=allow_private, resolver=dns, backend=network)
    return guarded_client(allow_private=allow_private, backend=backend)


DIRECT = [
    "http://127.0.0.1:{port}/",
    "https://127.0.0.1:{port}/",
    "http://127.0.0.2:{port}/",
    "http://2130706433:{port}/",
    "http://0x7f000001:{port}/",
    "http://017700000001:{port}/",
    "http://0x7f.1:{port}/",
    "http://127.1:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://127.0.0.1.:{port}/",
    "http://0:{port}/",
    "http://0.0.0.0:{port}/",
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[64:ff9b::7f00:1]:{port}/",
    "http://[2002:7f00:1::]:{port}/",
    "http://localhost:{port}/",
    "http://LocalHost.:{port}/",
    "http://internal.test:{port}/",
    "http://mixed.test:{port}/",
    "http://mapped.test:{port}/",
    "http://user:secret@127.0.0.1:{port}/",
    "http://10.0.0.1:{port}/",
    "http://192.168.0.1:{port}/",
    "http://100.64.0.1:{port}/",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.test/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "ftp://127.0.0.1:{port}/",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("template", DIRECT)
def test_an_internal_address_in_any_spelling_is_refused_before_any_request(
    template: str, canary: LoopbackSite
) -> None:
    url = template.format(port=canary.server.server_port)
    network = LoopbackNetwork()

    with guarded(network, make_dns()) as client, pytest.raises(FetchRejected) as caught:
        fetch_page(url, guarded_settings(), client=client)

    # Messages name the URL without its user:password@ (the one spelling that has one).
    assert str(caught.value).startswith(f"GET {redact_urls(url)} refused: ")
    assert canary.hits == []
    assert network.connections == []


REDIRECTS = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://2130706433:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://internal.test:{port}/",
    "http://169.254.169.254/latest/meta-data/",
    "gopher://127.0.0.1:{port}/_GET%20/",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("template", REDIRECTS)
def test_a_redirect_from_a_public_site_to_an_internal_address_is_refused(
    template: str, site: LoopbackSite, canary: LoopbackSite
) -> None:
    # Given a public site (an address mapped to a loopback server) that redirects inwards
    target = template.format(port=canary.server.server_port)
    site.add("/start", status=302, headers={"Location": "/hop"})
    site.add("/hop", status=307, headers={"Location": target})
    network = LoopbackNetwork({PUBLIC_ADDRESS: site.server.server_port})

    # When the public URL is fetched with the guard on
    with guarded(network, make_dns()) as client, pytest.raises(FetchRejected) as caught:
        fetch_page("http://public.test/start", guarded_settings(), client=client)

    # Then the public hops were fetched and the inward one refused, naming it
    assert site.hits == ["/start", "/hop"]
    assert str(caught.value).startswith(f"GET {target} refused: ")
    assert canary.hits == []
    assert {host for host, _port in network.connections} == {PUBLIC_ADDRESS}


def test_the_canary_answers_when_private_addresses_are_allowed(canary: LoopbackSite) -> None:
    url = f"http://internal.test:{canary.server.server_port}/"

    with guarded(LoopbackNetwork(), make_dns(), allow_private=True) as client:
        page = fetch_page(url, guarded_settings(fetch_allow_private=True), client=client)

    assert "canary" in page.html
    assert canary.hits == ["/"]


def test_dns_is_asked_once_and_the_checked_address_is_the_one_connected_to(
    site: LoopbackSite, canary: LoopbackSite
) -> None:
    # Given a name that resolves to a public address first and to loopback afterwards
    site.add("/", PAGE)
    dns = FakeDNS({"rebind.test": [[PUBLIC_ADDRESS], ["127.0.0.1"]]})
    network = LoopbackNetwork({PUBLIC_ADDRESS: site.server.server_port})

    # When it is fetched
    with guarded(network, dns) as client:
        page = fetch_page("http://rebind.test/", guarded_settings(), client=client)

    # Then the connection went to the address that was checked, asked for once
    assert "Public page" in page.html
    assert dns.questions == ["rebind.test"]
    assert network.connections == [(PUBLIC_ADDRESS, 80)]
    assert canary.hits == []


def test_a_rebinding_name_is_checked_again_for_each_new_connection(site: LoopbackSite) -> None:
    # The redirect goes to another port: a new connection, so a new question and check.
    site.add("/", status=302, headers={"Location": "http://rebind.test:8080/"})
    dns = FakeDNS({"rebind.test": [[PUBLIC_ADDRESS], ["127.0.0.1"]]})
    network = LoopbackNetwork({PUBLIC_ADDRESS: site.server.server_port})

    with guarded(network, dns) as client, pytest.raises(BlockedAddress, match=r"\(loopback\)"):
        fetch_page("http://rebind.test/", guarded_settings(), client=client)

    assert dns.questions == ["rebind.test", "rebind.test"]
    assert network.connections == [(PUBLIC_ADDRESS, 80)]


def test_proxy_variables_are_ignored(
    site: LoopbackSite, canary: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given every proxy variable pointing at the canary
    proxy = f"http://127.0.0.1:{canary.server.server_port}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    url = site.add("/direct", PAGE)

    # When a page is fetched with the real guarded client
    page = fetch_page(url, guarded_settings(fetch_allow_private=True))

    # Then it came straight from the site
    assert "Public page" in page.html
    assert site.hits == ["/direct"]
    assert canary.hits == []


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Create a test CA and a certificate for public.test signed by it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Parser Test CA")  # fmt: skip
    openssl("req", *ec, "-keyout", "site.key", "-out", "site.csr", "-subj", "/CN=public.test")
    (folder / "san.ext").write_text("subjectAltName=DNS:public.test\n")
    openssl("x509", "-req", "-in", "site.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "site.pem", "-days", "2", "-extfile", "san.ext")  # fmt: skip
    return {name: folder / f"{name}" for name in ("ca.pem", "site.pem", "site.key")}


@pytest.fixture()
def tls_site(tls_files: dict[str, Path], site: LoopbackSite) -> Iterator[int]:
    """Serve ``site``'s pages over TLS as public.test; yield the loopback port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files["site.pem"], tls_files["site.key"])
    server = ThreadingHTTPServer(("127.0.0.1", 0), site.server.RequestHandlerClass)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def test_tls_is_verified_against_the_host_name_while_connecting_to_the_checked_address(
    tls_files: dict[str, Path],
    tls_site: int,
    site: LoopbackSite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a TLS site whose certificate names public.test, and a client trusting its CA
    site.add("/", PAGE)
    trusted = ssl.create_default_context(cafile=str(tls_files["ca.pem"]))
    monkeypatch.setattr(transport, "ssl_context", lambda: trusted)
    dns = FakeDNS({"public.test": [PUBLIC_ADDRESS], "other.test": [PUBLIC_ADDRESS]})
    network = LoopbackNetwork({PUBLIC_ADDRESS: tls_site})

    # When the same address is fetched under the certificate's name and under another
    with guarded(network, dns) as client:
        page = fetch_page("https://public.test/", guarded_settings(), client=client)
    with guarded(network, dns) as client, pytest.raises(FetchRejected) as caught:
        fetch_page("https://other.test/", guarded_settings(), client=client)

    # Then the right name passes, the wrong one fails on the certificate, both by IP
    assert "Public page" in page.html
    assert "TLS certificate is not valid" in str(caught.value)
    assert "other.test" in str(caught.value)
    assert network.connections == [(PUBLIC_ADDRESS, 443), (PUBLIC_ADDRESS, 443)]
