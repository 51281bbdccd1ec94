"""Webhook settings of one account: create, read, update, enable/disable, delete, and the
delivery log (with replay). Targets are checked when saved too, so an obvious mistake is a 400
at once; the check that protects is the one at delivery time (see :mod:`targets`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.errors import BadRequestError, NotFoundError
from dockyard.jobs.queue import enqueue
from dockyard.webhooks.events import DELIVER
from dockyard.webhooks.models import PENDING, Webhook, WebhookDelivery
from dockyard.webhooks.targets import AllowedTargets, Resolver, resolve_target, system_resolver

WATCH_TYPES = ("user", "org", "model", "dataset", "space")
DOMAINS = ("repo", "discussion")
MAX_WATCHED = 100
MAX_NAME = 200
MAX_SECRET = 512
MAX_WEBHOOKS = 100
LOG_LIMIT = 100


class WebhookNotFoundError(NotFoundError):
    default_message = "Webhook not found"


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """A validated create or update body; None fields are left unchanged by an update."""

    url: str | None
    watched: list[dict[str, str]] | None
    domains: list[str] | None
    secret: str | None


def parse_spec(body: Any, *, creating: bool) -> WebhookSpec:
    if not isinstance(body, dict):
        raise BadRequestError("Body must be a JSON object")
    if "jobSourceId" in body:
        raise BadRequestError("Webhooks that trigger Jobs are not supported by this hub")
    url = body.get("url")
    if (url is None and creating) or (url is not None and not isinstance(url, str)):
        raise BadRequestError("Missing argument for webhook: `url`")
    watched = _watched(body["watched"]) if "watched" in body else None
    if creating and not watched:
        raise BadRequestError("A webhook must watch at least one user, org or repo")
    domains = _domains(body["domains"]) if body.get("domains") is not None else None
    secret = body.get("secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) > MAX_SECRET):
        raise BadRequestError(f"secret must be a string of at most {MAX_SECRET} characters")
    return WebhookSpec(
        url=url, watched=watched, domains=domains or (list(DOMAINS) if creating else None), secret=secret
    )


def _watched(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or len(value) > MAX_WATCHED:
        raise BadRequestError(f"watched must be a list of at most {MAX_WATCHED} items")
    items = []
    for item in value:
        if not isinstance(item, dict) or item.get("type") not in WATCH_TYPES:
            raise BadRequestError(f"Each watched item needs a type among {', '.join(WATCH_TYPES)}")
        name = item.get("name")
        if not isinstance(name, str) or not name or len(name) > MAX_NAME:
            raise BadRequestError("Each watched item needs a name")
        items.append({"type": str(item["type"]), "name": name})
    return items


def _domains(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or any(domain not in DOMAINS for domain in value):
        raise BadRequestError(f"domains must be a non-empty list among {', '.join(DOMAINS)}")
    return [str(domain) for domain in dict.fromkeys(value)]


def check_target(url: str, allowed: str, resolver: Resolver = system_resolver) -> None:
    resolve_target(url, AllowedTargets.parse(allowed), resolver)


def create(session: Session, owner: Account, spec: WebhookSpec) -> Webhook:
    count = len(list(session.scalars(select(Webhook.id).where(Webhook.owner_id == owner.id))))
    if count >= MAX_WEBHOOKS:
        raise BadRequestError(f"An account may have at most {MAX_WEBHOOKS} webhooks")
    assert spec.url is not None
    assert spec.watched is not None
    assert spec.domains is not None
    hook = Webhook(
        public_id=secrets.token_hex(12),
        owner_id=owner.id,
        url=spec.url,
        secret=spec.secret,
        watched=spec.watched,
        domains=spec.domains,
        disabled=False,
        failures=0,
    )
    session.add(hook)
    session.flush()
    return hook


def get(session: Session, owner: Account, public_id: str) -> Webhook:
    """The owner's webhook; someone else's is as missing as an unknown one."""
    hook = session.scalar(select(Webhook).where(Webhook.public_id == public_id, Webhook.owner_id == owner.id))
    if hook is None:
        raise WebhookNotFoundError()
    return hook


def list_for(session: Session, owner: Account) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.owner_id == owner.id).order_by(Webhook.id)))


def update(hook: Webhook, spec: WebhookSpec) -> None:
    if spec.url is not None:
        hook.url = spec.url
    if spec.watched is not None:
        hook.watched = spec.watched
    if spec.domains is not None:
        hook.domains = spec.domains
    if spec.secret is not None:
        hook.secret = spec.secret or None


def set_disabled(hook: Webhook, disabled: bool) -> None:
    """Enabling also forgets past failures and the reason of an automatic disable."""
    hook.disabled = disabled
    if not disabled:
        hook.failures = 0
        hook.disabled_reason = None


def deliveries(session: Session, hook: Webhook) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(LOG_LIMIT)))


def replay(session: Session, hook: Webhook, delivery_id: int) -> WebhookDelivery:
    """Send a logged event again, as a new delivery with the very same body."""
    original = session.get(WebhookDelivery, delivery_id)
    if original is None or original.webhook_id != hook.id:
        raise NotFoundError("Delivery not found")
    copy = WebhookDelivery(webhook_id=hook.id, repo_id=original.repo_id, event=original.event, status=PENDING)
    session.add(copy)
    session.flush()
    enqueue(session, DELIVER, {"delivery_id": copy.id})
    return copy
