"""Recovery: make the database agree with the refs again after a crash or a failed record.

Two sweeps, run when a worker starts and then periodically (job ``repos.reconcile``), and at
once after a commit whose records failed:

* every commit intent (:mod:`dockyard.repos.intents`): if its ref holds the commit (at the tip or
  in its history), the commit happened and is recorded now (audit event with the original actor
  and origin, LFS file names, scan job, repo sha and metadata when it is still the head); if the
  ref never got there and the intent is older than ``INTENT_GRACE``, the commit never happened
  and the intent is dropped;
* every repo: if the default branch's head is not the ``sha`` or ``metadata_sha`` the database
  holds (a ref moved by means no intent covered), the row, metadata and scan catch up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import pygit2
from sqlalchemy import select

from dockyard.db.base import utcnow
from dockyard.hub import Hub
from dockyard.jobs.queue import enqueue
from dockyard.repos import intents
from dockyard.repos.commits import record_intent, refresh_head
from dockyard.repos.git_repo import DEFAULT_REF
from dockyard.repos.intents import PendingCommit
from dockyard.repos.models import Repo
from dockyard.scanning.jobs import SCAN_COMMIT

log = logging.getLogger(__name__)

INTENT_GRACE = timedelta(minutes=5)  # far longer than a ref update takes once its intent is written


@dataclass
class ReconcileReport:
    recorded: int = 0
    dropped: int = 0
    heads_refreshed: int = 0


def reconcile(hub: Hub) -> ReconcileReport:
    report = ReconcileReport()
    waiting: set[int] = set()
    for intent in intents.pending(hub.db):
        outcome = _settle(hub, intent)
        if outcome == "recorded":
            report.recorded += 1
        elif outcome == "dropped":
            report.dropped += 1
        elif intent.ref == DEFAULT_REF:
            waiting.add(intent.repo_id)
    with hub.db.read() as session:
        repos = list(session.execute(select(Repo.id, Repo.uid, Repo.sha, Repo.metadata_sha)))
    for repo_id, uid, sha, metadata_sha in repos:
        if repo_id not in waiting and _catch_up_head(hub, repo_id, uid, sha, metadata_sha):
            report.heads_refreshed += 1
    if report.recorded or report.dropped or report.heads_refreshed:
        log.warning("reconciled the database with the refs: %s", report)
    return report


def _settle(hub: Hub, intent: PendingCommit) -> str:
    """ "recorded", "dropped", or "waiting" (the writer may still be about to move the ref)."""
    with hub.db.read() as session:
        uid = session.scalar(select(Repo.uid).where(Repo.id == intent.repo_id))
    if uid is None:  # the repo was deleted
        intents.drop(hub.db, intent.id)
        return "dropped"
    if not hub.git.exists(uid):
        return "waiting"  # never conclude anything from storage we cannot read
    raw = hub.git.open(uid).raw
    if _holds(raw, intent.ref, intent.target):
        commit_id = str(raw[intent.target].peel(pygit2.Commit).id)
        return "recorded" if record_intent(hub, intent, commit_id) else "waiting"
    if intent.created_at < utcnow() - INTENT_GRACE:
        intents.drop(hub.db, intent.id)
        return "dropped"
    return "waiting"


def _holds(raw: pygit2.Repository, ref: str, target: str) -> bool:
    """Whether ``ref`` points at ``target`` or has it in its history."""
    found = raw.references.get(ref)
    if found is None:
        return False
    tip = found.target if isinstance(found.target, pygit2.Oid) else None
    if tip is None:
        return False
    if str(tip) == target:
        return True
    try:
        return bool(raw.descendant_of(found.peel(pygit2.Commit).id, pygit2.Oid(hex=target)))
    except (pygit2.GitError, KeyError, ValueError):  # the target object does not exist: it never landed
        return False


def _catch_up_head(hub: Hub, repo_id: int, uid: str, sha: str | None, metadata_sha: str | None) -> bool:
    if not hub.git.exists(uid):
        return False
    head = hub.git.open(uid).ref_target(DEFAULT_REF)
    if head is None or (head == sha and head == metadata_sha):
        return False
    with hub.db.write() as session:
        repo = session.get(Repo, repo_id)
        if repo is None or hub.git.open(uid).ref_target(DEFAULT_REF) != head:
            return False
        new_head = repo.sha != head
        refresh_head(hub, session, repo, head)
        if new_head:
            repo.last_modified = utcnow()
            enqueue(session, SCAN_COMMIT, {"repo_id": repo.id, "commit_id": head})
    hub.jobs_enqueued()
    return True
