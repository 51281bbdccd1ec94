"""Writing and rendering discussion events in the Hub's shapes.

One function renders an event (:func:`render`), used both by the action that creates it and by
the details page, so an event reads back identical to the action's answer. A hidden comment keeps
its text from callers who may not moderate the repo.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import pygit2
from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.accounts.service import find_account
from dockyard.db.base import utcnow
from dockyard.discussions.models import DiscussionEvent
from dockyard.repos.git_repo import GitRepo
from dockyard.repos.models import Discussion

COMMENT, TITLE_CHANGE, STATUS_CHANGE, COMMIT = "comment", "title-change", "status-change", "commit"
_MAX_COMMIT_EVENTS = 100  # commits recorded for one push to a PR: more is a rewrite, not a review


def iso(moment: datetime) -> str:
    """The Hub's timestamps: UTC, milliseconds, ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _author(account: Account | None) -> dict[str, Any]:
    return {"name": account.name if account is not None else "deleted"}


def add(session: Session, pull: Discussion, kind: str, author: Account | None, data: dict[str, Any]) -> DiscussionEvent:
    """Append an event; ``author`` may come from another session (the caller's identity)."""
    author = session.get(Account, author.id) if author is not None else None
    event = DiscussionEvent(
        uid=secrets.token_hex(12),
        discussion_id=pull.id,
        type=kind,
        author_id=author.id if author is not None else None,
        author=author,
        created_at=utcnow(),
        data=data,
    )
    session.add(event)
    session.flush()
    return event


def add_comment(session: Session, pull: Discussion, author: Account | None, text: str) -> DiscussionEvent:
    now = iso(utcnow())
    latest = {"raw": text, "html": "", "updatedAt": now, "author": _author(author)}
    data = {"edited": False, "hidden": False, "numEdits": 0, "latest": latest, "history": [latest], "reactions": []}
    return add(session, pull, COMMENT, author, data)


def edit_comment(event: DiscussionEvent, editor: Account, text: str) -> None:
    """A new version on top of the history, which keeps every earlier one."""
    latest = {"raw": text, "html": "", "updatedAt": iso(utcnow()), "author": _author(editor)}
    data = dict(event.data)
    data.update(edited=True, numEdits=int(data.get("numEdits", 0)) + 1, latest=latest)
    data["history"] = [latest, *data.get("history", [])]
    event.data = data


def hide_comment(event: DiscussionEvent, moderator: Account) -> None:
    event.data = {**event.data, "hidden": True, "hiddenBy": moderator.name, "hiddenAt": iso(utcnow())}


def render(event: DiscussionEvent, *, moderator: bool) -> dict[str, Any]:
    data = event.data
    if event.type == COMMENT and data.get("hidden") and not moderator:
        blank = {**data["latest"], "raw": "", "html": ""}
        data = {**data, "latest": blank, "history": []}
    return {
        "id": event.uid,
        "type": event.type,
        "createdAt": iso(event.created_at),
        "author": _author(event.author),
        "data": data,
    }


def events_of(session: Session, pull: Discussion) -> list[DiscussionEvent]:
    query = select(DiscussionEvent).where(DiscussionEvent.discussion_id == pull.id).order_by(DiscussionEvent.id)
    return list(session.scalars(query))


def find_comment(session: Session, pull: Discussion, uid: str) -> DiscussionEvent | None:
    query = select(DiscussionEvent).where(
        DiscussionEvent.discussion_id == pull.id, DiscussionEvent.uid == uid.lower(), DiscussionEvent.type == COMMENT
    )
    return session.scalar(query)


def record_pull_commits(session: Session, git: GitRepo, pull: Discussion, head: str) -> list[DiscussionEvent]:
    """A commit that lands on ``refs/pr/N`` (API or push) becomes a ``commit`` event: every commit
    since the base branch, oldest first, that is not an event yet."""
    base = git.ref_target(pull.base_ref) if pull.base_ref else None
    walker = git.raw.walk(pygit2.Oid(hex=head), pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    if base is not None:
        merge_base = git.raw.merge_base(pygit2.Oid(hex=head), pygit2.Oid(hex=base))
        if merge_base is not None:
            walker.hide(merge_base)
    known = {str(event.data.get("oid")) for event in events_of(session, pull) if event.type == COMMIT}
    created = []
    commits = list(walker)[-_MAX_COMMIT_EVENTS:]
    for commit in commits:
        if str(commit.id) in known:
            continue
        author = find_account(session, commit.author.name)
        subject = commit.message.split("\n", 1)[0]
        created.append(add(session, pull, COMMIT, author, {"subject": subject, "oid": str(commit.id)}))
    return created
