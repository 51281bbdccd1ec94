"""The access module's two forms agree: for every caller kind and every kind of repo, the repos the
Python form lets a caller see or download are exactly those the SQL form selects (the SQL form
drives listings, the Xet dedup answer and the content-usability rule)."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from dockyard.accounts import service as accounts
from dockyard.accounts.tokens import FINE_GRAINED, READ, WRITE
from dockyard.auth.access import Right, Viewer, downloadable_clause, may, visible_clause
from dockyard.auth.identity import Caller
from dockyard.auth.scopes import parse_scope
from dockyard.gating.models import ACCEPTED, PENDING, AccessRequest
from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.repos import service
from dockyard.repos.models import Repo


def _world(hub: Hub) -> None:
    """Users and an org, and one repo of every visibility and gating for each owner."""
    with hub.db.write() as session:
        owner = accounts.create_user(session, "owner")
        member = accounts.create_user(session, "member")
        outsider = accounts.create_user(session, "outsider")
        accounts.create_user(session, "root", is_admin=True)
        org = accounts.create_org(session, "acme", owner=owner)
        accounts.set_membership(session, org, member, "read")
        creator = Caller(user=owner, role=WRITE)
        for namespace, private, gated in itertools.product(("owner", "acme"), (False, True), (None, "manual")):
            name = f"{'private' if private else 'public'}-{gated or 'open'}"
            repo = service.create_repo(
                hub,
                session,
                creator,
                repo_type=RepoType.MODEL,
                organization=None if namespace == "owner" else "acme",
                name=name,
                private=private,
            )
            repo.gated = gated
            if gated:
                status = ACCEPTED if namespace == "acme" else PENDING
                session.add(AccessRequest(repo_id=repo.id, user_id=outsider.id, status=status, fields={}))


def _callers(hub: Hub) -> dict[str, Caller]:
    with hub.db.read() as session:
        user = {name: accounts.get_user(session, name) for name in ("owner", "member", "outsider", "root")}

    def fine(name: str, *scopes: str) -> Caller:
        return Caller(user=user[name], role=FINE_GRAINED, scopes=[parse_scope(s) for s in scopes])

    return {
        "anonymous": Caller(),
        "owner write": Caller(user=user["owner"], role=WRITE),
        "owner read": Caller(user=user["owner"], role=READ),
        "member": Caller(user=user["member"], role=WRITE),
        "outsider": Caller(user=user["outsider"], role=WRITE),
        "admin": Caller(user=user["root"], role=READ),
        "admin fine-grained elsewhere": fine("root", "user:root:write"),
        "owner fine-grained one repo": fine("owner", "model:acme/private-manual:read"),
        "owner fine-grained org": fine("owner", "org:acme:read"),
        "owner fine-grained dataset scope": fine("owner", "dataset:owner/private-open:write"),
        "member fine-grained elsewhere": fine("member", "model:member/x:write"),
        "outsider fine-grained granted repo": fine("outsider", "model:acme/public-manual:read"),
        "outsider fine-grained elsewhere": fine("outsider", "user:outsider:write"),
    }


def test_python_and_sql_forms_agree(hub: Hub) -> None:
    _world(hub)
    disagreements = []
    for label, caller in _callers(hub).items():
        with hub.db.read() as session:
            repos = list(session.scalars(select(Repo)))
            for right, clause in ((Right.SEE, visible_clause), (Right.DOWNLOAD, downloadable_clause)):
                in_python = {r.full_id for r in repos if may(session, caller, r, right)}
                in_sql = set(session.scalars(select(Repo.full_id).where(clause(Viewer.of(caller)))))
                if in_python != in_sql:
                    disagreements.append(f"{label} {right.name}: python {sorted(in_python)} sql {sorted(in_sql)}")
    assert disagreements == []


def test_download_is_narrower_than_sight_on_gated_repos(hub: Hub) -> None:
    _world(hub)
    callers = _callers(hub)
    with hub.db.read() as session:
        gated = session.scalar(select(Repo).where(Repo.full_id == "owner/public-manual"))
        granted = session.scalar(select(Repo).where(Repo.full_id == "acme/public-manual"))
        assert gated is not None
        assert granted is not None
        assert may(session, callers["anonymous"], gated, Right.SEE)
        assert not may(session, callers["anonymous"], gated, Right.DOWNLOAD)
        assert not may(session, callers["outsider"], gated, Right.DOWNLOAD)  # asked, still pending
        assert may(session, callers["outsider"], granted, Right.DOWNLOAD)  # accepted
        assert may(session, callers["outsider fine-grained granted repo"], granted, Right.DOWNLOAD)
        assert not may(session, callers["outsider fine-grained elsewhere"], granted, Right.DOWNLOAD)
        assert not may(session, callers["member fine-grained elsewhere"], granted, Right.DOWNLOAD)
        assert may(session, callers["member"], granted, Right.DOWNLOAD)
