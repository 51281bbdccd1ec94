"""What a ``git push`` may change, and what an accepted push changes in Dockyard.

``review`` answers the pre-receive hook (:mod:`dockyard.git_http.pre_receive`), which reports the
ref updates, the blobs too large for git and the LFS pointers of a push while git still keeps its
objects in quarantine. The rules are the Hub's:

* refs: branches and tags may be created, moved (force-pushes included) and deleted, except that
  the default branch cannot be deleted; ``refs/pr/N`` may only be updated while its pull request
  is open (pull requests are opened through the API); nothing else under ``refs/``;
* a ref must still be where the client saw it, so that a push racing an API commit fails with a
  clear "pull first" instead of git's lock error (git's own compare-and-swap closes the rest of
  the window, and API commits retry on top of whatever the push left);
* files over ``regular_file_limit`` must be LFS pointers;
* every LFS pointer must name an object that is stored, with that size, and linked to this repo
  (git-lfs uploads and verifies objects through the batch API before it pushes, which links them),
  or that the pusher may use under :func:`dockyard.auth.access.content_usable` (it is linked then).

``record_push`` runs after ``git receive-pack`` finished: every ref that moved is recorded like an
API commit (repo row, audit, card metadata when the default branch moved, LFS file names). As for
API commits, the records are promised before any ref moves (``promise_records`` writes a commit
intent per updated ref when the push is accepted), so a crash before ``record_push`` is recovered
by the reconciler (:mod:`dockyard.repos.reconcile`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pygit2
from sqlalchemy.orm import Session

from dockyard.auth.identity import Caller
from dockyard.errors import BadRequestError, DockyardError
from dockyard.faults import PUSH_REFS_MOVED, crash_point
from dockyard.git_http import pre_receive
from dockyard.hub import Hub
from dockyard.lfs import service as lfs
from dockyard.repos import refs as repo_refs
from dockyard.repos.commits import ensure_may_update_pull_request, record_commit
from dockyard.repos.git_repo import BRANCH_PREFIX, DEFAULT_REF, PR_PREFIX, TAG_PREFIX, GitRepo
from dockyard.repos.git_storage import DEFAULT_BRANCH
from dockyard.repos.intents import PendingCommit
from dockyard.repos.models import Repo

log = logging.getLogger(__name__)

PUSH_CHECK_PURPOSE = "git-push-check"
ZERO_ID = pre_receive.ZERO_ID
_RULE = "-" * 73
_NO_LIMIT = 1 << 62


@dataclass(frozen=True, slots=True)
class RefUpdate:
    old: str
    new: str
    ref: str
    type: str = "commit"  # what ``new`` is once tags are peeled

    @property
    def created(self) -> bool:
        return self.old == ZERO_ID

    @property
    def deleted(self) -> bool:
        return self.new == ZERO_ID


@dataclass(frozen=True, slots=True)
class PushReport:
    """What the hook found in a push (see :func:`dockyard.git_http.pre_receive.main`)."""

    updates: list[RefUpdate]
    large: list[dict[str, Any]]
    pointers: list[dict[str, Any]]

    @classmethod
    def from_json(cls, raw: Any) -> PushReport:
        try:
            updates = [
                RefUpdate(str(u["old"]), str(u["new"]), str(u["ref"]), str(u.get("type", ""))) for u in raw["updates"]
            ]
            large = [{"path": str(f["path"]), "size": int(f["size"])} for f in raw["large"]]
            pointers = [{"path": str(p["path"]), "oid": str(p["oid"]), "size": int(p["size"])} for p in raw["pointers"]]
        except (KeyError, TypeError, ValueError):
            raise BadRequestError("Malformed push report") from None
        return cls(updates=updates, large=large, pointers=pointers)


@dataclass(frozen=True, slots=True)
class Verdict:
    accepted: bool
    messages: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "messages": self.messages}


def review(hub: Hub, session: Session, repo: Repo, caller: Caller, report: PushReport) -> Verdict:
    git = hub.git.open(repo.uid)
    messages: list[str] = []
    for update in report.updates:
        problem = _ref_problem(session, repo, git, update)
        if problem:
            messages.append(f"error: {update.ref}: {problem}")
    messages += _large_file_problems(hub.settings.regular_file_limit, report.large)
    messages += _pointer_problems(hub, session, repo, caller, report.pointers)
    return Verdict(accepted=not messages, messages=messages)


def _ref_problem(session: Session, repo: Repo, git: GitRepo, update: RefUpdate) -> str | None:
    ref = update.ref
    if ref == DEFAULT_REF and update.deleted:
        return f"you cannot delete the default branch ({DEFAULT_BRANCH})"
    if ref.startswith(PR_PREFIX):
        problem = _pull_request_problem(session, repo, ref, update)
        if problem:
            return problem
    elif not ref.startswith((BRANCH_PREFIX, TAG_PREFIX)):
        return "only branches (refs/heads/*), tags (refs/tags/*) and open pull requests (refs/pr/N) can be pushed"
    if not update.deleted and update.type != "commit":
        return f"refs must point at commits (or tags of commits), not at a {update.type or 'missing object'}"
    current = _raw_target(git, ref)
    if current != (None if update.created else update.old):
        return (
            "this ref changed while you were pushing (a commit landed through the API or another push). "
            "Nothing was lost: run `git pull` (or `git fetch`) and push again"
        )
    return None


def _pull_request_problem(session: Session, repo: Repo, ref: str, update: RefUpdate) -> str | None:
    number = ref.removeprefix(PR_PREFIX)
    if update.created or update.deleted or not number.isdigit():
        return "pull requests are opened and closed through the API (create_pr=True); you can push to an open one"
    # The API's rule; pushes are served to the repo's writers only (routes.py::_write_refusal).
    try:
        ensure_may_update_pull_request(session, repo, ref, may_write=True, user_id=None)
    except DockyardError as refusal:
        return refusal.message
    return None


def _raw_target(git: GitRepo, ref: str) -> str | None:
    found = git.raw.references.get(ref)
    if found is None:
        return None
    target = found.target
    return str(target) if isinstance(target, pygit2.Oid) else None


def _human_size(size: int) -> str:
    mib = size / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{size} bytes"


def _large_file_problems(limit: int, large: list[dict[str, Any]]) -> list[str]:
    if not large:
        return []
    lines = [
        _RULE,
        f"Your push was rejected because it contains files larger than {_human_size(limit)}.",
        "Please use Git LFS (https://git-lfs.com) to store large files:",
        "    git lfs install && git lfs track <pattern> && git add .gitattributes",
        "and rewrite the commits that added them (for instance with `git lfs migrate import`).",
        "",
        "Offending files:",
    ]
    lines += [f"  - {item['path']} ({item['size']} bytes)" for item in large]
    return [*lines, _RULE]


def _pointer_problems(
    hub: Hub, session: Session, repo: Repo, caller: Caller, pointers: list[dict[str, Any]]
) -> list[str]:
    """Every pointer must name content this repo holds, or content the pusher may use under the
    one content rule (then it is linked here, as an API commit would link it)."""
    missing = []
    for pointer in pointers:
        oid, size = pointer["oid"], pointer["size"]
        if lfs.stored_size(hub, session, oid) == size and lfs.is_linked(session, repo, oid):
            continue
        with hub.db.write() as write_session:
            current = write_session.get_one(Repo, repo.id)
            if not lfs.link_if_usable(hub, write_session, caller, current, oid, size):
                missing.append(pointer)
    if not missing:
        return []
    lines = [
        _RULE,
        "Your push was rejected because an LFS pointer pointed to a file that does not exist.",
        "Make sure git-lfs is installed (`git lfs install`) so that it uploads LFS objects before the push.",
        "",
        "Offending files:",
    ]
    lines += [f"  - {p['path']} (sha256:{p['oid']}, {p['size']} bytes)" for p in missing]
    return [*lines, _RULE]


# -- between the check and the ref updates ----------------------------------------------------------
def pusher_claims(caller: Caller, client: Any, user_agent: str | None) -> dict[str, Any]:
    """Who pushes, from where: signed into the push-check URL, for the audit events of the
    commit intents the check writes (the check itself is called by the hook, not by the client)."""
    return {
        "actor": caller.user.name if caller.user is not None else None,
        "token": caller.token.id if caller.token is not None else None,
        "ip": client.host if client is not None else None,
        "ua": (user_agent or "")[:300] or None,
    }


def promise_records(hub: Hub, repo_id: int, report: PushReport, claims: dict[str, Any]) -> None:
    """One commit intent per ref the accepted push will create or move, committed before git
    moves any of them. Raises if it cannot: the hook then refuses the push."""
    with hub.db.write() as session:
        for update in report.updates:
            if update.deleted:
                continue
            session.add(
                PendingCommit(
                    repo_id=repo_id,
                    ref=update.ref,
                    target=update.new,
                    action=_promised_action(update),
                    actor=claims.get("actor"),
                    token_id=claims.get("token"),
                    ip=claims.get("ip"),
                    user_agent=claims.get("ua"),
                    lfs_files={},
                )
            )


def _promised_action(update: RefUpdate) -> str:
    """The audit action as far as it is known before the objects leave quarantine (a force-push
    is told apart only by ``record_push``)."""
    if update.ref.startswith(TAG_PREFIX):
        return "tag.created" if update.created else "tag.moved"
    return "branch.created" if update.created else "repo.push"


# -- after the push ----------------------------------------------------------------------------------
def ref_snapshot(hub: Hub, repo: Repo) -> dict[str, str]:
    """Every ref of the repo and the object it points at (tags unpeeled)."""
    git = hub.git.open(repo.uid)
    snapshot = {}
    for name in git.raw.references:
        target = _raw_target(git, name)
        if target is not None:
            snapshot[name] = target
    return snapshot


def record_push(hub: Hub, repo: Repo, caller: Caller, before: dict[str, str]) -> list[str]:
    """Record every ref the push moved, as an API commit would; the names of those refs."""
    crash_point(hub.settings, PUSH_REFS_MOVED)
    after = ref_snapshot(hub, repo)
    git = hub.git.open(repo.uid)
    moved = sorted(ref for ref in set(before) | set(after) if before.get(ref) != after.get(ref))
    for ref in moved:
        old, new = before.get(ref), after.get(ref)
        if new is None:
            kind = "tag" if ref.startswith(TAG_PREFIX) else "branch"
            repo_refs.audit(hub, caller, f"{kind}.deleted", repo, ref)
            continue
        commit_id = git.ref_target(ref)
        if commit_id is None:  # a tag of something other than a commit
            continue
        action = _push_action(git, ref, old, new)
        record_commit(
            hub,
            repo.id,
            ref,
            commit_id,
            _lfs_files(hub, repo, new, list(before.values())),
            caller=caller,
            action=action,
            pending=True,
            target=new,
        )
        if action == "repo.force_push" or (old is not None and ref.startswith(TAG_PREFIX)):
            repo_refs.schedule_prune(hub, repo)  # the old history may be unreachable now
    return moved


def _push_action(git: GitRepo, ref: str, old: str | None, new: str) -> str:
    if ref.startswith(TAG_PREFIX):
        return "tag.created" if old is None else "tag.moved"
    if old is None:
        return "branch.created"
    try:
        forced = not git.raw.descendant_of(pygit2.Oid(hex=new), pygit2.Oid(hex=old))
    except (pygit2.GitError, KeyError, ValueError):
        forced = False
    return "repo.force_push" if forced else "repo.push"


def _lfs_files(hub: Hub, repo: Repo, tip: str, known: list[str]) -> dict[str, tuple[str, str]]:
    """LFS objects the push brought to ``tip``: oid -> (path, pointer blob id)."""
    git_dir = str(hub.git.path(repo.uid))
    try:
        found = pre_receive.scan([tip], known, _NO_LIMIT, git_dir=git_dir)
    except (OSError, ValueError, pre_receive.GitCommandError) as error:
        log.warning("could not list the LFS files of a push to %s: %s", repo.full_id, error)
        return {}
    return {p["oid"]: (p["path"], p["blob"]) for p in found["pointers"]}
