"""Repository lifecycle: find, create, delete, move, change visibility, duplicate."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pygit2
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from dockyard.accounts import service as accounts
from dockyard.accounts.models import Account
from dockyard.audit.service import record_for
from dockyard.auth import permissions
from dockyard.auth.cache import SecurityCache, bump_epoch, columns_of, detached, read_epoch
from dockyard.auth.identity import Caller
from dockyard.db.base import utcnow
from dockyard.errors import AuthenticationRequiredError, BadRequestError, RepoExistsError
from dockyard.hub import Hub
from dockyard.identifiers import RepoId, RepoType, validate_account_name, validate_repo_name
from dockyard.lfs.models import RepoLfsObject
from dockyard.repos import metadata
from dockyard.repos.git_repo import DEFAULT_REF, PutBlob
from dockyard.repos.gitattributes import default_gitattributes
from dockyard.repos.models import Repo, RepoAlias
from dockyard.search import index as search_index
from dockyard.webhooks import events as webhooks

SPACE_SDKS = ("gradio", "streamlit", "docker", "static")


@dataclass(frozen=True, slots=True)
class RepoRef:
    """What a URL names: a type and an id (possibly an alias)."""

    type: RepoType
    id: RepoId


def find_repo(session: Session, ref: RepoRef) -> Repo | None:
    """By current name first, then by alias (old names after a move, canonical short names).

    The match ignores letter case and follows aliases, so the repo found may carry another name
    than the one asked for: a refusal must echo ``ref.id``, never ``repo.full_id``
    (:func:`get_readable_repo`). An old name is served in place, never redirected, so only
    callers who may read the repo ever learn its current name."""
    key = str(ref.id).lower()
    repo = session.scalar(select(Repo).where(Repo.type == ref.type.value, Repo.full_id_lower == key))
    if repo is not None:
        return repo
    alias = session.scalar(
        select(RepoAlias.repo_id).where(RepoAlias.type == ref.type.value, RepoAlias.full_id_lower == key)
    )
    return session.get(Repo, alias) if alias is not None else None


def find_repo_cached(session: Session, cache: SecurityCache, ref: RepoRef) -> Repo | None:
    """``find_repo`` through the security cache, for hot paths that need only identity, owner and
    visibility (any change to those bumps the security epoch and empties the cache)."""
    key = ("repo", ref.type.value, str(ref.id).lower())
    cached = cache.get(key)
    if cached is None:
        epoch = read_epoch(session)  # before the repo is read (see SecurityCache.put)
        found = find_repo(session, ref)
        if found is None:
            return None
        cached = (columns_of(found), columns_of(found.owner))
        cache.put(key, cached, epoch)
    repo: Repo = detached(Repo, cached[0])
    set_committed_value(repo, "owner", detached(Account, cached[1]))
    return repo


def get_readable_repo(session: Session, caller: Caller, ref: RepoRef, *, cached: bool = False) -> Repo:
    repo = (
        find_repo_cached(session, caller.cache, ref) if cached and caller.cache is not None else find_repo(session, ref)
    )
    if repo is None:
        raise permissions.not_found(str(ref.id))
    permissions.ensure_read(session, caller, repo, requested=str(ref.id))
    return repo


def signature_for(account: Account | None) -> pygit2.Signature:
    if account is None:
        return pygit2.Signature("dockyard", "dockyard@localhost")
    email = account.email or f"{account.name}@users.noreply.dockyard"
    return pygit2.Signature(account.name, email)


def _namespace_for_create(session: Session, caller: Caller, organization: str | None) -> Account:
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to create a repository")
    if not organization:
        permissions.ensure_can_create_in(session, caller, caller.user)
        return caller.user
    validate_account_name(organization)
    namespace = accounts.get_account(session, organization)
    permissions.ensure_can_create_in(session, caller, namespace)
    return namespace


def create_repo(
    hub: Hub,
    session: Session,
    caller: Caller,
    *,
    repo_type: RepoType,
    organization: str | None,
    name: str,
    private: bool | None,
    sdk: str | None = None,
) -> Repo:
    """Insert the row and create the git repo with the Hub's initial commit (.gitattributes).
    ``private=None`` (not said) takes an organisation's default visibility; a user's repos are public."""
    validate_repo_name(name)
    namespace = _namespace_for_create(session, caller, organization)
    if private is None:
        private = namespace.is_org and namespace.default_repo_private
    full_id = f"{namespace.name}/{name}"
    if repo_type is RepoType.SPACE and sdk is not None and sdk not in SPACE_SDKS:
        raise BadRequestError(f"Invalid space SDK {sdk!r}; expected one of {', '.join(SPACE_SDKS)}")
    existing = find_repo(session, RepoRef(repo_type, RepoId(namespace.name, name)))
    if existing is not None and existing.full_id_lower == full_id.lower():
        raise RepoExistsError(f"You already created this {repo_type.value} repo: {existing.full_id}")
    if existing is not None:  # an alias left by a move: a new repo takes the name over
        session.execute(
            delete(RepoAlias).where(RepoAlias.type == repo_type.value, RepoAlias.full_id_lower == full_id.lower())
        )
        bump_epoch(session)  # the name stops naming the moved repo: per-epoch caches keyed by name must drop it
    repo = Repo(
        uid=uuid.uuid4().hex,
        type=repo_type.value,
        owner_id=namespace.id,
        name=name,
        full_id=full_id,
        full_id_lower=full_id.lower(),
        private=private,
        sdk=sdk if repo_type is RepoType.SPACE else None,
    )
    session.add(repo)
    session.flush()
    git = hub.git.init(repo.uid)
    files = [PutBlob(".gitattributes", default_gitattributes(repo_type))]
    if repo_type is RepoType.SPACE:
        files.append(PutBlob("README.md", _space_readme(name, sdk or "static")))
    tree = git.build_tree(None, files)
    sha = git.create_commit(tree_id=tree, parents=[], author=signature_for(caller.user), message="initial commit")
    git.update_ref(DEFAULT_REF, sha, expected_old=None, message="initial commit")
    repo.sha = sha
    repo.owner = namespace
    search_index.reindex(session, repo)
    record_for(session, caller, "repo.created", f"{repo_type.value}:{full_id}", private=private)
    webhooks.emit(session, repo, "create", "repo")
    return repo


def _space_readme(name: str, sdk: str) -> bytes:
    return f"---\ntitle: {name}\nsdk: {sdk}\npinned: false\n---\n\n# {name}\n".encode()


def delete_repo(hub: Hub, session: Session, caller: Caller, repo: Repo) -> str:
    """Remove the row now; the caller removes git storage once the transaction committed."""
    record_for(session, caller, "repo.deleted", f"{repo.type}:{repo.full_id}")
    webhooks.emit(session, repo, "delete", "repo")
    bump_epoch(session)
    uid = repo.uid
    session.delete(repo)
    session.flush()
    return uid


def move_repo(session: Session, caller: Caller, repo: Repo, target: RepoId) -> None:
    """Rename or transfer; the old id becomes an alias so existing links keep working."""
    validate_repo_name(target.name)
    namespace = accounts.get_account(session, target.namespace)
    permissions.ensure_can_create_in(session, caller, namespace)
    new_full_id = f"{namespace.name}/{target.name}"
    clash = find_repo(session, RepoRef(RepoType(repo.type), RepoId(namespace.name, target.name)))
    if clash is not None and clash.id != repo.id:
        raise RepoExistsError(f"A {repo.type} repository called {new_full_id} already exists")
    old_lower = repo.full_id_lower
    session.execute(
        delete(RepoAlias).where(RepoAlias.type == repo.type, RepoAlias.full_id_lower == new_full_id.lower())
    )
    if old_lower != new_full_id.lower():
        session.add(RepoAlias(type=repo.type, full_id_lower=old_lower, repo_id=repo.id))
    record_for(session, caller, "repo.moved", f"{repo.type}:{repo.full_id}", to=new_full_id)
    webhooks.emit(session, repo, "move", "repo", movedTo={"name": new_full_id, "owner": {"id": str(namespace.id)}})
    bump_epoch(session)
    repo.owner_id = namespace.id
    repo.owner = namespace
    repo.name = target.name
    repo.full_id = new_full_id
    repo.full_id_lower = new_full_id.lower()
    repo.last_modified = utcnow()
    session.flush()
    search_index.reindex(session, repo)


def add_alias(session: Session, repo: Repo, alias: RepoId) -> None:
    """Make ``alias`` (e.g. the canonical ``gpt2``) resolve to ``repo``."""
    key = str(alias).lower()
    if find_repo(session, RepoRef(RepoType(repo.type), alias)) is not None:
        raise RepoExistsError(f"{alias} already names a {repo.type} repo")
    session.add(RepoAlias(type=repo.type, full_id_lower=key, repo_id=repo.id))
    session.flush()


def update_settings(
    session: Session, caller: Caller, repo: Repo, *, private: bool | None, gated: str | bool | None
) -> None:
    target = f"{repo.type}:{repo.full_id}"
    bump_epoch(session)
    if private is not None and private != repo.private:
        record_for(session, caller, "repo.visibility_changed", target, private=private)
    if private is not None:
        repo.private = private
    if gated is not None:
        if gated is False or gated == "false":
            repo.gated = None
        elif gated in ("auto", "manual"):
            repo.gated = str(gated)
        else:
            raise BadRequestError("gated must be 'auto', 'manual' or false")
        record_for(session, caller, "repo.gating_changed", target, gated=repo.gated)
    session.flush()
    webhooks.emit(session, repo, "update", "repo.config")


def duplicate_repo(hub: Hub, session: Session, caller: Caller, source: Repo, target: RepoId, *, private: bool) -> Repo:
    """Copy history, refs and large-file references into a new repo the caller owns."""
    organization = target.namespace or None
    namespace = _namespace_for_create(session, caller, organization)
    validate_repo_name(target.name)
    repo_type = RepoType(source.type)
    full_id = f"{namespace.name}/{target.name}"
    if find_repo(session, RepoRef(repo_type, RepoId(namespace.name, target.name))) is not None:
        raise RepoExistsError(f"A {repo_type.value} repo named {full_id} already exists")
    repo = Repo(
        uid=uuid.uuid4().hex,
        type=source.type,
        owner_id=namespace.id,
        name=target.name,
        full_id=full_id,
        full_id_lower=full_id.lower(),
        private=private,
        sdk=source.sdk,
        sha=source.sha,
        card_data=source.card_data,
        config=source.config,
        pipeline_tag=source.pipeline_tag,
        library_name=source.library_name,
        safetensors=source.safetensors,
    )
    session.add(repo)
    session.flush()
    for row in session.scalars(select(RepoLfsObject).where(RepoLfsObject.repo_id == source.id)):
        session.add(RepoLfsObject(repo_id=repo.id, oid=row.oid, filename=row.filename, ref=row.ref))
    hub.git.copy(source.uid, repo.uid)
    repo.owner = namespace
    search_index.reindex(session, repo)
    record_for(session, caller, "repo.created", f"{repo_type.value}:{full_id}", duplicated_from=source.full_id)
    if repo.sha:
        metadata.refresh(hub, session, repo, repo.sha)
    webhooks.emit(session, repo, "create", "repo")
    return repo
