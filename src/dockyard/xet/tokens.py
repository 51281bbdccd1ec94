"""CAS access tokens: short-lived, signed, scoped to one repo *or one bucket* and one access level.

The Hub hands these out at ``/api/{type}s/{repo}/xet-{read|write}-token/{rev}`` and
``/api/buckets/{bucket}/xet-{read|write}-token``; the CAS checks them with the shared signing key
alone, so the CAS can run (and scale) on its own.
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
    the signed claims), public content and the grant's own repo or bucket.

    Exactly one of ``repo_id`` and ``bucket_id`` is set: the container whose xorbs this grant's
    uploads join (the dedup boundary) and whose files it may reconstruct."""

    repo_id: int | None
    scope: str
    user_id: int | None
    narrow: bool = False
    scopes: tuple[Scope, ...] = ()
    bucket_id: int | None = None

    @property
    def can_write(self) -> bool:
        return self.scope == WRITE

    @property
    def holder(self) -> str:
        """A label for the container (``r:12`` or ``b:3``): distinct across repos and buckets."""
        return f"b:{self.bucket_id}" if self.bucket_id is not None else f"r:{self.repo_id}"


def issue(
    signer: Signer,
    *,
    repo_id: int | None = None,
    bucket_id: int | None = None,
    scope: str,
    user_id: int | None,
    narrow: bool = False,
    scopes: list[Scope] | None = None,
) -> str:
    """A token for a repo (claim ``r``) or a bucket (claim ``b``), never both."""
    if (repo_id is None) == (bucket_id is None):
        raise ValueError("A CAS token names exactly one repo or one bucket")
    claims: dict[str, object] = {"s": scope, "u": user_id, "n": narrow}
    claims.update({"r": repo_id} if repo_id is not None else {"b": bucket_id})
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
    repo_id, bucket_id = claims.get("r"), claims.get("b")
    if (repo_id is None) == (bucket_id is None):
        raise UnauthorizedError("Invalid Xet access token")
    grant = CasGrant(
        repo_id=int(repo_id) if repo_id is not None else None,
        bucket_id=int(bucket_id) if bucket_id is not None else None,
        scope=str(claims["s"]),
        user_id=claims.get("u"),
        narrow=bool(claims.get("n")),
        scopes=_scopes(claims.get("sc")),
    )
    if write and not grant.can_write:
        raise ForbiddenError("This Xet token is read-only")
    return grant
