"""Where a webhook may be delivered (SSRF protection).

A target is checked against the address its host *resolves to*, at delivery time, and the
request then connects to that very address (the Host header and TLS server name keep the
original host), so a DNS answer that changes between the check and the connection cannot aim a
webhook at an internal service. Loopback, private, link-local and other non-global addresses are
refused unless ``DOCKYARD_WEBHOOK_ALLOWED_TARGETS`` lists their host or a network holding them.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dockyard.errors import BadRequestError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
MAX_URL = 2048


class TargetRefusedError(BadRequestError):
    """The URL is malformed, does not resolve, or resolves to an address admins did not allow."""


@dataclass(frozen=True, slots=True)
class AllowedTargets:
    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, text: str) -> AllowedTargets:
        """``127.0.0.1/32,10.0.0.0/8,hooks.internal``: entries that are not addresses are hosts."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (item.strip() for item in text.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))


@dataclass(frozen=True, slots=True)
class Target:
    """A checked destination: connect to ``address``, present ``host`` (Host header, TLS name)."""

    url: str
    scheme: str
    host: str
    port: int
    address: str

    def connect_url(self) -> str:
        """The URL with its host replaced by the checked address."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        path = parts.path or "/"
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.scheme}://{literal}:{self.port}{path}{query}"

    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``."""
    try:
        infos: list[Any] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


def check_url(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of a well-formed http(s) URL without credentials; 400 otherwise."""
    if len(url) > MAX_URL:
        raise TargetRefusedError("The webhook URL is too long")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefusedError("The webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefusedError("The webhook URL must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefusedError("The webhook URL must not carry credentials")
    return parts.scheme, parts.hostname.lower().rstrip("."), port or (443 if parts.scheme == "https" else 80)


def is_allowed(host: str, address: str, allowed: AllowedTargets) -> bool:
    """Public addresses always; others only when admins allowed their host or network."""
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if host in allowed.hosts or any(ip.version == net.version and ip in net for net in allowed.networks):
        return True
    return ip.is_global and not ip.is_multicast


def resolve_target(url: str, allowed: AllowedTargets, resolver: Resolver = system_resolver) -> Target:
    """Check ``url`` and pick the address to connect to; every address the host resolves to must
    be allowed (a mixed answer could be raced into the refused one)."""
    scheme, host, port = check_url(url)
    addresses = list(resolver(host, port))
    if not addresses:
        raise TargetRefusedError(f"The webhook host {host} does not resolve")
    for address in addresses:
        if not is_allowed(host, address, allowed):
            raise TargetRefusedError(
                f"The webhook target {host} resolves to {address}, which this hub does not deliver to"
            )
    return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])
