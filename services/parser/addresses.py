"""Which network addresses the parser may connect to: globally routable ones only.

Every host of every request is turned into IP addresses here (literal, numeric forms
such as ``2130706433`` or ``0x7f.1``, or DNS) and every address is judged. The judgement
looks through the IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, NAT64), so
``::ffff:127.0.0.1`` is loopback. The transport then connects only to those addresses.

``FETCH_ALLOW_PRIVATE`` lets private addresses through, never link-local ones nor cloud
metadata services, by address or by name (:data:`ALWAYS_REFUSED`,
:data:`CLOUD_METADATA_HOSTS`): on a cloud VM they hand out its credentials.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from shared.errors import FetchError, FetchRejected

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Return every address of ``host`` for a TCP connection to ``port``.
Resolver = Callable[[str, int], list[IPAddress]]

#: Instance metadata services: credentials live there. Refused even when private
#: addresses are allowed, because a developer's laptop may run on a cloud VM too.
#: The link-local ones are refused with all of 169.254.0.0/16 and fe80::/10 as well.
CLOUD_METADATA: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task credentials
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy address)
        "fd00:ec2::254",  # AWS over IPv6 (Nitro instances)
    )
)
#: Host names the clouds document for their metadata services, refused before DNS is
#: asked whatever they resolve to: GCP's ``metadata.google.internal`` and its short
#: form ``metadata`` (found through the VM's search domain), and AWS's
#: ``instance-data`` / ``instance-data.ec2.internal``. Azure, Alibaba and Oracle
#: document addresses only (in :data:`CLOUD_METADATA`).
CLOUD_METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
)
#: Reasons from :func:`refusal` that hold even when private addresses are allowed.
ALWAYS_REFUSED = frozenset({"cloud metadata", "link-local"})
#: What a refusal of a private address adds: the setting that lifts it.
ALLOW_PRIVATE_HINT = "FETCH_ALLOW_PRIVATE=1 allows private addresses (for local pages only)"

# Ranges that ``is_global`` lets through on some Python versions (CPython issue 113171)
# or that route to the inside of a network anyway; the list follows requests-hardened.
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT: often reaches internal workloads
        "192.0.0.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",
        "240.0.0.0/4",
        "64:ff9b:1::/48",  # local-use NAT64: the IPv4 side is not ours to judge
        "2001:20::/28",
        "3fff::/20",
        "5f00::/16",
        "fec0::/10",  # deprecated site-local, still routed inside some networks
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class BlockedAddress(FetchRejected):
    """A host resolves to an address the parser never connects to."""


class UnknownHost(FetchRejected):
    """A host name does not exist in DNS."""


class ResolutionFailed(FetchError):
    """DNS could not answer for now."""


def refusal(address: IPAddress) -> str | None:
    """Return why ``address`` is not public (e.g. "loopback"), or None when it is."""
    address = embedded_ipv4(address) or address
    if address in CLOUD_METADATA:
        return "cloud metadata"
    checks = (
        # First of the rest: a link-local address is refused whatever else it is.
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("carrier-grade NAT", address in _CGNAT),
    )
    for reason, applies in checks:
        if applies:
            return reason
    if not address.is_global or any(address in network for network in _EXTRA_BLOCKED):
        return "not globally routable"
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def literal_address(host: str) -> IPAddress | None:
    """Return the address a host spells as a number, or None for a host name.

    Besides dotted quads and IPv6 literals this reads the forms that ``inet_aton``
    and browsers accept (``2130706433``, ``0x7f.1``, ``0177.0.0.1``), so the check
    does not depend on the resolver. Raise :class:`FetchRejected` for a host that
    ends in a number but is no valid address (``1.2.3.4.5``, ``example.256``).
    """
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    parts = bare.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # a trailing dot is the DNS root, not part of the number
    if not parts or not _is_number(parts[-1]):
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if len(parts) > 4 or any(number is None for number in numbers):
        raise FetchRejected(f"host {host} is neither a valid IPv4 address nor a host name")
    *leading, last = [number for number in numbers if number is not None]
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(parts)):
        raise FetchRejected(f"host {host} is an IPv4 address out of range")
    value = last
    for position, number in enumerate(leading):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _is_number(part: str) -> bool:
    # WHATWG URL standard, "ends in a number": such a host must be an IPv4 address.
    if part[:2].lower() == "0x":
        return all(char in _HEX_DIGITS for char in part[2:])
    return part.isascii() and part.isdigit()


def _ipv4_number(part: str) -> int | None:
    # WHATWG URL standard, "IPv4 number parser": 0x… is hex, a leading 0 is octal.
    if not _is_number(part):
        return None
    try:
        if part[:2].lower() == "0x":
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10)
    except ValueError:  # an 8 or 9 in an octal part
        return None


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Return the addresses the system resolver gives for ``host``, in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    return list(dict.fromkeys(addresses))


def checked_addresses(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> list[IPAddress]:
    """Resolve ``host`` once and return its addresses if every one of them may be used.

    Raise :class:`BlockedAddress` when any address is not public (one bad answer is
    enough: a name that mixes public and internal addresses is an attack or a
    mistake), :class:`UnknownHost` when the name does not exist, and
    :class:`ResolutionFailed` when DNS fails for now. ``allow_private`` lets private
    addresses through, never the :data:`ALWAYS_REFUSED` ones nor the names in
    :data:`CLOUD_METADATA_HOSTS`.
    """
    if host.strip("[]").rstrip(".").lower() in CLOUD_METADATA_HOSTS:
        raise BlockedAddress(f"host {host} is a cloud metadata service, which is never fetched")
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = resolver(host.rstrip("."), port)
        except socket.gaierror as ex:
            if ex.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
                raise UnknownHost(f"host {host} does not exist") from ex
            raise ResolutionFailed(f"cannot resolve host {host}: {ex.strerror}") from ex
        except UnicodeError as ex:
            raise FetchRejected(f"host {host} is not a valid host name") from ex
        if not addresses:
            raise UnknownHost(f"host {host} has no address")
    for address in addresses:
        reason = refusal(address)
        if reason in ALWAYS_REFUSED or (reason and not allow_private):
            blocked = f"host {host} resolves to {address} ({reason}), which is not a public address"
            if reason not in ALWAYS_REFUSED:
                blocked += f"; {ALLOW_PRIVATE_HINT}"
            raise BlockedAddress(blocked)
    return addresses
