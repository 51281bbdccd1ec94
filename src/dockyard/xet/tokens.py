"""CAS access tokens: short-lived, signed, scoped to one repo and one access level.

The Hub hands these out at ``/api/{type}s/{repo}/xet-{read|write}-token/{rev}``; the CAS checks
them with the shared signing key alone, so the CAS can run (and scale) on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.errors import ForbiddenError, UnauthorizedError
from dockyard.signing import Signer

PURPOSE = "xet-cas"
XORB_URL_PURPOSE = "xet-xorb"
READ = "read"
WRITE = "write"
TOKEN_TTL = 3600


@dataclass(frozen=True, slots=True)
class CasGrant:
    """What a CAS token allows. ``narrow`` marks a fine-grained token: its user may read more than
    it may, so dedup answers stay within public content and ``repo_id``."""

    repo_id: int
    scope: str
    user_id: int | None
    narrow: bool = False

    @property
    def can_write(self) -> bool:
        return self.scope == WRITE


def issue(signer: Signer, *, repo_id: int, scope: str, user_id: int | None, narrow: bool = False) -> str:
    return signer.sign(PURPOSE, {"r": repo_id, "s": scope, "u": user_id, "n": narrow}, ttl=TOKEN_TTL)


def check(signer: Signer, authorization: str | None, *, write: bool = False) -> CasGrant:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedError("A Xet access token is required")
    claims = signer.verify(PURPOSE, token.strip())
    grant = CasGrant(
        repo_id=int(claims["r"]), scope=str(claims["s"]), user_id=claims.get("u"), narrow=bool(claims.get("n"))
    )
    if write and not grant.can_write:
        raise ForbiddenError("This Xet token is read-only")
    return grant
