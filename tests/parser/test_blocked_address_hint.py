"""A refused private address names the setting that allows it; an always-refused one does not."""

from __future__ import annotations

import pytest

from services.parser.addresses import BlockedAddress, checked_addresses
from services.parser.fetch import check_url
from tests.parser.conftest import FakeDNS


def test_a_private_address_refusal_names_fetch_allow_private() -> None:
    dns = FakeDNS({"intranet.test": ["192.168.1.20"]})

    with pytest.raises(BlockedAddress) as caught:
        checked_addresses("intranet.test", 80, allow_private=False, resolver=dns)

    assert str(caught.value).endswith(
        "(private), which is not a public address; "
        "FETCH_ALLOW_PRIVATE=1 allows private addresses (for local pages only)"
    )


def test_a_loopback_url_refusal_names_it_too() -> None:
    with pytest.raises(BlockedAddress, match=r"\(loopback\).*; FETCH_ALLOW_PRIVATE=1 allows"):
        check_url("http://127.0.0.1:8000/page.html", allow_private=False)


def test_a_metadata_address_refusal_does_not_suggest_a_setting_that_cannot_help() -> None:
    with pytest.raises(BlockedAddress) as caught:
        check_url("http://169.254.169.254/latest/", allow_private=True)

    assert "FETCH_ALLOW_PRIVATE" not in str(caught.value)
