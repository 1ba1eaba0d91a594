"""Link-local addresses and cloud metadata services stay refused with FETCH_ALLOW_PRIVATE.

Unit checks go through :func:`checked_addresses`, the one rule the transport applies
to every connection; the fetches run on :class:`LoopbackNetwork`, so a broken guard
could still reach nothing beyond this machine.
"""

from __future__ import annotations

import ipaddress

import pytest

from services.parser.addresses import BlockedAddress, checked_addresses, refusal
from services.parser.fetch import fetch_page
from tests.parser.conftest import PUBLIC_ADDRESS, FakeDNS, LoopbackNetwork, LoopbackSite
from tests.parser.test_fetch_ssrf import guarded, guarded_settings

ALWAYS_REFUSED_ADDRESSES = [
    "169.254.169.254",  # AWS, GCP, Azure... metadata
    "169.254.170.2",  # AWS ECS credentials
    "169.254.0.1",
    "169.254.255.255",
    "100.100.100.200",  # Alibaba
    "192.0.0.192",  # Oracle
    "fd00:ec2::254",  # AWS over IPv6
    "fe80::1",
    "fe80::a9fe:a9fe",
    "febf:ffff::1",  # the top of fe80::/10
    "::ffff:169.254.169.254",
    "::ffff:169.254.1.1",
    "::ffff:a9fe:101",  # the same, spelled in hex
    "64:ff9b::a9fe:101",  # NAT64
    "2002:a9fe:101::",  # 6to4
]
METADATA_NAMES = [
    "metadata.google.internal",
    "METADATA.Google.Internal.",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
]
BOTH = pytest.mark.parametrize("allow_private", [False, True], ids=["guard", "allow-private"])


@BOTH
@pytest.mark.parametrize("address", ALWAYS_REFUSED_ADDRESSES)
def test_link_local_and_metadata_addresses_are_refused_whatever_the_setting(
    address: str, allow_private: bool
) -> None:
    dns = FakeDNS({"innocent.test": [address]})

    with pytest.raises(BlockedAddress, match=r"\((link-local|cloud metadata)\)"):
        checked_addresses("innocent.test", 80, allow_private=allow_private, resolver=dns)
    with pytest.raises(BlockedAddress, match=r"\((link-local|cloud metadata)\)"):
        checked_addresses(address, 80, allow_private=allow_private, resolver=dns)


@BOTH
@pytest.mark.parametrize("name", METADATA_NAMES)
def test_metadata_host_names_are_refused_before_dns_whatever_the_setting(
    name: str, allow_private: bool
) -> None:
    # Even answering with a public address: the name alone is enough.
    dns = FakeDNS({name: [PUBLIC_ADDRESS], name.rstrip(".").lower(): [PUBLIC_ADDRESS]})

    with pytest.raises(BlockedAddress, match=r"is a cloud metadata service, which is never"):
        checked_addresses(name, 80, allow_private=allow_private, resolver=dns)

    assert dns.questions == []


@pytest.mark.parametrize(
    "name", ["metadata.example.com", "metadata.google.internal.example.com", "my-metadata"]
)
def test_names_that_only_contain_a_metadata_name_are_resolved_as_usual(name: str) -> None:
    dns = FakeDNS({name: [PUBLIC_ADDRESS]})

    addresses = checked_addresses(name, 80, allow_private=False, resolver=dns)

    assert addresses == [ipaddress.ip_address(PUBLIC_ADDRESS)]


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "::1", "fd12::1"])
def test_allowing_private_addresses_still_allows_the_other_private_ones(address: str) -> None:
    dns = FakeDNS({"lab.test": [address]})

    assert refusal(ipaddress.ip_address(address)) not in (None, "link-local", "cloud metadata")
    assert checked_addresses("lab.test", 80, allow_private=True, resolver=dns)


def test_a_redirect_to_the_metadata_address_is_refused_with_private_addresses_allowed(
    site: LoopbackSite,
) -> None:
    # Given a loopback site (allowed here) that redirects to the metadata service
    start = site.add("/start", status=302, headers={"Location": "http://169.254.169.254/"})
    network = LoopbackNetwork()

    # When it is fetched with private addresses allowed
    with (
        guarded(network, FakeDNS({}), allow_private=True) as client,
        pytest.raises(BlockedAddress) as caught,
    ):
        fetch_page(start, guarded_settings(fetch_allow_private=True), client=client)

    # Then the site was fetched and the metadata hop refused before any connection to it
    assert str(caught.value) == (
        "GET http://169.254.169.254/ refused: host 169.254.169.254 resolves to "
        "169.254.169.254 (cloud metadata), which is not a public address"
    )
    assert site.hits == ["/start"]
    assert network.connections == [("127.0.0.1", site.server.server_port)]


@pytest.mark.parametrize(
    ("target", "refused"),
    [
        ("http://metadata.google.internal:{port}/computeMetadata/v1/", "metadata.google.internal"),
        ("http://instance-data:{port}/latest/meta-data/", "instance-data"),
        ("http://link-local.test:{port}/", "169.254.1.1"),
        ("http://[fe80::1]:{port}/", "fe80::1"),
        ("http://[::ffff:169.254.169.254]:{port}/", "::ffff:169.254.169.254"),
    ],
)
def test_a_redirect_to_a_metadata_name_or_link_local_host_never_reaches_it(
    site: LoopbackSite, canary: LoopbackSite, target: str, refused: str
) -> None:
    # Given names that DNS would send to the canary, or to a link-local address
    port = canary.server.server_port
    location = target.format(port=port)
    site.add("/start", status=302, headers={"Location": location})
    dns = FakeDNS(
        {
            "metadata.google.internal": ["127.0.0.1"],
            "instance-data": ["127.0.0.1"],
            "link-local.test": ["169.254.1.1"],
        }
    )
    network = LoopbackNetwork({"169.254.1.1": port})

    # When the site is fetched with private addresses allowed
    with (
        guarded(network, dns, allow_private=True) as client,
        pytest.raises(BlockedAddress) as caught,
    ):
        fetch_page(site.url("/start"), guarded_settings(fetch_allow_private=True), client=client)

    # Then the hop is refused, naming it, and nothing connected to the canary
    assert str(caught.value).startswith(f"GET {location} refused: host ")
    assert refused in str(caught.value)
    assert canary.hits == []
    assert network.connections == [("127.0.0.1", site.server.server_port)]
