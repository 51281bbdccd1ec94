"""Permanently deleting a repo's large files (``permanently_delete_lfs_files``).

Three steps, in this order so that no step leaves the repo pointing at content it lost the right
to: rewrite every ref without the pointers (``repos.lfs_rewrite``), unlink the objects from the
repo (it no longer lists or serves them, and may not re-link them without uploading them again),
then let the prune job drop the old commits and garbage collection free the bytes no repo links.
"""

from __future__ import annotations

from sqlalchemy import delete

from dockyard.audit.service import record_for
from dockyard.auth.identity import Caller
from dockyard.hub import Hub
from dockyard.jobs.queue import enqueue
from dockyard.lfs.models import RepoLfsObject
from dockyard.repos.commits import record_commit
from dockyard.repos.git_repo import BRANCH_PREFIX
from dockyard.repos.jobs import PRUNE_HISTORY
from dockyard.repos.lfs_rewrite import drop_lfs_pointers
from dockyard.repos.models import Repo


def purge_lfs_files(hub: Hub, repo: Repo, caller: Caller, oids: frozenset[str], *, rewrite_history: bool) -> None:
    """Drop ``oids`` from ``repo``: from its history when asked, and from what it holds."""
    moved = drop_lfs_pointers(hub.git.open(repo.uid), oids) if rewrite_history and oids else {}
    with hub.db.write() as session:
        session.execute(delete(RepoLfsObject).where(RepoLfsObject.repo_id == repo.id, RepoLfsObject.oid.in_(oids)))
        record_for(
            session,
            caller,
            "repo.lfs_files_deleted",
            f"{repo.type}:{repo.full_id}",
            oids=sorted(oids),
            refs=sorted(moved),
        )
        if moved:
            enqueue(session, PRUNE_HISTORY, {"repo_id": repo.id})
    hub.jobs_enqueued()
    for ref, target in moved.items():
        if ref.startswith(BRANCH_PREFIX):  # the repo row and metadata follow the default branch's new head
            record_commit(hub, repo.id, ref, target)
