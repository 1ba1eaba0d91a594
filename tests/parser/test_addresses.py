"""The address policy: which addresses are public, how hosts spell numbers, DNS answers."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from services.parser.addresses import (
    BlockedAddress,
    IPAddress,
    ResolutionFailed,
    UnknownHost,
    checked_addresses,
    literal_address,
    refusal,
)
from shared.errors import FetchError, FetchRejected, PermanentError, RetryableError
from tests.parser.conftest import FakeDNS


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "private"),
        ("224.0.1.1", "multicast"),
        ("240.0.0.1", "private"),
        ("255.255.255.255", "private"),
        ("192.0.0.8", "not globally routable"),
        ("192.0.2.1", "private"),
        ("198.18.0.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd00:ec2::254", "cloud metadata"),
        ("fec0::1", "not globally routable"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b:1::1", "reserved"),
        ("2002:7f00:1::", "loopback"),
        ("2002:a9fe:a9fe::", "cloud metadata"),
        ("::127.0.0.1", "reserved"),
        ("2001:db8::1", "private"),
        ("2001::1", "private"),
    ],
)
def test_non_public_addresses_are_refused_with_the_reason(address: str, reason: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:93.184.215.14", "64:ff9b::808:808"],
)
def test_public_addresses_pass_in_every_spelling(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.0x10.1", "10.16.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
    ],
)
def test_numeric_spellings_of_addresses_are_read_as_browsers_read_them(
    host: str, address: str
) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "localhost", "127.0.0.1.nip.io", "0x7f.example"])
def test_host_names_are_not_addresses(host: str) -> None:
    assert literal_address(host) is None


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.1.1.1", "example.256", "08.1.1.1"])
def test_a_host_ending_in_a_number_that_is_no_address_is_refused(host: str) -> None:
    with pytest.raises(FetchRejected, match=rf"host {host} is"):
        literal_address(host)


def test_one_internal_answer_among_public_ones_blocks_the_host() -> None:
    dns = FakeDNS({"mixed.test": ["93.184.215.14", "10.0.0.5"]})

    with pytest.raises(BlockedAddress) as caught:
        checked_addresses("mixed.test", 80, allow_private=False, resolver=dns)

    assert str(caught.value) == (
        "host mixed.test resolves to 10.0.0.5 (private), which is not a public address; "
        "FETCH_ALLOW_PRIVATE=1 allows private addresses (for local pages only)"
    )
    assert isinstance(caught.value, PermanentError)


def test_a_name_that_resolves_to_loopback_is_blocked() -> None:
    with pytest.raises(BlockedAddress, match=r"host localhost resolves to .* \(loopback\)"):
        checked_addresses("localhost", 80, allow_private=False)


def test_allowing_private_addresses_lets_loopback_through_but_never_cloud_metadata() -> None:
    dns = FakeDNS({"meta.test": ["169.254.169.254"], "local.test": ["127.0.0.1"]})

    assert checked_addresses("local.test", 80, allow_private=True, resolver=dns) == [
        ipaddress.ip_address("127.0.0.1")
    ]
    with pytest.raises(BlockedAddress, match=r"cloud metadata"):
        checked_addresses("meta.test", 80, allow_private=True, resolver=dns)


def test_an_unknown_name_fails_for_good_and_a_dns_outage_is_retryable() -> None:
    def outage(host: str, port: int) -> list[IPAddress]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    with pytest.raises(UnknownHost, match=r"^host nowhere.test does not exist$"):
        checked_addresses("nowhere.test", 80, allow_private=False, resolver=FakeDNS({}))
    with pytest.raises(ResolutionFailed, match=r"Temporary failure") as caught:
        checked_addresses("flaky.test", 80, allow_private=False, resolver=outage)
    assert isinstance(caught.value, FetchError)
    assert isinstance(caught.value, RetryableError)


def test_a_literal_address_is_judged_without_asking_dns() -> None:
    dns = FakeDNS({})

    with pytest.raises(BlockedAddress):
        checked_addresses("2130706433", 80, allow_private=False, resolver=dns)

    assert dns.questions == []
