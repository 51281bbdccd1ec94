"""Creating the users, organisations and tokens the tests act as, straight in the hub's database."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dockyard.accounts import service as accounts
from dockyard.cli.common import open_hub

# Every test user signs in to the web pages with this password.
PASSWORD = "correct-horse-battery-staple"


@dataclass(frozen=True)
class Identities:
    alice: str  # write token of user alice
    alice_read: str  # read-only token of alice
    bob: str  # write token of user bob (an outsider to alice's repos)
    carol: str  # write token of carol, a read member of org acme
    dave: str  # write token of dave, a write member of org acme


def create_identities(data_dir: Path, env: dict[str, str]) -> Identities:
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("DOCKYARD_")})
    try:
        hub = open_hub(data_dir)
        with hub.db.write() as session:
            alice = accounts.create_user(
                session, "alice", fullname="Alice Liddell", email="alice@example.org", password=PASSWORD
            )
            bob = accounts.create_user(session, "bob", fullname="Bob", password=PASSWORD)
            carol = accounts.create_user(session, "carol", password=PASSWORD)
            dave = accounts.create_user(session, "dave", password=PASSWORD)
            acme = accounts.create_org(session, "acme", owner=alice, fullname="Acme Research")
            # The tests create public acme repos by omitting `private` (organisations default to private).
            accounts.set_default_visibility(session, acme, private=False)
            accounts.set_membership(session, acme, carol, "read")
            accounts.set_membership(session, acme, dave, "write")
            tokens = Identities(
                alice=accounts.issue_token(session, alice, role="write", display_name="alice-write").value,
                alice_read=accounts.issue_token(session, alice, role="read", display_name="alice-read").value,
                bob=accounts.issue_token(session, bob, role="write").value,
                carol=accounts.issue_token(session, carol, role="write").value,
                dave=accounts.issue_token(session, dave, role="write").value,
            )
        hub.db.dispose()
        return tokens
    finally:
        os.environ.clear()
        os.environ.update(saved)


def issue_token(data_dir: Path, env: dict[str, str], user: str, role: str, scopes: list[str] | None = None) -> str:
    """A new token for ``user`` (scopes as ``TYPE:NAME:LEVEL`` for fine-grained tokens)."""
    from dockyard.auth.scopes import parse_scope

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("DOCKYARD_")})
    try:
        hub = open_hub(data_dir)
        with hub.db.write() as session:
            issued = accounts.issue_token(
                session,
                accounts.get_user(session, user),
                role=role,
                scopes=[parse_scope(s) for s in scopes] if scopes else None,
            )
        hub.db.dispose()
        return issued.value
    finally:
        os.environ.clear()
        os.environ.update(saved)
