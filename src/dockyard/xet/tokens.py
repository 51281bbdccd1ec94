"""CAS access tokens: short-lived, signed, scoped to one repo and one access level.

The Hub hands these out at ``/api/{type}s/{repo}/xet-{read|write}-token/{rev}``; the CAS checks
them with the shared signing key alone, so the CAS can run (and scale) on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.auth.scopes import Scope
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
    it may, so dedup answers and shard checks stay within ``scopes`` (the token's own, carried in
    the signed claims), public content and ``repo_id``."""

    repo_id: int
    scope: str
    user_id: int | None
    narrow: bool = False
    scopes: tuple[Scope, ...] = ()

    @property
    def can_write(self) -> bool:
        return self.scope == WRITE


def issue(
    signer: Signer,
    *,
    repo_id: int,
    scope: str,
    user_id: int | None,
    narrow: bool = False,
    scopes: list[Scope] | None = None,
) -> str:
    claims: dict[str, object] = {"r": repo_id, "s": scope, "u": user_id, "n": narrow}
    if narrow and scopes:
        claims["sc"] = [[s.entity_type, s.name, s.level] for s in scopes]
    return signer.sign(PURPOSE, claims, ttl=TOKEN_TTL)


def _scopes(raw: object) -> tuple[Scope, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(Scope(entity_type=str(t), name=str(n), level=str(lv)) for t, n, lv in raw)


def check(signer: Signer, authorization: str | None, *, write: bool = False) -> CasGrant:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedError("A Xet access token is required")
    claims = signer.verify(PURPOSE, token.strip())
    grant = CasGrant(
        repo_id=int(claims["r"]),
        scope=str(claims["s"]),
        user_id=claims.get("u"),
        narrow=bool(claims.get("n")),
        scopes=_scopes(claims.get("sc")),
    )
    if write and not grant.can_write:
        raise ForbiddenError("This Xet token is read-only")
    return grant
