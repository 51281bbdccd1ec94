"""The actions on one discussion, each answering with the event it recorded (rendered exactly as
the details page will show it), then calling :func:`dockyard.discussions.service._notify`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from dockyard.auth.identity import Caller
from dockyard.discussions import events
from dockyard.discussions.models import DiscussionEvent
from dockyard.discussions.service import (
    OPEN_STATUSES,
    _notify,
    ensure_author_or_writer,
    ensure_may_take_part,
    ensure_writer,
    get,
    is_moderator,
)
from dockyard.errors import BadRequestError, ForbiddenError, NotFoundError
from dockyard.hub import Hub
from dockyard.repos.models import Discussion, Repo


def comment(hub: Hub, caller: Caller, repo: Repo, num: int, text: str) -> dict[str, Any]:
    with hub.db.write() as session:
        author = ensure_may_take_part(session, caller, repo)
        pull = get(session, repo, num)
        event = events.add_comment(session, pull, author, text)
        answer = events.render(event, moderator=True)
    _notify(hub, repo.id, num, "comment", answer["id"])
    return answer


def rename(hub: Hub, caller: Caller, repo: Repo, num: int, title: str) -> dict[str, Any]:
    with hub.db.write() as session:
        pull = get(session, repo, num)
        author = ensure_author_or_writer(session, caller, repo, pull)
        event = events.add(session, pull, events.TITLE_CHANGE, author, {"from": pull.title, "to": title})
        pull.title = title
        answer = events.render(event, moderator=True)
    _notify(hub, repo.id, num, "title", answer["id"])
    return answer


def change_status(hub: Hub, caller: Caller, repo: Repo, num: int, status: str, text: str) -> dict[str, Any]:
    """``open`` publishes a draft PR or reopens; ``closed`` closes. A merged PR stays merged."""
    if status not in ("open", "closed"):
        raise BadRequestError("'status' must be 'open' or 'closed'")
    with hub.db.write() as session:
        pull = get(session, repo, num)
        author = ensure_author_or_writer(session, caller, repo, pull)
        if pull.status == "merged":
            raise BadRequestError(f"Pull request #{num} is merged: its status cannot change")
        if text:
            events.add_comment(session, pull, author, text)
        event = events.add(session, pull, events.STATUS_CHANGE, author, {"status": status})
        pull.status = status
        answer = events.render(event, moderator=True)
    _notify(hub, repo.id, num, "status", answer["id"])
    return answer


def edit_comment(hub: Hub, caller: Caller, repo: Repo, num: int, comment_id: str, text: str) -> dict[str, Any]:
    """Only a comment's author edits it; every earlier version stays in its history."""
    with hub.db.write() as session:
        editor = ensure_may_take_part(session, caller, repo)
        pull = get(session, repo, num)
        event = _comment(session, pull, comment_id, num)
        if event.author_id != editor.id:
            raise ForbiddenError("Only the author of a comment may edit it")
        if event.data.get("hidden"):
            raise ForbiddenError("A hidden comment cannot be edited")
        events.edit_comment(event, editor, text)
        answer = events.render(event, moderator=is_moderator(session, caller, repo))
    _notify(hub, repo.id, num, "comment-edit", answer["id"])
    return answer


def hide_comment(hub: Hub, caller: Caller, repo: Repo, num: int, comment_id: str) -> dict[str, Any]:
    """Writers hide a comment; its text then stays visible to writers only."""
    with hub.db.write() as session:
        moderator = ensure_writer(session, caller, repo)
        pull = get(session, repo, num)
        event = _comment(session, pull, comment_id, num)
        events.hide_comment(event, moderator)
        answer = events.render(event, moderator=True)
    _notify(hub, repo.id, num, "comment-hide", answer["id"])
    return answer


def _comment(session: Session, pull: Discussion, comment_id: str, num: int) -> DiscussionEvent:
    event = events.find_comment(session, pull, comment_id)
    if event is None:
        raise NotFoundError(f"Comment {comment_id} not found in #{num}")
    return event


def ensure_mergeable_status(status: str, num: int) -> None:
    if status not in OPEN_STATUSES:
        raise BadRequestError(f"Pull request #{num} is {status}: only open or draft pull requests can be merged")
