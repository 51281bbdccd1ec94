"""Webhooks delivered for real: the Hub's settings API through huggingface_hub, events POSTed to a
receiver this test runs on 127.0.0.1 (allowed by DOCKYARD_WEBHOOK_ALLOWED_TARGETS on a dedicated
server), retries with the same body, the delivery log and replay, no leak of private repos, disable,
automatic disable, and the SSRF refusal of loopback and private targets under the default setting."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, WebhookPayload
from huggingface_hub.errors import HfHubHTTPError

from tests.support.accounts import Identities, create_identities
from tests.support.backends import Backend, free_port
from tests.support.git import GitClient, repo_url
from tests.support.server import LiveServer, start_server
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import Receiver, running_receiver

DISABLE_AFTER = 3
WAIT = 60.0


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def hooks_server(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[LiveServer]:
    extra = {
        "DOCKYARD_WEBHOOK_ALLOWED_TARGETS": "127.0.0.1/32",
        "DOCKYARD_WEBHOOK_DISABLE_AFTER": str(DISABLE_AFTER),
    }
    live = start_server(tmp_path_factory.mktemp("hooks"), free_port(), extra, backend=backend, processes=1)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def people(hooks_server: LiveServer) -> Identities:
    return create_identities(hooks_server.data_dir, hooks_server.env)


def _api(server: LiveServer, token: str) -> HfApi:
    return HfApi(endpoint=server.url, token=token)


def _path() -> str:
    return f"/hook-{uuid.uuid4().hex[:10]}"


def _events(receiver: Receiver, path: str, *names: str) -> list[dict[str, Any]]:
    return [r.body for r in receiver.at(path) if r.body["repo"]["name"] in names]


def _settings(server: LiveServer, token: str, suffix: str = "", method: str = "GET") -> httpx.Response:
    url = f"{server.url}/api/settings/webhooks{suffix}"
    return httpx.request(method, url, headers={"Authorization": f"Bearer {token}"})


def test_webhook_settings_with_the_real_client(
    hooks_server: LiveServer, people: Identities, receiver: Receiver
) -> None:
    api = _api(hooks_server, people.alice)
    url = receiver.url + _path()
    created = api.create_webhook(url=url, watched=[{"type": "user", "name": "alice"}], domains=["repo"], secret="s1")
    assert (created.url, created.domains, created.secret, created.disabled) == (url, ["repo"], "s1", False)
    assert [w.id for w in api.list_webhooks() if w.id == created.id] == [created.id]
    assert api.get_webhook(created.id) == created
    watched = [{"type": "model", "name": "alice/x"}, {"type": "org", "name": "acme"}]
    updated = api.update_webhook(created.id, url=url + "-2", watched=watched, domains=["repo", "discussion"])
    assert (updated.url, [w.name for w in updated.watched], updated.domains) == (
        url + "-2", ["alice/x", "acme"], ["repo", "discussion"]
    )  # fmt: skip
    assert updated.secret == "s1"
    assert api.disable_webhook(created.id).disabled is True
    assert api.enable_webhook(created.id).disabled is False
    assert created.id not in [w.id for w in _api(hooks_server, people.bob).list_webhooks()]
    with pytest.raises(HfHubHTTPError) as hidden:
        _api(hooks_server, people.bob).get_webhook(created.id)
    assert hidden.value.response.status_code == 404
    api.delete_webhook(created.id)
    with pytest.raises(HfHubHTTPError) as gone:
        api.get_webhook(created.id)
    assert gone.value.response.status_code == 404


def test_repo_events_carry_the_hub_payload_and_secret(
    hooks_server: LiveServer, people: Identities, receiver: Receiver
) -> None:
    api = _api(hooks_server, people.alice)
    path, name = _path(), f"alice/ev-{uuid.uuid4().hex[:8]}"
    moved = name + "-moved"
    hook = api.create_webhook(url=receiver.url + path, watched=[{"type": "user", "name": "alice"}], secret="s3cr3t")
    api.create_repo(name)
    commit = api.upload_file(path_or_fileobj=b"hello", path_in_repo="a.txt", repo_id=name)
    api.create_branch(name, branch="dev")
    api.create_tag(name, tag="v1")
    api.delete_branch(name, branch="dev")
    api.update_repo_settings(name, gated="auto")
    api.move_repo(name, moved)
    api.delete_repo(moved)
    assert wait_until(lambda: len(_events(receiver, path, name, moved)) >= 8, timeout=WAIT)
    events = _events(receiver, path, name, moved)
    assert [(e["event"]["action"], e["event"]["scope"]) for e in events] == [
        ("create", "repo"),
        ("update", "repo.content"),
        ("update", "repo.content"),
        ("update", "repo.content"),
        ("update", "repo.content"),
        ("update", "repo.config"),
        ("move", "repo"),
        ("delete", "repo"),
    ]
    for event in events:
        WebhookPayload.model_validate(event)  # the client's own model of the Hub's payload
        assert event["webhook"] == {"id": hook.id, "version": 3}
        assert event["repo"]["type"] == "model"
        assert event["repo"]["private"] is False
    assert events[1]["repo"]["headSha"] == commit.oid
    assert events[1]["updatedRefs"] == [{"ref": "refs/heads/main", "newSha": commit.oid}]
    assert events[2]["updatedRefs"] == [{"ref": "refs/heads/dev", "newSha": commit.oid}]
    assert events[3]["updatedRefs"][0]["ref"] == "refs/tags/v1"
    assert events[4]["updatedRefs"] == [{"ref": "refs/heads/dev", "newSha": None}]
    assert events[6]["movedTo"]["name"] == moved
    assert events[7]["repo"]["name"] == moved
    for received in receiver.at(path):
        assert received.headers["x-webhook-secret"] == "s3cr3t"
        assert received.headers["content-type"] == "application/json"


def test_discussion_events_reach_the_webhooks_of_the_repo(
    hooks_server: LiveServer, people: Identities, receiver: Receiver
) -> None:
    """Opening a discussion, commenting, and a pull request merged: each is a ``discussion`` or
    ``discussion.comment`` event in the Hub's shape, with the comment's text."""
    api = _api(hooks_server, people.alice)
    path, name = _path(), f"alice/talk-{uuid.uuid4().hex[:8]}"
    api.create_repo(name)
    api.create_webhook(url=receiver.url + path, watched=[{"type": "model", "name": name}], domains=["discussion"])
    discussion = api.create_discussion(name, title="Is this model safe?", description="Asking first.")
    api.comment_discussion(name, discussion.num, "Yes: safetensors only.")
    api.change_discussion_status(name, discussion.num, "closed")
    assert wait_until(lambda: len(_events(receiver, path, name)) >= 3, timeout=WAIT)
    events = _events(receiver, path, name)
    assert [(e["event"]["action"], e["event"]["scope"]) for e in events] == [
        ("create", "discussion"),
        ("create", "discussion.comment"),
        ("update", "discussion"),
    ]
    for event in events:
        WebhookPayload.model_validate(event)
        assert event["discussion"]["num"] == discussion.num
        assert event["discussion"]["title"] == "Is this model safe?"
    comments = [e["comment"]["content"] for e in events if e["event"]["scope"] == "discussion.comment"]
    assert "Yes: safetensors only." in comments
    assert events[-1]["discussion"]["status"] == "closed"


def test_git_pushes_are_events_with_their_refs(
    hooks_server: LiveServer, people: Identities, receiver: Receiver, tmp_path: Path
) -> None:
    api = _api(hooks_server, people.alice)
    path, name = _path(), f"alice/push-{uuid.uuid4().hex[:8]}"
    api.create_repo(name)
    api.create_webhook(url=receiver.url + path, watched=[{"type": "model", "name": name}])
    git, work = GitClient.create(tmp_path / "git-home"), tmp_path / "work"
    git.clone(repo_url(hooks_server.url, name, token=people.alice), work)
    (work / "a.txt").write_text("pushed\n")
    head = git.commit_all(work, "Pushed with git")
    git.run("push", "origin", "main", cwd=work)
    git.run("push", "origin", "HEAD:refs/heads/dev", cwd=work)
    git.run("push", "origin", ":dev", cwd=work)
    assert wait_until(lambda: len(receiver.at(path)) >= 3, timeout=WAIT)
    assert [r.body["updatedRefs"] for r in receiver.at(path)] == [
        [{"ref": "refs/heads/main", "newSha": head}],
        [{"ref": "refs/heads/dev", "newSha": head}],
        [{"ref": "refs/heads/dev", "newSha": None}],
    ]
    assert receiver.at(path)[0].body["repo"]["headSha"] == head


def test_a_failed_delivery_is_retried_with_the_same_event_logged_and_replayed(
    hooks_server: LiveServer, people: Identities, receiver: Receiver
) -> None:
    api = _api(hooks_server, people.alice)
    path, name = _path(), f"alice/retry-{uuid.uuid4().hex[:8]}"
    api.create_repo(name)
    receiver.statuses[path] = [500]
    hook = api.create_webhook(url=receiver.url + path, watched=[{"type": "model", "name": name}])
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=name)
    assert wait_until(lambda: len(receiver.at(path)) >= 2, timeout=30)  # the first retry within 30 s
    first, second = receiver.at(path)[:2]
    assert first.raw == second.raw

    def logged() -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = _settings(hooks_server, people.alice, f"/{hook.id}/deliveries").json()
        return answer

    assert wait_until(lambda: logged()[0]["status"] == "delivered", timeout=WAIT)
    [entry] = logged()
    assert (entry["attempts"], entry["responseCode"], entry["event"]) == (
        2, 200, {"action": "update", "scope": "repo.content"}
    )  # fmt: skip
    assert entry["lastAttemptAt"] is not None
    replayed = _settings(hooks_server, people.alice, f"/{hook.id}/deliveries/{entry['id']}/replay", "POST")
    assert replayed.status_code == 200, replayed.text
    assert wait_until(lambda: len(receiver.at(path)) >= 3, timeout=WAIT)
    assert receiver.at(path)[2].raw == first.raw
    assert _settings(hooks_server, people.bob, f"/{hook.id}/deliveries").status_code == 404


def test_private_repo_events_reach_only_owners_who_may_read_it(
    hooks_server: LiveServer, people: Identities, receiver: Receiver
) -> None:
    alice, bob = _api(hooks_server, people.alice), _api(hooks_server, people.bob)
    name = f"alice/secret-{uuid.uuid4().hex[:8]}"
    to_alice, to_bob = _path(), _path()
    alice.create_webhook(url=receiver.url + to_alice, watched=[{"type": "model", "name": name}])
    watched = [{"type": "user", "name": "alice"}, {"type": "model", "name": name}]
    bob.create_webhook(url=receiver.url + to_bob, watched=watched)
    alice.create_repo(name, private=True)
    alice.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=name)
    assert wait_until(lambda: len(receiver.at(to_alice)) >= 2, timeout=WAIT)
    assert all(name.encode() not in r.raw for r in receiver.at(to_bob))


def test_access_is_checked_again_when_delivering(
    hooks_server: LiveServer, people: Identities, receiver: Receiver
) -> None:
    """An event queued while the repo was public is not sent once it became private."""
    alice, bob = _api(hooks_server, people.alice), _api(hooks_server, people.bob)
    name, path = f"alice/turns-{uuid.uuid4().hex[:8]}", _path()
    alice.create_repo(name)
    hook = bob.create_webhook(url=receiver.url + path, watched=[{"type": "model", "name": name}])
    receiver.statuses[path] = [500]
    receiver.holds[path] = threading.Event()  # the first attempt waits until the repo is private
    alice.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=name)
    assert wait_until(lambda: len(receiver.at(path)) == 1, timeout=WAIT)
    alice.update_repo_settings(name, private=True)
    receiver.holds[path].set()

    def status() -> str:
        return str(_settings(hooks_server, people.bob, f"/{hook.id}/deliveries").json()[0]["status"])

    assert wait_until(lambda: status() == "skipped", timeout=WAIT)
    assert len(receiver.at(path)) == 1


def test_a_disabled_webhook_gets_nothing_until_enabled(
    hooks_server: LiveServer, people: Identities, receiver: Receiver
) -> None:
    api = _api(hooks_server, people.alice)
    name, off, on = f"alice/off-{uuid.uuid4().hex[:8]}", _path(), _path()
    api.create_repo(name)
    watched = [{"type": "model", "name": name}]
    hook = api.create_webhook(url=receiver.url + off, watched=watched)
    api.create_webhook(url=receiver.url + on, watched=watched)
    api.disable_webhook(hook.id)
    api.upload_file(path_or_fileobj=b"1", path_in_repo="x.txt", repo_id=name)
    assert wait_until(lambda: len(receiver.at(on)) >= 1, timeout=WAIT)
    assert receiver.at(off) == []
    api.enable_webhook(hook.id)
    api.upload_file(path_or_fileobj=b"2", path_in_repo="x.txt", repo_id=name)
    assert wait_until(lambda: len(receiver.at(off)) >= 1, timeout=WAIT)


def test_repeated_failures_disable_the_webhook_with_the_reason(
    hooks_server: LiveServer, people: Identities, receiver: Receiver
) -> None:
    api = _api(hooks_server, people.alice)
    name, path = f"alice/fail-{uuid.uuid4().hex[:8]}", _path()
    api.create_repo(name)
    receiver.statuses[path] = [500] * 20
    hook = api.create_webhook(url=receiver.url + path, watched=[{"type": "model", "name": name}])
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=name)
    assert wait_until(lambda: api.get_webhook(hook.id).disabled, timeout=WAIT)
    raw = _settings(hooks_server, people.alice, f"/{hook.id}").json()["webhook"]
    assert f"{DISABLE_AFTER} failed deliveries" in raw["disabledReason"]
    assert len(receiver.at(path)) == DISABLE_AFTER
    [entry] = _settings(hooks_server, people.alice, f"/{hook.id}/deliveries").json()
    assert (entry["status"], entry["responseCode"]) == ("failed", 500)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "ftp://example.org/hook",
    ],
)
def test_internal_targets_are_refused_by_default(server: LiveServer, ids: Identities, url: str) -> None:
    """The session server runs with the default DOCKYARD_WEBHOOK_ALLOWED_TARGETS (none)."""
    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(token=ids.alice).create_webhook(url=url, watched=[{"type": "user", "name": "alice"}])
    assert refused.value.response.status_code == 400
    assert not any(w.url == url for w in HfApi(token=ids.alice).list_webhooks())
