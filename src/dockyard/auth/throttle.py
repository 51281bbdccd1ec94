"""Slowing down credential guessing: after too many failed token checks from one client within a
window, that client gets 429 (with Retry-After) for the rest of the window, whatever it sends.

The counters live in the database so every API process enforces the same limit.

A client is its address as the server sees it: the socket peer, or what a trusted proxy put in
X-Forwarded-For (``DOCKYARD_TRUSTED_PROXIES``, applied by ``dockyard serve``). IPv6 clients are
counted per /64, the smallest block one subscriber gets: counted per address, anyone holding a
/64 could dodge the limit by picking a fresh address for every 30 guesses.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from dockyard.auth.models import AuthFailure
from dockyard.db.base import utcnow
from dockyard.db.database import Database
from dockyard.errors import RateLimitedError

WINDOW = timedelta(minutes=5)
MAX_FAILURES = 30
IPV6_PREFIX = 64


def client_key(address: str | None) -> str | None:
    """The throttle's key for a client address: an IPv4 address as is, an IPv6 address as its /64
    (an IPv4-mapped one as the IPv4 address), anything else (a Unix socket name) as is."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)


def check(db: Database, client: str | None) -> None:
    """Refuse a client that is over the limit (one primary-key read)."""
    client = client_key(client)
    if client is None:
        return
    with db.read() as session:
        row = session.get(AuthFailure, client)
        if row is None or row.count < MAX_FAILURES:
            return
        remaining = row.window_start + WINDOW - utcnow()
    if remaining.total_seconds() > 0:
        retry = str(int(remaining.total_seconds()) + 1)
        raise RateLimitedError(
            "Too many failed authentication attempts; retry later",
            headers={"Retry-After": retry, "RateLimit": f'"auth";r=0;t={retry}'},
        )


def note_failure(db: Database, client: str | None) -> None:
    """Count one failed token check against the client's key (its /64 for IPv6)."""
    client = client_key(client)
    if client is None:
        return
    now = utcnow()
    with db.write() as session:
        row = session.get(AuthFailure, client)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(AuthFailure(client=client, window_start=now, count=1))
                return
            except IntegrityError:
                row = session.get_one(AuthFailure, client)
        if row.window_start + WINDOW < now:
            row.window_start, row.count = now, 1
        else:
            session.execute(update(AuthFailure).where(AuthFailure.client == client).values(count=AuthFailure.count + 1))
