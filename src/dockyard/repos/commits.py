"""Creating a commit: the pipeline behind the NDJSON commit endpoint.

validate (done by the caller while parsing) → authorise (caller) → stage: turn every operation
into git tree edits, checking that large files were really uploaded → write: build the tree on
the branch head, commit the intent (:mod:`dockyard.repos.intents`) and move the branch with a
compare-and-swap, retrying on a concurrent commit unless the client pinned ``parentCommit`` →
record: audit event, repo row, metadata and scan job, claiming the intent in the same transaction.

Once the branch moved the commit has happened: nothing after it can fail the answer. A record that
fails (or a crash before it) leaves the intent, and the reconciler records the commit later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.audit import service as audit
from dockyard.audit.service import record_for
from dockyard.auth.identity import Caller
from dockyard.db.base import utcnow
from dockyard.discussions import events as discussion_events
from dockyard.discussions import service as discussions
from dockyard.errors import BadRequestError, ForbiddenError, RevisionNotFoundError, StaleParentError
from dockyard.faults import COMMIT_OBJECTS_WRITTEN, COMMIT_REF_MOVED, crash_point
from dockyard.hub import Hub
from dockyard.jobs.queue import enqueue
from dockyard.lfs import service as lfs
from dockyard.lfs.placement import goes_to_lfs
from dockyard.lfs.pointer import LfsPointer
from dockyard.repos import intents, metadata
from dockyard.repos.git_repo import (
    BRANCH_PREFIX,
    CONVERT_PREFIX,
    DEFAULT_REF,
    PR_PREFIX,
    DeleteFolder,
    DeletePath,
    FolderEntry,
    GitRepo,
    PutBlob,
    RefLockedError,
    RefMovedError,
    TreeOperation,
)
from dockyard.repos.intents import IntentWriter, PendingCommit
from dockyard.repos.models import Discussion, Repo
from dockyard.repos.service import signature_for
from dockyard.scanning.jobs import SCAN_COMMIT
from dockyard.settings import Settings
from dockyard.viewer import PROCESS_JOB as VIEWER_PROCESS
from dockyard.webhooks import events as webhooks

log = logging.getLogger(__name__)
_MAX_ATTEMPTS = 20
RECONCILE = "repos.reconcile"


@dataclass(frozen=True, slots=True)
class AddFile:
    path: str
    content: bytes


@dataclass(frozen=True, slots=True)
class AddLfsFile:
    path: str
    oid: str
    size: int | None


@dataclass(frozen=True, slots=True)
class DeleteFile:
    path: str


@dataclass(frozen=True, slots=True)
class RemoveFolder:
    path: str


Operation = AddFile | AddLfsFile | DeleteFile | RemoveFolder


@dataclass(frozen=True, slots=True)
class CommitRequest:
    summary: str
    description: str = ""
    parent_commit: str | None = None
    operations: list[Operation] = field(default_factory=list)

    @property
    def message(self) -> str:
        return f"{self.summary}\n\n{self.description}".strip() + "\n"


@dataclass(frozen=True, slots=True)
class CommitResult:
    commit_id: str
    ref: str
    pr_num: int | None = None


@dataclass
class _Staged:
    tree_ops: list[TreeOperation]
    lfs_files: dict[str, tuple[str, str]]  # oid -> (path, pointer blob id)


def create_commit(
    hub: Hub,
    repo: Repo,
    caller: Caller,
    revision: str,
    request: CommitRequest,
    *,
    create_pr: bool = False,
    system_ref: bool = False,
) -> CommitResult:
    """Apply ``request`` on ``revision`` (a branch or ``refs/pr/N``) or open a PR on top of it.
    ``system_ref`` lets the server itself commit to an existing ``refs/convert/*`` (never a client)."""
    git = hub.git.open(repo.uid)
    with hub.db.read() as session:
        staged = _stage(hub, session, caller, repo, git, revision, request.operations)
    base = None
    if create_pr:
        base = _pull_request_base(git, revision)
        pr_num: int | None = _open_pull_request(hub, repo, caller, request)
        ref = f"{PR_PREFIX}{pr_num}"
    else:
        ref = revision if system_ref and revision.startswith(CONVERT_PREFIX) else _branch_ref(git, revision)
        pr_num = None
    intent = IntentWriter(hub.db, repo.id, ref, caller=caller, action="repo.commit", lfs_files=staged.lfs_files)
    try:
        commit_id = _write(
            hub.settings,
            git,
            caller,
            ref,
            staged,
            request,
            start=base,
            expect_new_ref=create_pr,
            before_move=intent.point_at,
        )
    except (StaleParentError, RevisionNotFoundError):
        intent.abandon()  # the ref did not move
        raise
    crash_point(hub.settings, COMMIT_REF_MOVED)
    _record_or_leave_to_reconciler(hub, repo.id, ref, commit_id, staged.lfs_files, caller)
    return CommitResult(commit_id=commit_id, ref=ref, pr_num=pr_num)


def _record_or_leave_to_reconciler(
    hub: Hub, repo_id: int, ref: str, commit_id: str, lfs_files: dict[str, tuple[str, str]], caller: Caller
) -> None:
    """The commit has landed: a failure to record it must not turn the answer into an error. Its
    intent stays, and the reconciler (repos.reconcile, run now) records it."""
    try:
        record_commit(hub, repo_id, ref, commit_id, lfs_files, caller=caller, pending=True)
    except Exception:  # any failure here is retried from the intent; the client gets its commit
        log.exception("recording commit %s on %s of repo %s failed; the reconciler will retry", commit_id, ref, repo_id)
        _request_reconcile(hub)


def _request_reconcile(hub: Hub) -> None:
    try:
        with hub.db.write() as session:
            enqueue(session, RECONCILE, {})
        hub.jobs_enqueued()
    except Exception:  # the database is away: the periodic reconcile will find the intent
        log.exception("could not enqueue a reconcile")


def _branch_ref(git: GitRepo, revision: str) -> str:
    ref = revision if revision.startswith(PR_PREFIX) or revision.startswith(BRANCH_PREFIX) else BRANCH_PREFIX + revision
    if git.ref_target(ref) is None:
        if git.ref_target(f"refs/tags/{revision}") is not None:
            raise BadRequestError(f"Cannot commit to tag {revision}: commit to a branch instead")
        raise RevisionNotFoundError(f"Invalid rev id: {revision} is not a branch of this repository")
    return ref


def _pull_request_base(git: GitRepo, revision: str) -> str:
    """A PR's base is a branch: a commit sha, a tag or another PR answers 404 RevisionNotFound."""
    if revision.startswith("refs/") and not revision.startswith(BRANCH_PREFIX):
        raise RevisionNotFoundError(f"Invalid rev id: {revision} is not a branch of this repository")
    head = git.ref_target(revision if revision.startswith(BRANCH_PREFIX) else BRANCH_PREFIX + revision)
    if head is None:
        raise RevisionNotFoundError(f"Invalid rev id: {revision} is not a branch of this repository")
    return head


OPEN_PR_STATUSES = ("open", "draft")


def ensure_may_update_pull_request(
    session: Session, repo: Repo, ref: str, *, may_write: bool, user_id: int | None
) -> None:
    """Commits to ``refs/pr/N`` (API or push): only by the PR's author or the repo's writers, and
    only while the PR is open or a draft, so nobody rewrites someone else's or a closed proposal."""
    number = ref.removeprefix(PR_PREFIX)
    pull = None
    if number.isdigit() and len(number) < 10:
        pull = session.scalar(
            select(Discussion).where(
                Discussion.repo_id == repo.id, Discussion.num == int(number), Discussion.is_pull_request.is_(True)
            )
        )
    if pull is None:
        raise RevisionNotFoundError(f"Invalid rev id: {ref} is not a pull request of this repository")
    if not may_write and (user_id is None or pull.author_id != user_id):
        raise ForbiddenError(f"Only the author of pull request #{number} or the repo's writers may commit to it")
    if pull.status not in OPEN_PR_STATUSES:
        raise ForbiddenError(f"Pull request #{number} is {pull.status}: only open or draft pull requests take commits")


def _stage(
    hub: Hub,
    session: Session,
    caller: Caller,
    repo: Repo,
    git: GitRepo,
    revision: str,
    operations: list[Operation],
) -> _Staged:
    head = git.resolve(revision).commit_id
    tree_ops: list[TreeOperation] = []
    lfs_files: dict[str, tuple[str, str]] = {}
    for op in operations:
        if isinstance(op, AddLfsFile):
            pointer = _checked_pointer(hub, session, caller, repo, op)
            tree_ops.append(PutBlob(op.path, pointer.encode()))
            lfs_files[pointer.oid] = (op.path, "")
        elif isinstance(op, AddFile):
            tree_ops.append(_store_inline(hub, session, repo, git, head, op, lfs_files))
        elif isinstance(op, DeleteFile):  # as on the Hub, a deletedFile naming a folder deletes it
            is_folder = isinstance(git.entry(head, op.path), FolderEntry)
            tree_ops.append(DeleteFolder(op.path) if is_folder else DeletePath(op.path))
        else:
            tree_ops.append(DeleteFolder(op.path))
    return _Staged(tree_ops=tree_ops, lfs_files=lfs_files)


def _checked_pointer(hub: Hub, session: Session, caller: Caller, repo: Repo, op: AddLfsFile) -> LfsPointer:
    """Content that was not uploaded for this repo is usable only if the caller may download a
    repo holding it (:func:`dockyard.auth.access.content_usable`); it is then linked to this repo."""
    size = lfs.stored_size(hub, session, op.oid)
    if size is None or not lfs.usable_by(session, caller, repo, op.oid):
        raise BadRequestError(
            f"Your push was rejected because an LFS pointer pointed to a file that does not exist. "
            f"For instance: {op.path} ({op.oid}) was never uploaded to this repository."
        )
    if op.size is not None and op.size != size:
        raise BadRequestError(f"{op.path}: declared size {op.size} does not match the uploaded {size} bytes")
    if not lfs.is_linked(session, repo, op.oid):  # reused content: this repo's LFS and Xet reads need the link
        with hub.db.write() as write_session:
            lfs.link(write_session, repo.id, op.oid, size)
    return LfsPointer(oid=op.oid, size=size)


def _store_inline(
    hub: Hub,
    session: Session,
    repo: Repo,
    git: GitRepo,
    head: str,
    op: AddFile,
    lfs_files: dict[str, tuple[str, str]],
) -> PutBlob:
    """Inline content stays in git unless it is large or ``.gitattributes`` routes it to LFS."""
    limit = hub.settings.regular_file_limit
    if goes_to_lfs(git, head, op.path, len(op.content), regular_file_limit=limit):
        oid, size = lfs.store_bytes(hub, repo.id, op.content)
        lfs_files[oid] = (op.path, "")
        return PutBlob(op.path, LfsPointer(oid, size).encode())
    return PutBlob(op.path, op.content)


def _open_pull_request(hub: Hub, repo: Repo, caller: Caller, request: CommitRequest) -> int:
    """The PR row and its description comment (:mod:`dockyard.discussions.service`); its commit
    becomes a ``commit`` event when it is recorded."""
    with hub.db.write() as session:
        author = session.get(Account, caller.user.id) if caller.user is not None else None
        pull = discussions.add_discussion(
            session, repo, author, request.summary, request.description, pull_request=True
        )
        num = pull.num
    discussions._notify(hub, repo.id, num, "create")
    return num


def _write(
    settings: Settings,
    git: GitRepo,
    caller: Caller,
    ref: str,
    staged: _Staged,
    request: CommitRequest,
    *,
    start: str | None = None,
    expect_new_ref: bool = False,
    before_move: Callable[[str], None] | None = None,
) -> str:
    author = signature_for(caller.user)
    for _ in range(_MAX_ATTEMPTS):
        head = start if expect_new_ref else git.ref_target(ref)
        if head is None:
            raise RevisionNotFoundError(f"Invalid rev id: {ref}")
        if request.parent_commit and not expect_new_ref and request.parent_commit != head:
            raise StaleParentError()
        try:
            with git.writing_objects():  # the prune job waits until the ref reaches them
                tree = git.build_tree(head, staged.tree_ops)
                commit_id = git.create_commit(tree_id=tree, parents=[head], author=author, message=request.message)
                crash_point(settings, COMMIT_OBJECTS_WRITTEN)
                if before_move is not None:
                    before_move(commit_id)  # the intent is durable before the ref moves
                git.update_ref(ref, commit_id, expected_old=None if expect_new_ref else head, message=request.summary)
        except RefLockedError:
            # update_ref already waited for the writer holding the lock (and broke a dead one's).
            raise StaleParentError("The branch is too busy right now; please retry") from None
        except RefMovedError:
            if request.parent_commit or expect_new_ref:
                raise StaleParentError() from None
            continue  # another commit landed first: rebuild on top of it
        return commit_id
    raise StaleParentError("The branch is too busy right now; please retry")


def record_commit(
    hub: Hub,
    repo_id: int,
    ref: str,
    commit_id: str,
    lfs_files: dict[str, tuple[str, str]] | None = None,
    *,
    caller: Caller | None = None,
    action: str = "repo.commit",
    pending: bool = False,
    target: str | None = None,
) -> bool:
    """After a ref moved: touch the repo row, audit it, and re-extract metadata (and enqueue the
    content scans) when it was the default branch.

    With ``pending`` the commit has an intent (for ``target``, the object the ref points at,
    when that is an annotated tag): recording claims it in the same transaction, and records
    nothing when the reconciler has already recorded this commit (no event twice). Returns
    whether it recorded."""
    with hub.db.write() as session:
        if pending and not intents.claim(session, repo_id, ref, target or commit_id):
            return False
        repo = session.get(Repo, repo_id)
        if repo is None:
            return False
        if caller is not None:
            record_for(session, caller, action, f"{repo.type}:{repo.full_id}", ref=ref, commit=commit_id)
        _record(hub, session, repo, ref, commit_id, lfs_files)
    hub.jobs_enqueued()
    _notify_pull_request(hub, repo_id, ref)
    return True


def _notify_pull_request(hub: Hub, repo_id: int, ref: str) -> None:
    number = ref.removeprefix(PR_PREFIX)
    if ref.startswith(PR_PREFIX) and number.isdigit():
        discussions._notify(hub, repo_id, int(number), "commit")


def record_intent(hub: Hub, intent: PendingCommit, commit_id: str) -> bool:
    """Record a commit that landed but whose records were never written (a crash, a failure),
    with the identity and origin its intent kept; ``commit_id`` is the intent's target peeled
    to a commit. False if it was recorded meanwhile."""
    with hub.db.write() as session:
        if not intents.claim(session, intent.repo_id, intent.ref, intent.target):
            return False
        repo = session.get(Repo, intent.repo_id)
        if repo is None:
            return False
        audit.record_from(
            session,
            intent.origin(),
            intent.action,
            actor=intent.actor,
            target=f"{repo.type}:{repo.full_id}",
            token_id=intent.token_id,
            details={"ref": intent.ref, "commit": commit_id, "recovered": True},
        )
        _record(hub, session, repo, intent.ref, commit_id, intent.files())
    hub.jobs_enqueued()
    return True


def _record(
    hub: Hub, session: Session, repo: Repo, ref: str, commit_id: str, lfs_files: dict[str, tuple[str, str]] | None
) -> None:
    repo.last_modified = utcnow()
    pull = discussions.pull_for_ref(session, repo.id, ref)
    if pull is not None:  # a commit on refs/pr/N: the PR's conversation shows it
        discussion_events.record_pull_commits(session, hub.git.open(repo.uid), pull, commit_id)
    if lfs_files:
        lfs.record_files(session, repo.id, ref, lfs_files)
    if ref == DEFAULT_REF and hub.git.open(repo.uid).ref_target(ref) == commit_id:
        # Only the branch's current head describes the repo: an older commit recorded late (by
        # the reconciler, or after a concurrent commit) leaves sha and metadata to the newer one.
        refresh_head(hub, session, repo, commit_id)
    # Scans run after this transaction commits (and only if it does): the job row is part of it.
    enqueue(session, SCAN_COMMIT, {"repo_id": repo.id, "commit_id": commit_id})
    if repo.type == "dataset" and ref == DEFAULT_REF:  # never refs/convert/*: no loop
        enqueue(session, VIEWER_PROCESS, {"repo_id": repo.id, "commit_id": commit_id})
    webhooks.emit(session, repo, "update", "repo.content", updatedRefs=[{"ref": ref, "newSha": commit_id}])


def refresh_head(hub: Hub, session: Session, repo: Repo, commit_id: str) -> None:
    """Point the repo row at its new head; metadata that cannot be extracted leaves the old
    metadata in place (and the reconciler retries) rather than losing the commit's records."""
    try:
        with session.begin_nested():
            metadata.refresh(hub, session, repo, commit_id)
    except Exception:  # a bad card or header must not cost the audit event and the scan
        log.exception("metadata of %s at %s could not be extracted", repo.full_id, commit_id)
    repo.sha = commit_id
