"""The read decisions of HEAD/GET /resolve (download) and repo info (see), remembered for one
security epoch.

A cache hit costs one primary-key query (the epoch, read without a session) and no ORM object:
the full checks (token, repo lookup with aliases, visibility, gating, token scopes) ran once for
this token, repo and epoch, and any change that can narrow access bumps the epoch in the same
transaction, in whichever process makes it (see :mod:`dockyard.auth.cache`). Only decisions that
*allowed* the read are kept; a refusal always takes the full path, so its 401/403/404 and the
failed-token throttle are exactly those of every other route.

Browser sessions (a cookie) always take the full path; so does a token whose last-used time is due
to be written again, which the full path does.

With ``cached_only`` (tried on the event loop, see :mod:`dockyard.api.hot_work`) anything but a
cached grant raises :class:`~dockyard.errors.WouldBlockError` before any check runs: the full
checks then run in a thread.

Repo info (:func:`grant_see`) needs only the right to *see* the repo (a gated repo's info is
visible to anyone who may see it, as the full path decides): its decisions are kept under their
own key, so a see-grant is never taken for a download-grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from dockyard.accounts.service import touch_due
from dockyard.accounts.tokens import hash_token
from dockyard.api.routing import repo_ref
from dockyard.auth import permissions
from dockyard.auth.cache import read_epoch_quick
from dockyard.auth.identity import token_from_authorization
from dockyard.errors import WouldBlockError
from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.repos.service import get_readable_repo
from dockyard.request_context import caller_of


@dataclass(frozen=True, slots=True)
class ReadGrant:
    """What /resolve needs of a repo once the caller may download from it."""

    repo_pk: int
    uid: str
    full_id: str
    token_last_used: datetime | None  # None for an anonymous caller


def grant_read(request: Request, hub: Hub, kind: RepoType, repo_id: str, *, cached_only: bool = False) -> ReadGrant:
    """The caller's download right on the repo, from the epoch's cache or the full checks."""
    return _granted(request, hub, kind, repo_id, content=True, cached_only=cached_only)


def grant_see(request: Request, hub: Hub, kind: RepoType, repo_id: str, *, cached_only: bool = False) -> ReadGrant:
    """The caller's right to see the repo (its info), from the epoch's cache or the full checks."""
    return _granted(request, hub, kind, repo_id, content=False, cached_only=cached_only)


def _granted(
    request: Request, hub: Hub, kind: RepoType, repo_id: str, *, content: bool, cached_only: bool
) -> ReadGrant:
    cookie = "cookie" in request.headers
    if cookie and cached_only:
        raise WouldBlockError("a browser session takes the full checks")
    token = token_from_authorization(request.headers.get("authorization"))  # a malformed header: 401
    key = ("resolve-read" if content else "info-see", hash_token(token) if token else None, kind.value, repo_id)
    epoch = hub.security_cache.validate_epoch(read_epoch_quick(hub.db, wait=not cached_only))  # first of all
    if not cookie:
        cached: ReadGrant | None = hub.security_cache.get(key)
        if cached is not None and (token is None or not touch_due(cached.token_last_used)):
            return cached
    if cached_only:
        raise WouldBlockError("no cached grant")
    grant = _checked(request, hub, kind, repo_id, content=content)
    if not cookie:
        hub.security_cache.put(key, grant, epoch)  # refused if the epoch moved since it was read
    return grant


def _checked(request: Request, hub: Hub, kind: RepoType, repo_id: str, *, content: bool) -> ReadGrant:
    with hub.db.read() as session:
        caller = caller_of(request, session)
        repo = get_readable_repo(session, caller, repo_ref(kind, repo_id), cached=True)
        if content:
            permissions.ensure_content(session, caller, repo)
    last_used = caller.token.last_used_at if caller.token is not None else None
    return ReadGrant(repo_pk=repo.id, uid=repo.uid, full_id=repo.full_id, token_last_used=last_used)
