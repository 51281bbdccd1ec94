"""Who the failed-auth throttle counts as one client: IPv4 addresses one by one, IPv6 per /64
(rotating addresses inside one's own /64 must not buy fresh attempts)."""

from __future__ import annotations

import pytest

from dockyard.auth.throttle import client_key


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:0:0:0:9", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("unix-socket", "unix-socket"),
        (None, None),
        ("", None),
    ],
)
def test_client_key(address: str | None, key: str | None) -> None:
    assert client_key(address) == key


def test_neighbouring_ipv6_blocks_are_separate_clients() -> None:
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")


def test_keys_fit_the_counter_column() -> None:
    assert len(client_key("x" * 500) or "") <= 64
    assert len(client_key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") or "") <= 64
