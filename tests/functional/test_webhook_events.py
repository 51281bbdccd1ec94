"""Which webhooks an event reaches, and the Hub's payload shape, for repo and discussion events
(``emit_discussion`` is the entry point the discussions domain calls)."""

from __future__ import annotations

from typing import Any

from huggingface_hub import WebhookPayload
from sqlalchemy import select

from dockyard.accounts import service as accounts
from dockyard.accounts.tokens import WRITE
from dockyard.auth.identity import Caller
from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.jobs.models import Job
from dockyard.repos import service
from dockyard.webhooks import events
from dockyard.webhooks.models import Webhook, WebhookDelivery
from dockyard.webhooks.service import WebhookSpec, create


def _hook(session: Any, owner: Any, domains: list[str]) -> Webhook:
    spec = WebhookSpec(
        url="http://hooks.example.org/in", watched=[{"type": "user", "name": "owner"}], domains=domains, secret=None
    )
    return create(session, owner, spec)


def _delivered(hub: Hub) -> dict[int, dict[str, Any]]:
    """Webhook id -> event of every queued delivery, after checking each has its job."""
    with hub.db.read() as session:
        deliveries = list(session.scalars(select(WebhookDelivery)))
        jobs = [j.payload["delivery_id"] for j in session.scalars(select(Job).where(Job.kind == events.DELIVER))]
    assert sorted(jobs) == sorted(d.id for d in deliveries)
    return {d.webhook_id: d.event for d in deliveries}


def test_discussion_events_reach_discussion_webhooks_of_readers_only(hub: Hub) -> None:
    with hub.db.write() as session:
        owner = accounts.create_user(session, "owner")
        outsider = accounts.create_user(session, "outsider")
        creator = Caller(user=owner, role=WRITE)
        public, private = (
            service.create_repo(
                hub, session, creator, repo_type=RepoType.MODEL, organization=None, name=name, private=name == "b"
            )
            for name in ("a", "b")
        )
        mine, theirs = _hook(session, owner, ["discussion"]), _hook(session, outsider, ["discussion"])
        repo_only = _hook(session, owner, ["repo"])
        discussion = {"num": 3, "title": "Fix", "status": "open", "is_pull_request": True, "author_id": owner.id}
        comment = {"id": "c1", "author_id": outsider.id, "content": "Looks good", "hidden": False}
        assert events.emit_discussion(session, public, discussion, "create", comment=comment) == 2
        assert events.emit_discussion(session, private, discussion, "update") == 1
        ids = (mine.id, theirs.id, repo_only.id)
    delivered = _delivered(hub)
    assert set(delivered) == {ids[0], ids[1]}
    event = delivered[ids[1]]
    WebhookPayload.model_validate(event)
    assert event["event"] == {"action": "create", "scope": "discussion.comment"}
    assert event["discussion"]["num"] == 3
    assert event["discussion"]["isPullRequest"] is True
    assert event["discussion"]["changes"]["base"] == "refs/heads/main"
    assert event["comment"]["content"] == "Looks good"
    assert event["repo"]["name"] == "owner/a"
    assert "owner/b" not in str(delivered[ids[1]])
