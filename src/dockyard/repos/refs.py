"""Branches, tags and history rewriting (super-squash)."""

from __future__ import annotations

import pygit2
from sqlalchemy.orm import Session

from dockyard.audit.service import record_for
from dockyard.auth.identity import Caller
from dockyard.errors import BadRequestError, ForbiddenError, RefExistsError, RevisionNotFoundError
from dockyard.hub import Hub
from dockyard.identifiers import validate_branch_name
from dockyard.jobs.queue import enqueue
from dockyard.repos.commits import record_commit
from dockyard.repos.git_repo import BRANCH_PREFIX, CONVERT_PREFIX, PR_PREFIX, TAG_PREFIX, RefMovedError
from dockyard.repos.git_storage import DEFAULT_BRANCH
from dockyard.repos.jobs import PRUNE_HISTORY
from dockyard.repos.models import Repo
from dockyard.repos.service import signature_for
from dockyard.webhooks import events as webhooks


def create_branch(hub: Hub, repo: Repo, branch: str, starting_point: str | None) -> str:
    """As the Hub: the starting point is resolved first (404 RevisionNotFound), then the name checked."""
    git = hub.git.open(repo.uid)
    target = git.resolve(starting_point or DEFAULT_BRANCH).commit_id
    validate_branch_name(branch)
    try:
        git.update_ref(BRANCH_PREFIX + branch, target, expected_old=None, message="branch: created")
    except RefMovedError:
        raise RefExistsError(f"Reference refs/heads/{branch} already exists") from None
    return target


def delete_branch(hub: Hub, repo: Repo, branch: str) -> None:
    if branch == DEFAULT_BRANCH:
        raise ForbiddenError(f"Cannot delete {BRANCH_PREFIX}{DEFAULT_BRANCH}")
    git = hub.git.open(repo.uid)
    ref = BRANCH_PREFIX + branch
    current = git.ref_target(ref)
    if current is None:
        raise RevisionNotFoundError(f"Invalid rev id: {branch}")
    git.update_ref(ref, None, expected_old=current, message="branch: deleted")


def create_tag(hub: Hub, repo: Repo, caller: Caller, tag: str, revision: str, message: str | None) -> None:
    """As the Hub: the revision is resolved first (404 RevisionNotFound), then the tag's name checked."""
    git = hub.git.open(repo.uid)
    commit_id = git.resolve(revision).commit_id
    validate_branch_name(tag)
    ref = TAG_PREFIX + tag
    if git.ref_target(ref) is not None:
        raise RefExistsError(f"Tag {tag} already exists")
    target = commit_id
    with git.writing_objects():
        if message:
            target = git.create_tag_object(tag, commit_id, signature_for(caller.user), message)
        try:
            git.update_ref(ref, target, expected_old=None, message="tag: created")
        except RefMovedError:
            raise RefExistsError(f"Tag {tag} already exists") from None


def delete_tag(hub: Hub, repo: Repo, tag: str) -> None:
    git = hub.git.open(repo.uid)
    ref = TAG_PREFIX + tag
    raw = git.raw.references.get(ref)
    if raw is None:
        raise RevisionNotFoundError(f"Invalid rev id: {tag}")
    git.update_ref(ref, None, expected_old=str(raw.target), message="tag: deleted", peel=False)


def super_squash(hub: Hub, repo: Repo, caller: Caller, branch: str, message: str | None) -> str:
    """Replace the branch's history by one commit holding its current tree. ``branch`` may also be
    a full ref: ``refs/heads/...`` or a special ref (``refs/pr/N``, ``refs/convert/...``)."""
    git = hub.git.open(repo.uid)
    ref = _squashable_ref(branch)
    head = git.ref_target(ref)
    if head is None:
        raise RevisionNotFoundError(f"Invalid rev id: {branch}")
    commit = git.raw.get(head)
    assert isinstance(commit, pygit2.Commit)
    tree = commit.tree_id
    text = (message or f"Super-squash branch '{branch}' using huggingface_hub").strip()
    if not text:
        raise BadRequestError("The squashed commit needs a message")
    with git.writing_objects():
        new = git.create_commit(tree_id=str(tree), parents=[], author=signature_for(caller.user), message=text + "\n")
        git.update_ref(ref, new, expected_old=head, message="super-squash")
    record_commit(hub, repo.id, ref, new, caller=caller, action="repo.history_squashed")
    schedule_prune(hub, repo)
    return new


def _squashable_ref(branch: str) -> str:
    if not branch.startswith("refs/"):
        return BRANCH_PREFIX + branch
    if branch.startswith((BRANCH_PREFIX, PR_PREFIX, CONVERT_PREFIX)):
        return branch
    raise RevisionNotFoundError(f"Invalid rev id: {branch} is not a branch or a special ref")


def audit(hub: Hub, caller: Caller, action: str, repo: Repo, name: str) -> None:
    """Record a ref change; a deletion also schedules the prune of what it left unreachable, in the
    same transaction (so the job exists if and only if the audit event does)."""
    with hub.db.write() as session:
        record_for(session, caller, action, f"{repo.type}:{repo.full_id}", ref=name)
        _emit_ref_change(hub, session, repo, action, name)
        if action.endswith(".deleted"):
            enqueue(session, PRUNE_HISTORY, {"repo_id": repo.id})
    hub.jobs_enqueued()


def _emit_ref_change(hub: Hub, session: Session, repo: Repo, action: str, name: str) -> None:
    """The webhook event of a branch or tag change (``branch.created``, ``tag.deleted``, ...)."""
    current = session.get(Repo, repo.id)
    if current is None:
        return
    prefix = BRANCH_PREFIX if action.startswith("branch.") else TAG_PREFIX
    ref = name if name.startswith("refs/") else prefix + name  # pushes name the full ref
    sha = None if action.endswith(".deleted") else hub.git.open(repo.uid).ref_target(ref)
    webhooks.emit(session, current, "update", "repo.content", updatedRefs=[{"ref": ref, "newSha": sha}])


def schedule_prune(hub: Hub, repo: Repo) -> None:
    """Enqueue the prune of history a rewrite left unreachable (``repos.prune_history``)."""
    with hub.db.write() as session:
        enqueue(session, PRUNE_HISTORY, {"repo_id": repo.id})
    hub.jobs_enqueued()
