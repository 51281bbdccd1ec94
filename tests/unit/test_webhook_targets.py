"""The SSRF check of webhook targets: resolved addresses, the allowed list, DNS rebinding."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from dockyard.webhooks.targets import AllowedTargets, TargetRefusedError, is_allowed, resolve_target

NONE = AllowedTargets.parse("")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0",
        "100.64.0.1", "224.0.0.1", "::1", "fc00::1", "fe80::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::",
    ],
)  # fmt: skip
def test_loopback_private_and_link_local_addresses_are_refused_by_default(address: str) -> None:
    assert not is_allowed("hooks.example.org", address, NONE)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_allowed("hooks.example.org", address, NONE)


def test_admins_allow_networks_and_hosts() -> None:
    allowed = AllowedTargets.parse("127.0.0.1/32, 10.0.0.0/8,hooks.internal.")
    assert is_allowed("x", "127.0.0.1", allowed)
    assert is_allowed("x", "10.200.0.3", allowed)
    assert not is_allowed("x", "127.0.0.2", allowed)
    assert not is_allowed("x", "192.168.0.1", allowed)
    assert is_allowed("hooks.internal", "192.168.0.1", allowed)


class FlippingResolver:
    """A DNS answer that changes between calls: the rebinding trick."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)

    def __call__(self, host: str, port: int) -> Sequence[str]:
        return self.answers.pop(0)


def test_the_address_is_checked_on_every_resolution_and_is_the_one_connected_to() -> None:
    resolver = FlippingResolver(["93.184.216.34"], ["127.0.0.1"])
    target = resolve_target("https://hooks.example.org:8443/in?x=1", NONE, resolver)
    assert target.connect_url() == "https://93.184.216.34:8443/in?x=1"
    assert target.host_header() == "hooks.example.org:8443"
    with pytest.raises(TargetRefusedError):
        resolve_target("https://hooks.example.org:8443/in?x=1", NONE, resolver)


def test_a_mixed_answer_is_refused() -> None:
    with pytest.raises(TargetRefusedError):
        resolve_target("http://hooks.example.org/", NONE, FlippingResolver(["93.184.216.34", "10.0.0.1"]))


@pytest.mark.parametrize(
    "url", ["ftp://example.org/", "http:///nohost", "http://user:pw@example.org/", "not a url", "http://[::1/"]
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(TargetRefusedError):
        resolve_target(url, NONE, FlippingResolver(["93.184.216.34"]))


def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(TargetRefusedError):
        resolve_target("http://nowhere.invalid/", NONE, FlippingResolver([]))


def test_ipv6_targets_are_bracketed() -> None:
    target = resolve_target("http://[2606:4700:4700::1111]/h", NONE, FlippingResolver(["2606:4700:4700::1111"]))
    assert target.connect_url() == "http://[2606:4700:4700::1111]:80/h"
    assert target.host_header() == "[2606:4700:4700::1111]"
