"""Turn repo and discussion changes into webhook deliveries.

Callers invoke :func:`emit` (or :func:`emit_discussion`) inside the transaction of the change:
the delivery rows and their ``webhooks.deliver`` jobs commit with it or not at all, so a crash
cannot lose an event nor announce a change that was rolled back. The body is built here, once,
in the Hub's webhook payload shape (version 3), so every retry and replay sends the same event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.auth.access import Right, may
from dockyard.auth.identity import Caller
from dockyard.identifiers import RepoType
from dockyard.jobs.queue import enqueue
from dockyard.repos.models import Repo
from dockyard.webhooks.models import Webhook, WebhookDelivery

DELIVER = "webhooks.deliver"
REPO_DOMAIN = "repo"
DISCUSSION_DOMAIN = "discussion"


def emit(session: Session, repo: Repo, action: str, scope: str, **extra: Any) -> int:
    """Queue ``{event{action, scope}, repo{...}, **extra}`` for every enabled webhook watching
    ``repo`` in the ``repo`` domain whose owner may read it; returns how many were queued."""
    body = {"event": {"action": action, "scope": scope}, "repo": repo_payload(repo), **extra}
    return _enqueue(session, repo, REPO_DOMAIN, body)


def emit_discussion(session: Session, repo: Repo, discussion: Any, action: str, comment: Any = None) -> int:
    """A discussion event (``create``/``update``/``delete``): scope ``discussion``, or
    ``discussion.comment`` with ``comment``. ``discussion`` and ``comment`` may be model objects
    or mappings; the fields read are listed in :func:`discussion_payload` and
    :func:`comment_payload`."""
    scope = "discussion.comment" if comment is not None else "discussion"
    body: dict[str, Any] = {
        "event": {"action": action, "scope": scope},
        "repo": repo_payload(repo),
        "discussion": discussion_payload(repo, discussion),
    }
    if comment is not None:
        body["comment"] = comment_payload(repo, discussion, comment)
    return _enqueue(session, repo, DISCUSSION_DOMAIN, body)


def repo_payload(repo: Repo) -> dict[str, Any]:
    kind = RepoType(repo.type)
    path = f"{kind.url_prefix}{repo.full_id}"
    payload: dict[str, Any] = {
        "type": repo.type,
        "name": repo.full_id,
        "id": str(repo.id),
        "private": repo.private,
        "owner": {"id": str(repo.owner_id)},
        "url": {"web": f"/{path}", "api": f"/api/{kind.value}s/{repo.full_id}"},
        "headSha": repo.sha,
    }
    if kind is RepoType.SPACE:
        payload["subdomain"] = repo.full_id.replace("/", "-").lower()
    return payload


def _field(obj: Any, *names: str, default: Any = None) -> Any:
    """``obj.<name>`` or ``obj[<name>]`` for the first of ``names`` present."""
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if not isinstance(obj, dict) and hasattr(obj, name):
            return getattr(obj, name)
    return default


def _author_id(obj: Any) -> str:
    author = _field(obj, "author_id", "authorId", "author", default="")
    return str(_field(author, "id", default=author))


def discussion_payload(repo: Repo, discussion: Any) -> dict[str, Any]:
    """Reads ``num``, ``title``, ``status``, ``is_pull_request``, ``author_id`` (or ``author``),
    ``pinned``, and for pull requests ``base``/``merge_commit_id``."""
    num = int(_field(discussion, "num"))
    kind = RepoType(repo.type)
    payload: dict[str, Any] = {
        "id": str(_field(discussion, "id", default=num)),
        "num": num,
        "author": {"id": _author_id(discussion)},
        "url": {
            "web": f"/{kind.url_prefix}{repo.full_id}/discussions/{num}",
            "api": f"/api/{kind.value}s/{repo.full_id}/discussions/{num}",
        },
        "title": str(_field(discussion, "title", default="")),
        "isPullRequest": bool(_field(discussion, "is_pull_request", "isPullRequest", default=False)),
        "status": str(_field(discussion, "status", default="open")),
        "pinned": bool(_field(discussion, "pinned", default=False)),
    }
    if payload["isPullRequest"]:
        payload["changes"] = {
            "base": str(_field(discussion, "base", "base_ref", default="refs/heads/main")),
            "mergeCommitId": _field(discussion, "merge_commit_id", "mergeCommitId"),
        }
    return payload


def comment_payload(repo: Repo, discussion: Any, comment: Any) -> dict[str, Any]:
    """Reads ``id``, ``author_id`` (or ``author``), ``hidden`` and ``content`` (or ``text``)."""
    num = int(_field(discussion, "num"))
    kind = RepoType(repo.type)
    comment_id = str(_field(comment, "id", default=""))
    hidden = bool(_field(comment, "hidden", default=False))
    payload: dict[str, Any] = {
        "id": comment_id,
        "author": {"id": _author_id(comment)},
        "hidden": hidden,
        "url": {"web": f"/{kind.url_prefix}{repo.full_id}/discussions/{num}#{comment_id}"},
    }
    if not hidden:
        payload["content"] = _field(comment, "content", "text", "raw", default="")
    return payload


def _enqueue(session: Session, repo: Repo, domain: str, body: dict[str, Any]) -> int:
    queued = 0
    for hook in _matching(session, repo, domain):
        event = {**body, "webhook": {"id": hook.public_id, "version": 3}}
        delivery = WebhookDelivery(webhook_id=hook.id, repo_id=repo.id, event=event)
        session.add(delivery)
        session.flush()
        enqueue(session, DELIVER, {"delivery_id": delivery.id})
        queued += 1
    return queued


def _matching(session: Session, repo: Repo, domain: str) -> list[Webhook]:
    """Enabled webhooks of ``domain`` watching the repo or its namespace, whose owner may read
    the repo now (checked again at delivery time)."""
    hooks = session.scalars(select(Webhook).where(Webhook.disabled.is_(False)).order_by(Webhook.id))
    found = []
    for hook in hooks:
        if domain in hook.domains and watches(hook, repo) and owner_may_read(session, hook, repo):
            found.append(hook)
    return found


def watches(hook: Webhook, repo: Repo) -> bool:
    namespace = repo.full_id.split("/", 1)[0].lower()
    for item in hook.watched:
        kind, name = item.get("type"), str(item.get("name", "")).lower()
        if kind in ("user", "org") and name == namespace:
            return True
        if kind == repo.type and name == repo.full_id.lower():
            return True
    return False


def owner_may_read(session: Session, hook: Webhook, repo: Repo) -> bool:
    """The webhook acts for its owner's account (not a token): it may see what they may see."""
    owner = session.get(Account, hook.owner_id)
    return owner is not None and may(session, Caller(user=owner), repo, Right.SEE)
