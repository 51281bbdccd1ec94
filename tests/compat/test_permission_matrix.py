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
from dataclasses import dataclass

import httpx
import pytest
from huggingface_hub import HfApi

from tests.support.accounts import Identities, issue_token
from tests.support.server import LiveServer

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
