"""Merging a pull request: a real three-way merge of ``refs/pr/N`` into its base branch.

The merged tree comes from libgit2's three-way merge of the PR head and the *current* base head
over their merge base, so changes that landed on the base since the PR opened are kept, and
conflicting paths are listed rather than overwritten. The merge commit (one parent: the base head,
as the Hub squashes a PR into one commit) lands like any API commit: an intent, a compare-and-swap
of the branch (rebuilt if another commit landed first), then ``record_commit`` (audit, repo row,
metadata, scan).
"""

from __future__ import annotations

from dockyard.auth.identity import Caller
from dockyard.discussions import events
from dockyard.discussions.actions import ensure_mergeable_status
from dockyard.discussions.service import _notify, ensure_writer, get, pull_base_and_head
from dockyard.discussions.threeway import conflicting_files, merged_index
from dockyard.errors import BadRequestError, ConflictError, StaleParentError
from dockyard.hub import Hub
from dockyard.repos.commits import _record_or_leave_to_reconciler
from dockyard.repos.git_repo import DEFAULT_REF, RefLockedError, RefMovedError
from dockyard.repos.intents import IntentWriter
from dockyard.repos.models import Discussion, Repo
from dockyard.repos.service import signature_for

_MAX_ATTEMPTS = 10


class MergeConflictError(ConflictError):
    code = "MergeConflict"
    default_message = "This pull request has conflicts with its base branch"


def merge_pull_request(hub: Hub, caller: Caller, repo: Repo, num: int, text: str) -> str:
    """Merge PR ``num`` into its base; answers the merge commit id. Writers only."""
    with hub.db.read() as session:
        user = ensure_writer(session, caller, repo)
        pull = get(session, repo, num)
        if not pull.is_pull_request:
            raise BadRequestError(f"#{num} is a discussion, not a pull request")
        ensure_mergeable_status(pull.status, num)
    base_ref = pull.base_ref or DEFAULT_REF
    commit_id = _land(hub, caller, repo, pull, base_ref)
    with hub.db.write() as session:
        pull = get(session, repo, num)
        if text:
            events.add_comment(session, pull, user, text)
        event = events.add(session, pull, events.STATUS_CHANGE, user, {"status": "merged"})
        pull.status = "merged"
        pull.merge_commit_id = commit_id
        event_id = event.uid
    _notify(hub, repo.id, num, "merge", event_id)
    return commit_id


def _land(hub: Hub, caller: Caller, repo: Repo, pull: Discussion, base_ref: str) -> str:
    git = hub.git.open(repo.uid)
    intent = IntentWriter(hub.db, repo.id, base_ref, caller=caller, action="repo.commit", lfs_files={})
    message = f"{pull.title} (#{pull.num})\n"
    for _ in range(_MAX_ATTEMPTS):
        base, head = pull_base_and_head(git, pull)
        if base is None or head is None:
            intent.abandon()
            raise BadRequestError(f"Pull request #{pull.num} or its base branch no longer exists")
        index = merged_index(git, base, head)
        if index.conflicts is not None:
            intent.abandon()
            files = conflicting_files(git, base, head)
            raise MergeConflictError(f"Cannot merge #{pull.num}: conflicts in {', '.join(files)}")
        try:
            with git.writing_objects():
                tree = str(index.write_tree(git.raw))
                commit_id = git.create_commit(
                    tree_id=tree, parents=[base], author=signature_for(caller.user), message=message
                )
                intent.point_at(commit_id)
                git.update_ref(base_ref, commit_id, expected_old=base, message=f"merge pull request #{pull.num}")
        except RefLockedError:
            intent.abandon()
            raise StaleParentError("The branch is too busy right now; please retry") from None
        except RefMovedError:
            continue  # a commit landed on the base meanwhile: merge again onto it
        _record_or_leave_to_reconciler(hub, repo.id, base_ref, commit_id, {}, caller)
        return commit_id
    intent.abandon()
    raise StaleParentError("The branch is too busy right now; please retry")
