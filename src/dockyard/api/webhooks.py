"""Webhook settings (``/api/settings/webhooks``), as ``huggingface_hub``'s ``create_webhook``,
``list_webhooks``, ``get_webhook``, ``update_webhook``, ``enable_webhook``, ``disable_webhook``
and ``delete_webhook`` call them, plus the delivery log and its replay.

A webhook belongs to the account of the token that manages it. Reading needs a read or write
token of that account, changing it a write token; fine-grained tokens, whose scopes name repos
and namespaces rather than account settings, are refused.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from dockyard.accounts.models import Account
from dockyard.accounts.tokens import FINE_GRAINED, WRITE
from dockyard.api.deps import caller_of, hub_of
from dockyard.api.serialize import iso
from dockyard.errors import AuthenticationRequiredError, ForbiddenError
from dockyard.request_bodies import json_body
from dockyard.webhooks import service
from dockyard.webhooks.models import Webhook, WebhookDelivery

router = APIRouter()
BODY_LIMIT = 256 * 1024
BASE = "/api/settings/webhooks"


def _owner(request: Request, *, write: bool) -> Account:
    caller = caller_of(request)
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to manage webhooks")
    if caller.role == FINE_GRAINED:
        raise ForbiddenError("Fine-grained tokens cannot manage webhooks; use a read or write token")
    if write and caller.role != WRITE:
        raise ForbiddenError("This token has read access only: you cannot change webhooks")
    return caller.user


def render(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.public_id,
        "url": hook.url,
        "job": None,
        "watched": hook.watched,
        "domains": hook.domains,
        "secret": hook.secret,
        "disabled": hook.disabled,
        "disabledReason": hook.disabled_reason,
    }


def render_delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    """Status, times and response code; the body is left out (replay sends it again)."""
    return {
        "id": delivery.id,
        "event": delivery.event.get("event"),
        "status": delivery.status,
        "attempts": delivery.attempts,
        "responseCode": delivery.response_code,
        "error": delivery.error,
        "createdAt": iso(delivery.created_at),
        "lastAttemptAt": iso(delivery.last_attempt_at),
    }


@router.get(BASE)
def list_webhooks(request: Request) -> JSONResponse:
    owner = _owner(request, write=False)
    with hub_of(request).db.read() as session:
        return JSONResponse([render(hook) for hook in service.list_for(session, owner)])


@router.post(BASE)
async def create_webhook(request: Request) -> dict[str, Any]:
    body = await json_body(request, BODY_LIMIT)
    return await run_in_threadpool(_create, request, body)


def _create(request: Request, body: Any) -> dict[str, Any]:
    owner = _owner(request, write=True)
    hub = hub_of(request)
    spec = service.parse_spec(body, creating=True)
    assert spec.url is not None
    service.check_target(spec.url, hub.settings.webhook_allowed_targets)
    with hub.db.write() as session:
        return {"webhook": render(service.create(session, owner, spec))}


@router.get(BASE + "/{webhook_id}")
def get_webhook(request: Request, webhook_id: str) -> dict[str, Any]:
    owner = _owner(request, write=False)
    with hub_of(request).db.read() as session:
        return {"webhook": render(service.get(session, owner, webhook_id))}


@router.post(BASE + "/{webhook_id}")
async def update_webhook(request: Request, webhook_id: str) -> dict[str, Any]:
    body = await json_body(request, BODY_LIMIT)
    return await run_in_threadpool(_update, request, webhook_id, body)


def _update(request: Request, webhook_id: str, body: Any) -> dict[str, Any]:
    owner = _owner(request, write=True)
    hub = hub_of(request)
    spec = service.parse_spec(body, creating=False)
    with hub.db.write() as session:
        hook = service.get(session, owner, webhook_id)
        if spec.url is not None:
            service.check_target(spec.url, hub.settings.webhook_allowed_targets)
        service.update(hook, spec)
        return {"webhook": render(hook)}


@router.delete(BASE + "/{webhook_id}")
def delete_webhook(request: Request, webhook_id: str) -> dict[str, Any]:
    owner = _owner(request, write=True)
    with hub_of(request).db.write() as session:
        session.delete(service.get(session, owner, webhook_id))
    return {}


@router.post(BASE + "/{webhook_id}/enable")
def enable_webhook(request: Request, webhook_id: str) -> dict[str, Any]:
    return _set_disabled(request, webhook_id, False)


@router.post(BASE + "/{webhook_id}/disable")
def disable_webhook(request: Request, webhook_id: str) -> dict[str, Any]:
    return _set_disabled(request, webhook_id, True)


def _set_disabled(request: Request, webhook_id: str, disabled: bool) -> dict[str, Any]:
    owner = _owner(request, write=True)
    with hub_of(request).db.write() as session:
        hook = service.get(session, owner, webhook_id)
        service.set_disabled(hook, disabled)
        return {"webhook": render(hook)}


@router.get(BASE + "/{webhook_id}/deliveries")
def list_deliveries(request: Request, webhook_id: str) -> JSONResponse:
    """The newest deliveries first (at most ``service.LOG_LIMIT``)."""
    owner = _owner(request, write=False)
    with hub_of(request).db.read() as session:
        hook = service.get(session, owner, webhook_id)
        return JSONResponse([render_delivery(d) for d in service.deliveries(session, hook)])


@router.post(BASE + "/{webhook_id}/deliveries/{delivery_id}/replay")
def replay_delivery(request: Request, webhook_id: str, delivery_id: int) -> dict[str, Any]:
    owner = _owner(request, write=True)
    hub = hub_of(request)
    with hub.db.write() as session:
        hook = service.get(session, owner, webhook_id)
        answer = {"delivery": render_delivery(service.replay(session, hook, delivery_id))}
    hub.jobs_enqueued()
    return answer
