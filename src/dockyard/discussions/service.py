"""Discussions and pull requests: opening them, listing them, and every change to one.

Who may do what (the Hub's rules):

* reading follows the repo (``Right.SEE``); a PR's diff needs ``Right.DOWNLOAD``;
* taking part (opening, commenting) needs a signed-in account that may read the repo through a
  token that may write to it (:func:`dockyard.auth.access.may_propose`) and, on a gated repo,
  access to its content;
* renaming and changing the status belong to the author or a writer; merging and hiding comments
  to writers; editing a comment to its author.

Every recorded change calls :func:`_notify` once its transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.auth import access
from dockyard.auth.access import Right
from dockyard.auth.identity import Caller
from dockyard.discussions import events
from dockyard.discussions.models import DiscussionEvent
from dockyard.discussions.threeway import conflicting_files, merge_base
from dockyard.errors import AuthenticationRequiredError, BadRequestError, ForbiddenError, NotFoundError
from dockyard.hub import Hub
from dockyard.repos.git_repo import DEFAULT_REF, PR_PREFIX, GitRepo
from dockyard.repos.models import Discussion, Repo
from dockyard.webhooks import events as webhook_events

PAGE_SIZE = 50
OPEN_STATUSES = ("open", "draft")
MAX_TITLE = 200
MAX_TEXT = 65536


class DiscussionNotFoundError(NotFoundError):
    default_message = "Discussion not found"


_WEBHOOK_ACTIONS = {  # discussion action -> (the Hub's webhook action, about a comment)
    "create": ("create", False),
    "comment": ("create", True),
    "title": ("update", False),
    "status": ("update", False),
    "merge": ("update", False),
    "comment-edit": ("update", True),
    "comment-hide": ("update", True),
}


def _notify(hub: Hub, repo_id: int, discussion_num: int, action: str, event_id: str | None = None) -> None:
    """Called after every discussion change is recorded (created, comment, title, status, merged,
    comment edited or hidden, PR commit): queue the webhook deliveries. A PR commit is already a
    repo event (the commit pipeline emits it), so it adds none here."""
    if action not in _WEBHOOK_ACTIONS:
        return
    hook_action, about_comment = _WEBHOOK_ACTIONS[action]
    with hub.db.write() as session:
        repo = session.get(Repo, repo_id)
        discussion = session.scalar(
            select(Discussion).where(Discussion.repo_id == repo_id, Discussion.num == discussion_num)
        )
        if repo is None or discussion is None:
            return
        comment = _comment_for_webhook(session, event_id) if about_comment else None
        webhook_events.emit_discussion(session, repo, discussion, hook_action, comment=comment)
    hub.jobs_enqueued()


def _comment_for_webhook(session: Session, event_id: str | None) -> dict[str, Any] | None:
    event = session.scalar(select(DiscussionEvent).where(DiscussionEvent.uid == event_id)) if event_id else None
    if event is None:
        return None
    latest = event.data.get("latest") or {}
    return {
        "id": event.uid,
        "author_id": event.author_id,
        "hidden": bool(event.data.get("hidden")),
        "content": latest.get("raw", ""),
    }


# -- permissions -----------------------------------------------------------------------------------
def ensure_may_take_part(session: Session, caller: Caller, repo: Repo) -> Account:
    """Opening and commenting: signed in (401), may see the repo (404, checked by the route), may
    download it when gated (the Hub's GatedRepo), through a token that may write (403)."""
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to take part in discussions")
    access.ensure(session, caller, repo, Right.DOWNLOAD)
    if not access.may_propose(session, caller, repo):
        raise ForbiddenError(f"This token cannot open discussions or comment on {repo.full_id}")
    return caller.user


def is_moderator(session: Session, caller: Caller, repo: Repo) -> bool:
    return access.may(session, caller, repo, Right.WRITE)


def ensure_author_or_writer(session: Session, caller: Caller, repo: Repo, pull: Discussion) -> Account:
    user = ensure_may_take_part(session, caller, repo)
    if pull.author_id != user.id and not is_moderator(session, caller, repo):
        raise ForbiddenError(f"Only the author of #{pull.num} or the repo's writers may do this")
    return user


def ensure_writer(session: Session, caller: Caller, repo: Repo) -> Account:
    user = ensure_may_take_part(session, caller, repo)
    if not is_moderator(session, caller, repo):
        raise ForbiddenError(f"You don't have the rights to moderate discussions on {repo.full_id}")
    return user


# -- reading ---------------------------------------------------------------------------------------
def get(session: Session, repo: Repo, num: int) -> Discussion:
    pull = session.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == num))
    if pull is None:
        raise DiscussionNotFoundError(f"Discussion #{num} not found")
    return pull


@dataclass(frozen=True, slots=True)
class ListFilter:
    page: int = 0
    kind: str = "all"  # all, discussion, pull_request
    status: str = "all"  # all, open (with drafts), closed (with merged)
    author: str | None = None


def summary(repo: Repo, pull: Discussion, comments: int = 0) -> dict[str, Any]:
    return {
        "num": pull.num,
        "title": pull.title,
        "status": pull.status,
        "isPullRequest": pull.is_pull_request,
        "createdAt": events.iso(pull.created_at),
        "author": {"name": pull.author.name if pull.author is not None else "deleted"},
        "repo": {"name": repo.full_id, "type": repo.type},
        "pinned": False,
        "numComments": comments,
        "topReactions": [],
    }


def list_page(session: Session, repo: Repo, wanted: ListFilter) -> dict[str, Any]:
    query = select(Discussion).where(Discussion.repo_id == repo.id)
    if wanted.kind != "all":
        query = query.where(Discussion.is_pull_request.is_(wanted.kind == "pull_request"))
    if wanted.status == "open":
        query = query.where(Discussion.status.in_(OPEN_STATUSES))
    elif wanted.status == "closed":
        query = query.where(Discussion.status.not_in(OPEN_STATUSES))
    if wanted.author:
        authors = select(Account.id).where(Account.name_lower == wanted.author.lower())
        query = query.where(Discussion.author_id.in_(authors))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    start = wanted.page * PAGE_SIZE
    rows = session.scalars(query.order_by(Discussion.num.desc()).offset(start).limit(PAGE_SIZE)).all()
    counts = _comment_counts(session, [row.id for row in rows])
    items = [summary(repo, row, counts.get(row.id, 0)) for row in rows]
    return {"discussions": items, "count": count, "start": start}


def _comment_counts(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    query = (
        select(DiscussionEvent.discussion_id, func.count())
        .where(DiscussionEvent.discussion_id.in_(ids), DiscussionEvent.type == events.COMMENT)
        .group_by(DiscussionEvent.discussion_id)
    )
    return {row[0]: row[1] for row in session.execute(query)}


# -- opening ---------------------------------------------------------------------------------------
def next_num(session: Session, repo_id: int) -> int:
    """Discussions and pull requests share one sequence per repo (the unique key guards races)."""
    last = session.scalar(select(func.max(Discussion.num)).where(Discussion.repo_id == repo_id))
    return (last or 0) + 1


def add_discussion(
    session: Session,
    repo: Repo,
    author: Account | None,
    title: str,
    description: str,
    *,
    pull_request: bool,
    status: str = "open",
) -> Discussion:
    """The row and its first ``comment`` event (the description), in the caller's transaction."""
    pull = Discussion(
        repo_id=repo.id,
        num=next_num(session, repo.id),
        title=title[:300],
        description=description,
        is_pull_request=pull_request,
        status=status,
        author_id=author.id if author is not None else None,
        base_ref=DEFAULT_REF if pull_request else None,
    )
    session.add(pull)
    session.flush()
    session.refresh(pull)  # loads its author
    events.add_comment(session, pull, author, description)
    return pull


def validate_text(value: Any, name: str, *, limit: int = MAX_TEXT, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRequestError(f"'{name}' must be a non-empty string")
    if len(value) > limit:
        raise BadRequestError(f"'{name}' is longer than {limit} characters")
    return value


def create(hub: Hub, caller: Caller, repo: Repo, title: str, description: str, *, pull_request: bool) -> int:
    """A discussion, or a draft PR whose ``refs/pr/N`` starts at the default branch's head."""
    git = hub.git.open(repo.uid)
    head = git.ref_target(DEFAULT_REF)
    if pull_request and head is None:
        raise BadRequestError("This repository has no default branch to open a pull request against")
    with hub.db.write() as session:
        author = ensure_may_take_part(session, caller, repo)
        status = "draft" if pull_request else "open"
        pull = add_discussion(session, repo, author, title, description, pull_request=pull_request, status=status)
        num = pull.num
        if pull_request and head is not None:
            git.update_ref(f"{PR_PREFIX}{num}", head, expected_old=None, message="pull request: opened")
    _notify(hub, repo.id, num, "create")
    return num


def pull_base_and_head(git: GitRepo, pull: Discussion) -> tuple[str | None, str | None]:
    base = git.ref_target(pull.base_ref or DEFAULT_REF)
    return base, git.ref_target(f"{PR_PREFIX}{pull.num}")


def pull_for_ref(session: Session, repo_id: int, ref: str) -> Discussion | None:
    number = ref.removeprefix(PR_PREFIX)
    if not ref.startswith(PR_PREFIX) or not number.isdigit() or len(number) > 9:
        return None
    return session.scalar(
        select(Discussion).where(
            Discussion.repo_id == repo_id,
            Discussion.num == int(number),
            Discussion.is_pull_request.is_(True),
        )
    )


# -- details ---------------------------------------------------------------------------------------
def details(hub: Hub, caller: Caller, repo: Repo, num: int, *, with_diff: bool) -> dict[str, Any]:
    """The summary; with ``diff`` also the events, and for a PR its base, merge commit, conflicting
    files and unified diff (the diff only for callers who may download the repo's content)."""
    with hub.db.read() as session:
        pull = get(session, repo, num)
        answer = summary(repo, pull)
        if not with_diff:
            return answer
        moderator = is_moderator(session, caller, repo)
        rendered = [events.render(event, moderator=moderator) for event in events.events_of(session, pull)]
        may_download = access.may(session, caller, repo, Right.DOWNLOAD)
    answer["numComments"] = sum(1 for event in rendered if event["type"] == events.COMMENT)
    answer["events"] = rendered
    if pull.is_pull_request:
        answer.update(_pull_changes(hub, repo, pull, may_download=may_download))
    return answer


def _pull_changes(hub: Hub, repo: Repo, pull: Discussion, *, may_download: bool) -> dict[str, Any]:
    git = hub.git.open(repo.uid)
    base, head = pull_base_and_head(git, pull)
    changes: dict[str, Any] = {"base": pull.base_ref or DEFAULT_REF}
    if pull.merge_commit_id:
        changes["mergeCommitId"] = pull.merge_commit_id
    conflicts: list[str] = []
    diff = None
    if base is not None and head is not None:
        if pull.status in OPEN_STATUSES:
            conflicts = conflicting_files(git, base, head)
        if may_download:
            diff = git.diff(merge_base(git, base, head), head)
    return {"changes": changes, "filesWithConflicts": conflicts, "diff": diff}
