"""Every route, every role, on a private organisation repo: the Hub's answer and zero leaks.

Roles: anonymous, an outsider, org members with read/write/admin roles, a read-only token, and
fine-grained tokens inside and outside their scopes. Routes cover the API, downloads, the LFS
batch API, Xet token endpoints and git smart HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from huggingface_hub import HfApi

from tests.support.accounts import Identities, create_identities, issue_token
from tests.support.backends import Backend, free_port
from tests.support.server import LiveServer, start_server
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import Receiver, running_receiver

SECRET = b"top secret weights: 0xdeadbeef"
OK, FORBIDDEN, HIDDEN = "ok", "forbidden", "hidden"


@dataclass(frozen=True)
class Route:
    name: str
    level: str  # read, write or admin
    method: str
    path: str
    body: object = None
    form: object = None


def _routes(repo: str, role: str) -> list[Route]:
    stamp = f"{role}-{uuid.uuid4().hex[:6]}"
    commit = b"\n".join(
        json.dumps(line).encode()
        for line in (
            {"key": "header", "value": {"summary": f"by {role}"}},
            {
                "key": "file",
                "value": {"path": f"{stamp}.txt", "content": base64.b64encode(b"x").decode(), "encoding": "base64"},
            },
        )
    )
    oid = hashlib.sha256(SECRET).hexdigest()
    lfs = {"objects": [{"oid": oid, "size": len(SECRET)}], "transfers": ["basic"]}
    batch = f"/{repo}.git/info/lfs/objects/batch"
    return [
        Route("info", "read", "GET", f"/api/models/{repo}"),
        Route("info at revision", "read", "GET", f"/api/models/{repo}/revision/main"),
        Route("tree", "read", "GET", f"/api/models/{repo}/tree/main"),
        Route("paths-info", "read", "POST", f"/api/models/{repo}/paths-info/main", form={"paths": "secret.bin"}),
        Route("refs", "read", "GET", f"/api/models/{repo}/refs"),
        Route("commits", "read", "GET", f"/api/models/{repo}/commits/main"),
        Route("compare", "read", "GET", f"/api/models/{repo}/compare/main"),
        Route("resolve HEAD", "read", "HEAD", f"/{repo}/resolve/main/secret.bin"),
        Route("resolve GET", "read", "GET", f"/{repo}/resolve/main/secret.bin"),
        Route("xet read token", "read", "GET", f"/api/models/{repo}/xet-read-token/main"),
        Route("lfs download", "read", "POST", batch, body={"operation": "download", **lfs}),
        Route("storage", "read", "GET", f"/api/models/{repo}/storage"),
        Route("auth-check", "read", "GET", f"/api/models/{repo}/auth-check"),
        Route("preupload", "write", "POST", f"/api/models/{repo}/preupload/main",
              body={"files": [{"path": "a.bin", "size": 1, "sample": ""}]}),
        Route("commit", "write", "POST", f"/api/models/{repo}/commit/main", body=commit),
        Route("branch", "write", "POST", f"/api/models/{repo}/branch/b-{stamp}", body={}),
        Route("tag", "write", "POST", f"/api/models/{repo}/tag/main", body={"tag": f"t-{stamp}"}),
        Route("xet write token", "write", "GET", f"/api/models/{repo}/xet-write-token/main"),
        Route("lfs upload", "write", "POST", batch, body={"operation": "upload", **lfs}),
        Route("auth-check write", "write", "GET", f"/api/models/{repo}/auth-check/write"),
        Route("access requests", "write", "GET", f"/api/models/{repo}/user-access-request/pending"),
        Route("settings", "admin", "PUT", f"/api/models/{repo}/settings", body={"private": True}),
        Route("git clone", "read", "GET", f"/{repo}.git/info/refs?service=git-upload-pack"),
        Route("git push", "write", "GET", f"/{repo}.git/info/refs?service=git-receive-pack"),
    ]  # fmt: skip


# What each role may do on the private repo: levels it can use; None = it cannot even see it.
ROLES: dict[str, tuple[str, ...] | None] = {
    "anonymous": None,
    "outsider": None,
    "org read member": ("read",),
    "org write member": ("read", "write"),
    "org admin": ("read", "write", "admin"),
    "read token": ("read",),
    "fine-grained repo read": ("read",),
    "fine-grained repo write": ("read", "write", "admin"),
    "fine-grained org read": ("read",),
    "fine-grained other repo": None,
}


@pytest.fixture(scope="module")
def private_repo(ids: Identities) -> str:
    api = HfApi(token=ids.alice)
    repo = f"acme/pm-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=SECRET, path_in_repo="secret.bin", repo_id=repo)
    return repo


@pytest.fixture(scope="module")
def tokens(server: LiveServer, ids: Identities, private_repo: str) -> dict[str, str | None]:
    def fine(scope: str) -> str:
        return issue_token(server.data_dir, server.env, "alice", "fineGrained", [scope])

    return {
        "anonymous": None,
        "outsider": ids.bob,
        "org read member": ids.carol,
        "org write member": ids.dave,
        "org admin": ids.alice,
        "read token": ids.alice_read,
        "fine-grained repo read": fine(f"model:{private_repo}:read"),
        "fine-grained repo write": fine(f"model:{private_repo}:write"),
        "fine-grained org read": fine("org:acme:read"),
        "fine-grained other repo": fine("model:acme/something-else:write"),
    }


def _call(server: LiveServer, route: Route, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, object] = {}
    if isinstance(route.body, bytes):
        kwargs["content"] = route.body
        headers["Content-Type"] = "application/x-ndjson"
    elif route.body is not None:
        kwargs["json"] = route.body
    if route.form is not None:
        kwargs["data"] = route.form
    return httpx.request(route.method, f"{server.url}{route.path}", headers=headers, **kwargs)  # type: ignore[arg-type]


def _outcome(response: httpx.Response) -> str:
    if response.status_code < 300:
        return OK
    code = response.headers.get("x-error-code")
    if response.status_code in (401, 404) and code in ("RepoNotFound", None):
        return HIDDEN
    if response.status_code == 403:
        return FORBIDDEN
    return f"unexpected {response.status_code} {code}: {response.text[:200]}"


@pytest.mark.parametrize("role", list(ROLES))
def test_permission_matrix(server: LiveServer, private_repo: str, tokens: dict[str, str | None], role: str) -> None:
    allowed = ROLES[role]
    sha = HfApi(token=tokens["org admin"]).model_info(private_repo).sha
    mismatches = []
    for route in _routes(private_repo, role.replace(" ", "-")):
        response = _call(server, route, tokens[role])
        expected = HIDDEN if allowed is None else (OK if route.level in allowed else FORBIDDEN)
        if _outcome(response) != expected:
            mismatches.append(f"{route.name}: expected {expected}, got {_outcome(response)}")
        if expected != OK:
            assert SECRET not in response.content, f"{route.name} leaked content to {role}"
            assert sha is None or sha.encode() not in response.content, f"{route.name} leaked the sha to {role}"
    assert mismatches == []


@pytest.mark.parametrize("role", list(ROLES))
def test_listings_show_private_repos_only_to_readers(
    server: LiveServer, private_repo: str, tokens: dict[str, str | None], role: str
) -> None:
    headers = {"Authorization": f"Bearer {tokens[role]}"} if tokens[role] else {}
    listed = httpx.get(
        f"{server.url}/api/models", params={"search": private_repo.split("/")[1]}, headers=headers
    ).json()
    assert ([item["id"] for item in listed] == [private_repo]) == (ROLES[role] is not None)


# -- a gated repo: seeing its metadata versus downloading its content, and linking its content --------
GATED, REFUSED = "gated", "refused"
WEIGHTS = b"gated weights: " + uuid.uuid4().bytes * 8


@dataclass(frozen=True)
class GatedRole:
    downloads: bool  # may read the files (member, or an accepted request) through a covering token
    proposes: bool  # its token may write to the gated repo (open a pull request)
    sink: str | None  # a namespace its token may create and write repos in


# Every role sees the (public) gated repo's metadata; only some may download or link its content.
GATED_ROLES: dict[str, GatedRole] = {
    "anonymous": GatedRole(downloads=False, proposes=False, sink=None),
    "outsider": GatedRole(downloads=False, proposes=True, sink="bob"),
    "granted outsider": GatedRole(downloads=True, proposes=True, sink="erin"),
    "org read member": GatedRole(downloads=True, proposes=True, sink="carol"),
    "org write member": GatedRole(downloads=True, proposes=True, sink="dave"),
    "org admin": GatedRole(downloads=True, proposes=True, sink="alice"),
    "read token": GatedRole(downloads=True, proposes=False, sink=None),
    "fine-grained repo read": GatedRole(downloads=True, proposes=False, sink="alice"),
    "fine-grained org read": GatedRole(downloads=True, proposes=False, sink="alice"),
    "fine-grained other repo": GatedRole(downloads=False, proposes=False, sink="alice"),
}


@pytest.fixture(scope="module")
def gated_repo(ids: Identities) -> str:
    api = HfApi(token=ids.alice)
    repo = f"acme/gm-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=WEIGHTS, path_in_repo="weights.bin", repo_id=repo)
    api.upload_file(path_or_fileobj=b"v2 " + WEIGHTS, path_in_repo="notes.txt", repo_id=repo)
    api.update_repo_settings(repo, gated="manual")
    return repo


@pytest.fixture(scope="module")
def gated_tokens(server: LiveServer, ids: Identities, gated_repo: str) -> dict[str, str | None]:
    server.cli("user", "create", "erin", check=False)  # may exist when the module runs twice
    erin = issue_token(server.data_dir, server.env, "erin", "write")
    granted = httpx.post(
        f"{server.url}/api/models/{gated_repo}/user-access-request/grant",
        json={"user": "erin"},
        headers={"Authorization": f"Bearer {ids.alice}"},
    )
    assert granted.status_code == 200, granted.text

    def fine(*scopes: str) -> str:
        return issue_token(server.data_dir, server.env, "alice", "fineGrained", [*scopes, "user:alice:write"])

    return {
        "anonymous": None,
        "outsider": ids.bob,
        "granted outsider": erin,
        "org read member": ids.carol,
        "org write member": ids.dave,
        "org admin": ids.alice,
        "read token": ids.alice_read,
        "fine-grained repo read": fine(f"model:{gated_repo}:read"),
        "fine-grained org read": fine("org:acme:read"),
        "fine-grained other repo": fine("model:acme/something-else:write"),
    }


def _gated_routes(repo: str) -> list[Route]:
    oid = hashlib.sha256(WEIGHTS).hexdigest()
    lfs = {"objects": [{"oid": oid, "size": len(WEIGHTS)}], "transfers": ["basic"]}
    return [
        Route("info", "see", "GET", f"/api/models/{repo}"),
        Route("tree", "see", "GET", f"/api/models/{repo}/tree/main"),
        Route("paths-info", "see", "POST", f"/api/models/{repo}/paths-info/main", form={"paths": "weights.bin"}),
        Route("refs", "see", "GET", f"/api/models/{repo}/refs"),
        Route("commits", "see", "GET", f"/api/models/{repo}/commits/main"),
        Route("auth-check", "see", "GET", f"/api/models/{repo}/auth-check"),
        Route("resolve HEAD", "download", "HEAD", f"/{repo}/resolve/main/notes.txt"),
        Route("resolve GET", "download", "GET", f"/{repo}/resolve/main/weights.bin"),
        Route("raw diff", "download", "GET", f"/api/models/{repo}/compare/main"),
        Route("xet read token", "download", "GET", f"/api/models/{repo}/xet-read-token/main"),
        Route("lfs download", "download", "POST", f"/{repo}.git/info/lfs/objects/batch",
              body={"operation": "download", **lfs}),
        Route("git clone", "download", "GET", f"/{repo}.git/info/refs?service=git-upload-pack"),
    ]  # fmt: skip


def _gated_outcome(response: httpx.Response) -> str:
    if response.status_code < 300:
        return OK
    if response.status_code in (401, 403) and response.headers.get("x-error-code") in ("GatedRepo", None):
        return GATED
    return f"unexpected {response.status_code} {response.headers.get('x-error-code')}: {response.text[:200]}"


@pytest.mark.parametrize("role", list(GATED_ROLES))
def test_gated_repo_metadata_versus_download(
    server: LiveServer, gated_repo: str, gated_tokens: dict[str, str | None], role: str
) -> None:
    mismatches = []
    for route in _gated_routes(gated_repo):
        response = _call(server, route, gated_tokens[role])
        if route.name == "lfs download" and response.status_code == 200:
            response = _lfs_download_outcome(response)
        expected = OK if route.level == "see" or GATED_ROLES[role].downloads else GATED
        if _gated_outcome(response) != expected:
            mismatches.append(f"{route.name}: expected {expected}, got {_gated_outcome(response)}")
        if expected != OK:
            assert WEIGHTS not in response.content, f"{route.name} leaked content to {role}"
            assert "accessToken" not in response.text, f"{route.name} handed {role} a token"
    assert mismatches == []


def _lfs_download_outcome(response: httpx.Response) -> httpx.Response:
    """A batch answer is 200 either way: it is a download only if it holds a download action."""
    ok = "actions" in response.json()["objects"][0]
    return response if ok else httpx.Response(403, json={"message": "no action"}, request=response.request)


def _sink_repo(server: LiveServer, token: str | None, namespace: str | None) -> str:
    """A repo the role may write to (created with its own token), or alice's for roles with none."""
    repo = f"{namespace or 'alice'}/sink-{uuid.uuid4().hex[:8]}"
    if token is not None and namespace is not None:
        HfApi(token=token).create_repo(repo)
    return repo


@pytest.mark.parametrize("role", list(GATED_ROLES))
def test_gated_content_links_only_for_those_who_may_download_it(
    server: LiveServer, ids: Identities, gated_repo: str, gated_tokens: dict[str, str | None], role: str
) -> None:
    """Every route that links stored content to a repo applies the same rule: the caller may
    download a repo that holds it. Seeing the gated repo's oids in its tree is not enough.
    Each role gets its own gated file: content one role rightly copied elsewhere is no test."""
    token, spec = gated_tokens[role], GATED_ROLES[role]
    content = WEIGHTS + uuid.uuid4().bytes
    HfApi(token=ids.alice).upload_file(
        path_or_fileobj=content, path_in_repo=f"{uuid.uuid4().hex}.bin", repo_id=gated_repo
    )
    sink = _sink_repo(server, token, spec.sink)
    oid, size = hashlib.sha256(content).hexdigest(), len(content)
    links = spec.downloads and spec.sink is not None
    pointer = b"\n".join(
        json.dumps(line).encode()
        for line in (
            {"key": "header", "value": {"summary": f"reuse as {role}"}},
            {"key": "lfsFile", "value": {"path": "reused.bin", "algo": "sha256", "oid": oid, "size": size}},
        )
    )
    upload = {"operation": "upload", "objects": [{"oid": oid, "size": size}], "transfers": ["basic"]}
    routes = [
        (Route("duplicate", "link", "POST", f"/api/models/{gated_repo}/duplicate",
               body={"repository": f"{sink.split('/')[0]}/copy-{uuid.uuid4().hex[:8]}"}), links),
        (Route("lfsFile pointer", "link", "POST", f"/api/models/{sink}/commit/main", body=pointer), links),
        (Route("xet write token for a PR", "link", "GET",
               f"/api/models/{gated_repo}/xet-write-token/None?create_pr=1"), spec.downloads and spec.proposes),
    ]  # fmt: skip
    mismatches = []
    for route, expected in routes:
        response = _call(server, route, token)
        assert response.status_code < 500, f"{route.name}: {response.status_code} {response.text[:200]}"
        if (response.status_code < 300) != expected:
            mismatches.append(f"{route.name}: expected {'ok' if expected else 'refused'}, got {response.status_code}")
        if not expected:
            assert "accessToken" not in response.text, f"{route.name} handed {role} a token"
    planned = _call(
        server, Route("lfs upload", "link", "POST", f"/{sink}.git/info/lfs/objects/batch", body=upload), token
    )
    if planned.status_code == 200:
        obj = planned.json()["objects"][0]
        linked = "actions" not in obj
        if not linked:  # verifying without uploading must not link the gated bytes either
            verified = httpx.post(obj["actions"]["verify"]["href"], json={"oid": oid, "size": size})
            linked = verified.status_code == 200
        if linked != links:
            mismatches.append(f"lfs batch upload + verify: expected {'linked' if links else 'refused'}")
    elif links:
        mismatches.append(f"lfs batch upload: expected linked, got {planned.status_code}")
    assert mismatches == []


# == webhooks (issue 10): /api/settings/webhooks, every role and token kind ==========================
# A webhook belongs to an account, not a repo: only its owner's read or write token sees it (a read
# token may not change it); other accounts get 404 (their own list, and creating their own, work);
# anonymous callers 401; fine-grained tokens, scoped to repos and namespaces, 403. Runs on its own
# server that may deliver to a receiver on 127.0.0.1 (the session server refuses loopback targets).
WEBHOOK_ROLES: dict[str, str] = {
    "anonymous": "anonymous",
    "outsider": "other",
    "org read member": "other",
    "org write member": "other",
    "org admin": "owner",
    "read token": "owner read",
    "fine-grained repo read": "fine-grained",
    "fine-grained repo write": "fine-grained",
    "fine-grained org read": "fine-grained",
    "fine-grained other repo": "fine-grained",
}
HOOK_SECRET = "matrix-hook-secret-" + uuid.uuid4().hex


@dataclass(frozen=True)
class WebhookWorld:
    server: LiveServer
    receiver: Receiver
    hook_id: str
    delivery_id: int
    tokens: dict[str, str | None]


@pytest.fixture(scope="module")
def webhook_world(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[WebhookWorld]:
    extra = {"DOCKYARD_WEBHOOK_ALLOWED_TARGETS": "127.0.0.1/32"}
    live = start_server(tmp_path_factory.mktemp("pm-hooks"), free_port(), extra, backend=backend, processes=1)
    try:
        with running_receiver() as receiver:
            yield _webhook_world(live, receiver)
    finally:
        live.stop()


def _webhook_world(live: LiveServer, receiver: Receiver) -> WebhookWorld:
    people = create_identities(live.data_dir, live.env)
    api = HfApi(endpoint=live.url, token=people.alice)
    repo = f"acme/hooked-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo, private=True)
    hook = api.create_webhook(url=receiver.url + "/pm", watched=[{"type": "model", "name": repo}], secret=HOOK_SECRET)
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo)
    headers = {"Authorization": f"Bearer {people.alice}"}

    def deliveries() -> list[dict[str, object]]:
        found: list[dict[str, object]] = httpx.get(
            f"{live.url}/api/settings/webhooks/{hook.id}/deliveries", headers=headers
        ).json()
        return found

    assert wait_until(lambda: bool(deliveries()), timeout=30)

    def fine(scope: str) -> str:
        return issue_token(live.data_dir, live.env, "alice", "fineGrained", [scope])

    tokens: dict[str, str | None] = {
        "anonymous": None,
        "outsider": people.bob,
        "org read member": people.carol,
        "org write member": people.dave,
        "org admin": people.alice,
        "read token": people.alice_read,
        "fine-grained repo read": fine(f"model:{repo}:read"),
        "fine-grained repo write": fine(f"model:{repo}:write"),
        "fine-grained org read": fine("org:acme:read"),
        "fine-grained other repo": fine("model:acme/something-else:write"),
    }
    return WebhookWorld(live, receiver, hook.id, int(str(deliveries()[0]["id"])), tokens)


def _webhook_routes(world: WebhookWorld, throwaway: str) -> list[Route]:
    base, url = f"/api/settings/webhooks/{world.hook_id}", world.receiver.url + "/pm"
    body = {"url": url, "watched": [{"type": "user", "name": "alice"}], "domains": ["repo"]}
    return [
        Route("list webhooks", "read", "GET", "/api/settings/webhooks"),
        Route("get webhook", "read", "GET", base),
        Route("delivery log", "read", "GET", f"{base}/deliveries"),
        Route("create webhook", "write", "POST", "/api/settings/webhooks", body=body),
        Route("update webhook", "write", "POST", base, body={**body, "watched": [{"type": "org", "name": "acme"}]}),
        Route("disable webhook", "write", "POST", f"{base}/disable"),
        Route("enable webhook", "write", "POST", f"{base}/enable"),
        Route("replay delivery", "write", "POST", f"{base}/deliveries/{world.delivery_id}/replay"),
        Route("delete webhook", "write", "DELETE", f"/api/settings/webhooks/{throwaway}"),
    ]


def _webhook_expected(kind: str, route: Route) -> str:
    if kind == "anonymous":
        return HIDDEN
    if kind == "fine-grained":
        return FORBIDDEN
    if kind == "owner read":
        return OK if route.level == "read" else FORBIDDEN
    if kind == "other":
        return OK if route.name in ("list webhooks", "create webhook") else HIDDEN
    return OK


@pytest.mark.parametrize("role", list(WEBHOOK_ROLES))
def test_webhook_permission_matrix(webhook_world: WebhookWorld, role: str) -> None:
    owner = HfApi(endpoint=webhook_world.server.url, token=webhook_world.tokens["org admin"])
    throwaway = owner.create_webhook(
        url=webhook_world.receiver.url + "/pm-throwaway", watched=[{"type": "user", "name": "nobody"}]
    ).id
    kind, mismatches = WEBHOOK_ROLES[role], []
    for route in _webhook_routes(webhook_world, throwaway):
        response = _call(webhook_world.server, route, webhook_world.tokens[role])
        expected = _webhook_expected(kind, route)
        if _outcome(response) != expected:
            mismatches.append(f"{route.name}: expected {expected}, got {_outcome(response)}")
        if kind not in ("owner", "owner read"):
            assert HOOK_SECRET not in response.text, f"{route.name} leaked the webhook to {role}"
            assert webhook_world.hook_id not in response.text, f"{route.name} leaked the webhook to {role}"
    assert mismatches == []
