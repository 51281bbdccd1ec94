"""Deliver one queued event: POST it to the webhook's checked target and log the outcome.

A failed attempt raises, so the job queue retries it with its backoff (2 s, 4 s, 8 s, ...);
after ``MAX_ATTEMPTS`` the delivery is marked failed. Every failed attempt counts against the
webhook, which is disabled (with the reason recorded) after ``webhook_disable_after`` failures
in a row. Nothing is sent when the webhook was disabled meanwhile or its owner may no longer
read the repo: access is evaluated now, not when the event was queued.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from dockyard.db.base import utcnow
from dockyard.hub import Hub
from dockyard.repos.models import Repo
from dockyard.webhooks.events import owner_may_read
from dockyard.webhooks.models import DELIVERED, FAILED, PENDING, SKIPPED, Webhook, WebhookDelivery
from dockyard.webhooks.targets import AllowedTargets, TargetRefusedError, resolve_target

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
TIMEOUT = httpx.Timeout(10.0)
USER_AGENT = "Dockyard-Webhooks/1.0"


class DeliveryFailedError(Exception):
    """Raised by the job body so that the queue retries the delivery."""


@dataclass(frozen=True, slots=True)
class Attempt:
    url: str
    secret: str | None
    event: dict[str, Any]
    number: int


@dataclass(frozen=True, slots=True)
class Outcome:
    code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def deliver(hub: Hub, delivery_id: int) -> None:
    """The body of the ``webhooks.deliver`` job."""
    attempt = _start(hub, delivery_id)
    if attempt is None:
        return
    outcome = post(hub, attempt)
    if not _finish(hub, delivery_id, attempt, outcome):
        raise DeliveryFailedError(f"delivery {delivery_id} attempt {attempt.number}: {outcome.error}")


def _start(hub: Hub, delivery_id: int) -> Attempt | None:
    """Count the attempt, or settle a delivery that must not be sent; None: nothing to send."""
    with hub.db.write() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != PENDING:
            return None
        hook = session.get(Webhook, delivery.webhook_id)
        if hook is None:
            return None
        repo = session.get(Repo, delivery.repo_id) if delivery.repo_id is not None else None
        if hook.disabled or (repo is not None and not owner_may_read(session, hook, repo)):
            delivery.status = SKIPPED
            delivery.error = "webhook disabled" if hook.disabled else "the owner may not read this repo"
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = utcnow()
        return Attempt(url=hook.url, secret=hook.secret, event=dict(delivery.event), number=delivery.attempts)


def post(hub: Hub, attempt: Attempt) -> Outcome:
    """One POST to the address the target resolves to now, never following redirects."""
    try:
        target = resolve_target(attempt.url, AllowedTargets.parse(hub.settings.webhook_allowed_targets))
    except TargetRefusedError as exc:
        return Outcome(code=None, error=exc.message)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Host": target.host_header()}
    if attempt.secret:
        headers["X-Webhook-Secret"] = attempt.secret
    body = json.dumps(attempt.event, separators=(",", ":"), sort_keys=True).encode()
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client,
            client.stream("POST", target.connect_url(), content=body, headers=headers, extensions=extensions) as answer,
        ):
            code = answer.status_code  # the response body is never read: a target cannot flood us
    except httpx.HTTPError as exc:
        return Outcome(code=None, error=f"{type(exc).__name__}: {exc}"[:500])
    return Outcome(code=code, error=None if 200 <= code < 300 else f"the target answered {code}")


def _finish(hub: Hub, delivery_id: int, attempt: Attempt, outcome: Outcome) -> bool:
    """Log the outcome; returns False when the delivery must be retried."""
    with hub.db.write() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        hook = session.get(Webhook, delivery.webhook_id) if delivery is not None else None
        if delivery is None or hook is None:
            return True
        delivery.response_code = outcome.code
        delivery.error = outcome.error
        if outcome.ok:
            delivery.status = DELIVERED
            hook.failures = 0
            return True
        hook.failures += 1
        if hook.failures >= hub.settings.webhook_disable_after and not hook.disabled:
            hook.disabled = True
            hook.disabled_reason = f"Disabled after {hook.failures} failed deliveries in a row; last: {outcome.error}"
            log.warning("webhook %s disabled: %s", hook.public_id, hook.disabled_reason)
        if attempt.number >= MAX_ATTEMPTS or hook.disabled:
            delivery.status = FAILED
            return True
        return False
