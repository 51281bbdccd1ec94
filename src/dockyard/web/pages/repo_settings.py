"""A repo's settings page (``/{repo}/settings``), for the repo's admins only: visibility, gating
mode and questions, the access-request queue, rename or move, delete, and webhooks with their
delivery log.

Each section is a small form posting to ``/{repo}/settings/<section>``; every change goes through
the same domain service the API uses (repos, gating, webhooks), which also records the audit event.
After a change the browser is sent back to the page (POST-redirect-GET) with a fixed notice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dockyard.accounts import service as accounts
from dockyard.accounts.models import Account
from dockyard.auth.access import Right
from dockyard.errors import BadRequestError, DockyardError
from dockyard.gating import service as gating
from dockyard.gating.models import ACCEPTED, PENDING, REJECTED, AccessRequest
from dockyard.identifiers import RepoId
from dockyard.repos import service as repos
from dockyard.repos.cards import parse_card
from dockyard.repos.commits import AddFile, CommitRequest
from dockyard.repos.git_repo import FileEntry
from dockyard.repos.models import Repo
from dockyard.request_context import hub_of
from dockyard.web.csrf import VerifiedForm
from dockyard.web.pages.edit import ChangePage, add_repo_route, commit_changes, repo_kind
from dockyard.web.redirects import login_url, see_other
from dockyard.web.repo_pages import RepoPage, load_repo, repo_url
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of
from dockyard.webhooks import service as webhooks
from dockyard.webhooks.models import Webhook, WebhookDelivery

router = APIRouter(include_in_schema=False)

# Notices shown after a change: fixed texts, chosen by key, so the URL cannot inject any.
NOTICES = {
    "visibility": "Visibility updated.",
    "gating": "Gating updated.",
    "questions": "Access questions saved.",
    "request": "Access request updated.",
    "moved": "Repository renamed.",
    "webhook": "Webhook saved.",
    "webhook-deleted": "Webhook deleted.",
}
MAX_QUESTIONS = 20


@dataclass(frozen=True, slots=True)
class HookView:
    hook: Webhook
    deliveries: list[WebhookDelivery]


@dataclass(frozen=True, slots=True)
class SettingsView:
    page: RepoPage
    pending: list[AccessRequest]
    decided: list[AccessRequest]
    questions: list[str]
    hooks: list[HookView]


def _settings_view(request: Request, page: RepoPage) -> SettingsView:
    viewer = viewer_of(request)
    assert viewer.user is not None
    with hub_of(request).db.read() as session:
        repo = session.get_one(Repo, page.repo.id)
        pending = gating.list_requests(session, repo, PENDING)
        decided = gating.list_requests(session, repo, ACCEPTED) + gating.list_requests(session, repo, REJECTED)
        owner = accounts.get_user(session, viewer.user.name)
        hooks = [
            HookView(hook, webhooks.deliveries(session, hook)[:20])
            for hook in webhooks.list_for(session, owner)
            if _watches(hook, repo)
        ]
    return SettingsView(page, pending, decided, list(gating.required_fields(page.repo)), hooks)


def _watches(hook: Webhook, repo: Repo) -> bool:
    return any(item == {"type": repo.type, "name": repo.full_id} for item in hook.watched or [])


def _open(request: Request, repo_id: str) -> RepoPage:
    return load_repo(request, repo_kind(request), repo_id, Right.ADMIN)


def _page(request: Request, page: RepoPage, *, error: str | None = None, status: int = 200) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    view = _settings_view(request, page)
    return render(
        request, "repo_settings/settings.html", status=status, page=page, tab="settings", view=view,
        notice=None if error else notice, error=error,
    )  # fmt: skip


def settings_page(request: Request, repo_id: str) -> Response:
    if not viewer_of(request).signed_in:
        load_repo(request, repo_kind(request), repo_id, Right.SEE)  # a 404 for a repo they cannot see
        return see_other(login_url(request.url.path))
    return _page(request, _open(request, repo_id))


async def change_settings(request: Request, repo_id: str, section: str, data: VerifiedForm) -> Response:
    return await run_in_threadpool(_change, request, repo_id, section, data)


def _change(request: Request, repo_id: str, section: str, data: FormData) -> Response:
    """Run one section's action; a refused change shows the page again with the reason."""
    action = ACTIONS.get(section)
    page = _open(request, repo_id)
    if action is None:
        raise _UnknownSection()
    try:
        target = action(request, page, data)
    except DockyardError as exc:
        return _page(request, page, error=exc.message, status=exc.status)
    return see_other(target)


class _UnknownSection(DockyardError):
    status = 404
    default_message = "No such settings section"


def _text(data: FormData, name: str) -> str:
    value = data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _done(page: RepoPage, key: str) -> str:
    return f"{page.url}/settings?done={key}"


# -- the sections ------------------------------------------------------------------------------------
def _visibility(request: Request, page: RepoPage, data: FormData) -> str:
    choice = _text(data, "visibility")
    if choice not in ("public", "private"):
        raise BadRequestError("Choose public or private")
    with hub_of(request).db.write() as session:
        repo = session.get_one(Repo, page.repo.id)
        repos.update_settings(session, viewer_of(request).caller, repo, private=choice == "private", gated=None)
    return _done(page, "visibility")


def _gating(request: Request, page: RepoPage, data: FormData) -> str:
    mode = _text(data, "gated")
    if mode not in ("off", "auto", "manual"):
        raise BadRequestError("Gating must be off, auto or manual")
    with hub_of(request).db.write() as session:
        repo = session.get_one(Repo, page.repo.id)
        repos.update_settings(
            session, viewer_of(request).caller, repo, private=None, gated=False if mode == "off" else mode
        )
    return _done(page, "gating")


def _questions(request: Request, page: RepoPage, data: FormData) -> str:
    """The questions live where the Hub keeps them, the card's ``extra_gated_fields``: saving
    them commits the README with its front matter updated."""
    questions = [line.strip() for line in _text(data, "questions").splitlines() if line.strip()]
    if len(questions) > MAX_QUESTIONS or any(len(q) > 200 for q in questions):
        raise BadRequestError(f"At most {MAX_QUESTIONS} questions of 200 characters each")
    hub = hub_of(request)
    git = hub.git.open(page.repo.uid)
    head = git.resolve("main").commit_id
    entry = git.entry(head, "README.md")
    text = git.read_blob(entry.blob_id).decode("utf-8", "replace") if isinstance(entry, FileEntry) else ""
    card = parse_card(text)
    if card.errors:
        raise BadRequestError(card.errors[0])
    data_ = dict(card.data)
    data_.pop("extra_gated_fields", None)
    if questions:
        data_["extra_gated_fields"] = {question: "text" for question in questions}
    front = yaml.safe_dump(data_, sort_keys=False, allow_unicode=True) if data_ else ""
    readme = (f"---\n{front}---\n\n" if front else "") + card.body
    message = CommitRequest(summary="Update gating questions", operations=[AddFile("README.md", readme.encode())])
    commit_changes(request, ChangePage(page=page, direct=True), "main", message, create_pr=False)
    return _done(page, "questions")


def _request(request: Request, page: RepoPage, data: FormData) -> str:
    status = _text(data, "status")
    if status not in (ACCEPTED, REJECTED, PENDING):
        raise BadRequestError("Accept or reject the request")
    with hub_of(request).db.write() as session:
        repo = session.get_one(Repo, page.repo.id)
        user = accounts.get_user(session, _text(data, "user"))
        reason = _text(data, "reason") or None
        gating.decide(session, viewer_of(request).caller, repo, user, status, reason)
    return _done(page, "request")


def _move(request: Request, page: RepoPage, data: FormData) -> str:
    target = RepoId.parse(_text(data, "to"))
    if not target.namespace:
        raise BadRequestError("The new name must be 'namespace/name'")
    with hub_of(request).db.write() as session:
        repo = session.get_one(Repo, page.repo.id)
        repos.move_repo(session, viewer_of(request).caller, repo, target)
        url = repo_url(repo)
    return f"{url}/settings?done=moved"


def _delete(request: Request, page: RepoPage, data: FormData) -> str:
    if _text(data, "confirm") != page.repo.full_id:
        raise BadRequestError(f"Type {page.repo.full_id} to confirm the deletion")
    hub = hub_of(request)
    with hub.db.write() as session:
        repo = session.get_one(Repo, page.repo.id)
        uid = repos.delete_repo(hub, session, viewer_of(request).caller, repo)
    hub.git.delete(uid)
    viewer = viewer_of(request)
    return f"/{viewer.user.name}" if viewer.user is not None else "/"


def _webhook(request: Request, page: RepoPage, data: FormData) -> str:
    """A webhook of the viewer's account watching this repo (webhooks belong to accounts)."""
    hub = hub_of(request)
    body: dict[str, Any] = {
        "url": _text(data, "url"),
        "watched": [{"type": page.repo.type, "name": page.repo.full_id}],
        "domains": [domain for domain in webhooks.DOMAINS if data.get(f"domain_{domain}") == "on"] or None,
        "secret": _text(data, "secret") or None,
    }
    spec = webhooks.parse_spec(body, creating=True)
    assert spec.url is not None
    webhooks.check_target(spec.url, hub.settings.webhook_allowed_targets)
    with hub.db.write() as session:
        owner = _viewer_account(request, session)
        webhooks.create(session, owner, spec)
    return _done(page, "webhook")


def _webhook_edit(request: Request, page: RepoPage, data: FormData) -> str:
    """Change a webhook's target, secret or events. The secret is write-only: an empty field keeps
    it (it is never shown back), "Remove the secret" clears it."""
    hub = hub_of(request)
    secret = "" if data.get("clear_secret") == "on" else (_text(data, "secret") or None)
    body: dict[str, Any] = {
        "url": _text(data, "url"),
        "domains": [domain for domain in webhooks.DOMAINS if data.get(f"domain_{domain}") == "on"],
        "secret": secret,
    }
    spec = webhooks.parse_spec(body, creating=False)
    assert spec.url is not None
    webhooks.check_target(spec.url, hub.settings.webhook_allowed_targets)
    with hub.db.write() as session:
        hook = webhooks.get(session, _viewer_account(request, session), _text(data, "webhook"))
        webhooks.update(hook, spec)
    return _done(page, "webhook")


def _webhook_delete(request: Request, page: RepoPage, data: FormData) -> str:
    with hub_of(request).db.write() as session:
        hook = webhooks.get(session, _viewer_account(request, session), _text(data, "webhook"))
        session.delete(hook)
    return _done(page, "webhook-deleted")


def _webhook_toggle(request: Request, page: RepoPage, data: FormData) -> str:
    with hub_of(request).db.write() as session:
        hook = webhooks.get(session, _viewer_account(request, session), _text(data, "webhook"))
        webhooks.set_disabled(hook, _text(data, "disabled") == "true")
    return _done(page, "webhook")


def _viewer_account(request: Request, session: Session) -> Account:
    viewer = viewer_of(request)
    assert viewer.user is not None
    return accounts.get_user(session, viewer.user.name)


ACTIONS = {
    "visibility": _visibility,
    "gating": _gating,
    "questions": _questions,
    "request": _request,
    "move": _move,
    "delete": _delete,
    "webhook": _webhook,
    "webhook-edit": _webhook_edit,
    "webhook-delete": _webhook_delete,
    "webhook-toggle": _webhook_toggle,
}

add_repo_route(router, "/settings", settings_page, ["GET"])
add_repo_route(router, "/settings/{section}", change_settings, ["POST"])
