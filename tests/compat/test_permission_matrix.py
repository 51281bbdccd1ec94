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
        *_lfs_files_routes(repo),
    ]  # fmt: skip


# -- issue 10 (lfsops): a repo's large files as objects ------------------------------------------------
def _lfs_files_routes(repo: str) -> list[Route]:
    """Listing needs write, deleting for good admin (an oid the repo does not hold: nothing to
    rewrite), duplicating download on the source and write on the target (here the same repo)."""
    oid = hashlib.sha256(SECRET).hexdigest()
    absent = hashlib.sha256(b"never uploaded").hexdigest()
    duplicate = {"target": {"type": "model", "name": repo}, "files": [{"sha256": oid, "filename": "secret.bin"}]}
    return [
        Route("lfs-files", "write", "GET", f"/api/models/{repo}/lfs-files"),
        Route("lfs-files delete", "admin", "POST", f"/api/models/{repo}/lfs-files/batch",
              body={"deletions": {"sha": [absent], "rewriteHistory": True}}),
        Route("lfs-files duplicate", "write", "POST", f"/api/models/{repo}/lfs-files/duplicate", body=duplicate),
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


def _private_org_repo(ids: Identities, prefix: str, repo_type: str = "model") -> str:
    api = HfApi(token=ids.alice)
    repo = f"acme/{prefix}-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo, repo_type=repo_type, private=True)
    api.upload_file(path_or_fileobj=SECRET, path_in_repo="secret.bin", repo_id=repo, repo_type=repo_type)
    return repo


def _role_tokens(server: LiveServer, ids: Identities, repo_type: str, repo: str) -> dict[str, str | None]:
    """One token per role of ``ROLES``, fine-grained scopes naming ``repo`` of ``repo_type``."""

    def fine(scope: str) -> str:
        return issue_token(server.data_dir, server.env, "alice", "fineGrained", [scope])

    return {
        "anonymous": None,
        "outsider": ids.bob,
        "org read member": ids.carol,
        "org write member": ids.dave,
        "org admin": ids.alice,
        "read token": ids.alice_read,
        "fine-grained repo read": fine(f"{repo_type}:{repo}:read"),
        "fine-grained repo write": fine(f"{repo_type}:{repo}:write"),
        "fine-grained org read": fine("org:acme:read"),
        "fine-grained other repo": fine(f"{repo_type}:acme/something-else:write"),
    }


@pytest.fixture(scope="module")
def private_repo(ids: Identities) -> str:
    return _private_org_repo(ids, "pm")


@pytest.fixture(scope="module")
def tokens(server: LiveServer, ids: Identities, private_repo: str) -> dict[str, str | None]:
    return _role_tokens(server, ids, "model", private_repo)


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


def _expected(allowed: tuple[str, ...] | None, level: str) -> str:
    """What a role with ``allowed`` levels (None: it cannot see the resource) gets at ``level``."""
    return HIDDEN if allowed is None else (OK if level in allowed else FORBIDDEN)


def _mismatch(route: Route, response: httpx.Response, expected: str) -> list[str]:
    got = _outcome(response)
    return [] if got == expected else [f"{route.name}: expected {expected}, got {got}"]


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
        expected = _expected(allowed, route.level)
        mismatches += _mismatch(route, response, expected)
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
        Route("auth-check", "download", "GET", f"/api/models/{repo}/auth-check"),  # read = the files, as the Hub
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
        (_lfs_files_duplicate_route(gated_repo, sink, oid), links),
    ]  # fmt: skip
    mismatches = []
    for route, expected in routes:
        response = _call(server, route, token)
        assert response.status_code < 500, f"{route.name}: {response.status_code} {response.text[:200]}"
        if route.name == "lfs-files duplicate" and response.status_code < 300 and response.json()["failed"]:
            response = httpx.Response(403, request=response.request)  # every file refused: nothing linked
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


# -- a private kernel repo: the fourth repo type goes through the same access rules ----------------
# (issue 10, kernels) Representative routes of every surface under the ``kernels`` prefixes, with
# fine-grained scopes that name the kernel type: a ``model:`` scope of the same name covers nothing.
def _kernel_routes(repo: str, role: str) -> list[Route]:
    stamp = f"{role}-{uuid.uuid4().hex[:6]}"
    oid = hashlib.sha256(SECRET).hexdigest()
    lfs = {"objects": [{"oid": oid, "size": len(SECRET)}], "transfers": ["basic"]}
    batch = f"/kernels/{repo}.git/info/lfs/objects/batch"
    return [
        Route("info", "read", "GET", f"/api/kernels/{repo}"),
        Route("info at revision", "read", "GET", f"/api/kernels/{repo}/revision/main"),
        Route("tree", "read", "GET", f"/api/kernels/{repo}/tree/main"),
        Route("commits", "read", "GET", f"/api/kernels/{repo}/commits/main"),
        Route("resolve GET", "read", "GET", f"/kernels/{repo}/resolve/main/secret.bin"),
        Route("xet read token", "read", "GET", f"/api/kernels/{repo}/xet-read-token/main"),
        Route("lfs download", "read", "POST", batch, body={"operation": "download", **lfs}),
        Route("branch", "write", "POST", f"/api/kernels/{repo}/branch/b-{stamp}", body={}),
        Route("xet write token", "write", "GET", f"/api/kernels/{repo}/xet-write-token/main"),
        Route("settings", "admin", "PUT", f"/api/kernels/{repo}/settings", body={"private": True}),
        Route("git clone", "read", "GET", f"/kernels/{repo}.git/info/refs?service=git-upload-pack"),
        Route("git push", "write", "GET", f"/kernels/{repo}.git/info/refs?service=git-receive-pack"),
    ]  # fmt: skip


KERNEL_ROLES: dict[str, tuple[str, ...] | None] = {
    **ROLES,
    "fine-grained model scope of the same name": None,
}


@pytest.fixture(scope="module")
def private_kernel(ids: Identities) -> str:
    return _private_org_repo(ids, "pk", "kernel")


@pytest.fixture(scope="module")
def kernel_tokens(server: LiveServer, ids: Identities, private_kernel: str) -> dict[str, str | None]:
    same_name = issue_token(server.data_dir, server.env, "alice", "fineGrained", [f"model:{private_kernel}:write"])
    return {
        **_role_tokens(server, ids, "kernel", private_kernel),
        "fine-grained model scope of the same name": same_name,
    }


@pytest.mark.parametrize("role", list(KERNEL_ROLES))
def test_kernel_permission_matrix(
    server: LiveServer, private_kernel: str, kernel_tokens: dict[str, str | None], role: str
) -> None:
    allowed = KERNEL_ROLES[role]
    sha = HfApi(token=kernel_tokens["org admin"]).kernel_info(private_kernel).sha
    mismatches = []
    for route in _kernel_routes(private_kernel, role.replace(" ", "-")):
        response = _call(server, route, kernel_tokens[role])
        expected = _expected(allowed, route.level)
        mismatches += _mismatch(route, response, expected)
        if expected != OK:
            assert SECRET not in response.content, f"{route.name} leaked content to {role}"
            assert sha is None or sha.encode() not in response.content, f"{route.name} leaked the sha to {role}"
    assert mismatches == []
    headers = {"Authorization": f"Bearer {kernel_tokens[role]}"} if kernel_tokens[role] else {}
    listed = httpx.get(f"{server.url}/api/kernels", params={"search": private_kernel.split("/")[1]}, headers=headers)
    assert ([item["id"] for item in listed.json()] == [private_kernel]) == (allowed is not None)


# -- collections: a private collection of the organisation ------------------------------------------
# Collections belong to a namespace, so only tokens covering the namespace count: a fine-grained
# token scoped to one repo sees nothing of the org's private collections. Levels: "read" sees the
# collection, "write" edits it; None: the collection is hidden (404, or 401 for anonymous callers).
COLLECTION_ROLES: dict[str, tuple[str, ...] | None] = {
    "anonymous": None,
    "outsider": None,
    "org read member": ("read",),
    "org write member": ("read", "write"),
    "org admin": ("read", "write"),
    "read token": ("read",),
    "fine-grained repo read": None,
    "fine-grained repo write": None,
    "fine-grained org read": ("read",),
    "fine-grained other repo": None,
}
COLLECTION_TITLE = "Confidential shortlist"


def _collection_routes(slug: str, item: str, public_repo: str) -> list[Route]:
    """In an order that leaves each route something to act on (a role that may edit deletes last)."""
    return [
        Route("get collection", "read", "GET", f"/api/collections/{slug}"),
        Route("update collection", "write", "PATCH", f"/api/collections/{slug}", body={"description": "edited"}),
        Route("add item", "write", "POST", f"/api/collections/{slug}/items",
              body={"item": {"id": public_repo, "type": "model"}}),
        Route("update item", "write", "PATCH", f"/api/collections/{slug}/items/{item}", body={"position": 1}),
        Route("delete item", "write", "DELETE", f"/api/collections/{slug}/items/{item}"),
        Route("delete collection", "write", "DELETE", f"/api/collections/{slug}"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def public_repo(ids: Identities) -> str:
    repo = f"acme/pc-{uuid.uuid4().hex[:8]}"
    HfApi(token=ids.alice).create_repo(repo)
    return repo


@pytest.mark.parametrize("role", list(COLLECTION_ROLES))
def test_collection_permission_matrix(
    ids: Identities, tokens: dict[str, str | None], private_repo: str, public_repo: str, role: str, server: LiveServer
) -> None:
    owner = HfApi(token=ids.alice)
    collection = owner.create_collection(f"{COLLECTION_TITLE} {uuid.uuid4().hex[:6]}", namespace="acme", private=True)
    item = owner.add_collection_item(collection.slug, private_repo, "model").items[0].item_object_id
    allowed = COLLECTION_ROLES[role]
    mismatches = []
    for route in _collection_routes(collection.slug, item, public_repo):
        response = _call(server, route, tokens[role])
        expected = _expected(allowed, route.level)
        mismatches += _mismatch(route, response, expected)
        if expected != OK:
            assert COLLECTION_TITLE.encode() not in response.content, f"{route.name} leaked the title to {role}"
    assert mismatches == []


@pytest.mark.parametrize("role", list(COLLECTION_ROLES))
def test_collection_listing_and_creation_by_role(
    ids: Identities, tokens: dict[str, str | None], private_repo: str, role: str, server: LiveServer
) -> None:
    """The listing shows the private collection only to those who may see it, and an item that
    points at the private repo only to those who may see the repo; creating in the org is for
    those who may edit."""
    owner = HfApi(token=ids.alice)
    private = owner.create_collection(f"{COLLECTION_TITLE} {uuid.uuid4().hex[:6]}", namespace="acme", private=True)
    public = owner.create_collection(f"Public shortlist {uuid.uuid4().hex[:6]}", namespace="acme")
    owner.add_collection_item(public.slug, private_repo, "model")
    listed = _call(server, Route("list", "read", "GET", "/api/collections?owner=acme&limit=1000"), tokens[role])
    assert listed.status_code == 200
    slugs = [c["slug"] for c in listed.json()]
    assert (private.slug in slugs) == (COLLECTION_ROLES[role] is not None)
    shown = _call(server, Route("get public", "read", "GET", f"/api/collections/{public.slug}"), tokens[role])
    assert (private_repo in shown.text) == (ROLES[role] is not None)

    create = Route(
        "create",
        "write",
        "POST",
        "/api/collections",
        body={"title": f"By {role} {uuid.uuid4().hex[:6]}", "namespace": "acme"},
    )
    created = _call(server, create, tokens[role])
    may_edit = "write" in (COLLECTION_ROLES[role] or ())
    expected = 200 if may_edit else (401 if tokens[role] is None else 403)
    assert created.status_code == expected, created.text


# -- discussions and pull requests (issue 10) --------------------------------------------------------
# Reading follows the repo. Taking part (opening, commenting) needs an account that sees the repo
# through a token that may write; renaming, status, hiding and merging need a writer (the seeded
# thread is alice's, and her writing tokens are writers too); editing a comment belongs to its author.
TAKE_PART = {"org read member", "org write member", "org admin", "fine-grained repo write"}
MODERATE = {"org write member", "org admin", "fine-grained repo write"}
COMMENT_AUTHOR = {"org admin", "fine-grained repo write"}  # alice's tokens that may write


def _discussion_routes(repo: str, alice: str) -> list[tuple[Route, set[str] | None]]:
    """Routes on a fresh thread and draft PR of alice's (None: every role that sees the repo)."""
    api = HfApi(token=alice)
    thread = api.create_discussion(repo, "seeded", description="first")
    pull = api.create_pull_request(repo, "to merge").num
    base, num, comment = f"/api/models/{repo}/discussions", thread.num, thread.events[0].id
    return [
        (Route("discussions list", "read", "GET", f"{base}?type=all&status=open"), None),
        (Route("discussion details", "read", "GET", f"{base}/{num}?diff=1"), None),
        (Route("discussion create", "take part", "POST", base, body={"title": "t", "description": "d"}), TAKE_PART),
        (Route("discussion comment", "take part", "POST", f"{base}/{num}/comment", body={"comment": "c"}),
         TAKE_PART),
        (Route("discussion title", "author", "POST", f"{base}/{num}/title", body={"title": "t2"}), MODERATE),
        (Route("discussion status", "author", "POST", f"{base}/{num}/status", body={"status": "open"}), MODERATE),
        (Route("comment edit", "comment author", "POST", f"{base}/{num}/comment/{comment}/edit",
               body={"content": "edited"}), COMMENT_AUTHOR),
        (Route("comment hide", "write", "POST", f"{base}/{num}/comment/{comment}/hide"), MODERATE),
        (Route("pull request merge", "write", "POST", f"{base}/{pull}/merge"), MODERATE),
    ]  # fmt: skip


@pytest.mark.parametrize("role", list(ROLES))
def test_discussion_permission_matrix(
    server: LiveServer, private_repo: str, tokens: dict[str, str | None], role: str
) -> None:
    mismatches = []
    for route, allowed in _discussion_routes(private_repo, str(tokens["org admin"])):
        response = _call(server, route, tokens[role])
        may = ROLES[role] is not None and (allowed is None or role in allowed)
        expected = OK if may else (HIDDEN if ROLES[role] is None else FORBIDDEN)
        if _outcome(response) != expected:
            mismatches.append(f"{route.name}: expected {expected}, got {_outcome(response)}")
        if expected == HIDDEN:
            assert b"seeded" not in response.content, f"{route.name} leaked a discussion to {role}"
    assert mismatches == []


@pytest.mark.parametrize("role", list(GATED_ROLES))
def test_gated_repo_discussions_need_the_download_right(
    server: LiveServer, gated_repo: str, gated_tokens: dict[str, str | None], role: str
) -> None:
    """On a gated repo everyone sees the threads, but only those granted access take part: the
    others get the Hub's GatedRepo (401 anonymous, 403 signed in), read-only tokens a plain 403."""
    thread = HfApi(token=gated_tokens["org admin"]).create_pull_request(gated_repo, "gated pull request")
    base = f"/api/models/{gated_repo}/discussions"
    routes = [
        Route("discussions list", "see", "GET", base),
        Route("discussion details", "see", "GET", f"{base}/{thread.num}?diff=1"),
        Route("discussion create", "take part", "POST", base, body={"title": "t", "description": "d"}),
        Route("discussion comment", "take part", "POST", f"{base}/{thread.num}/comment", body={"comment": "c"}),
    ]
    grant = GATED_ROLES[role]
    mismatches = []
    for route in routes:
        response = _call(server, route, gated_tokens[role])
        if route.level == "see" or (grant.downloads and grant.proposes):
            expected = OK
        else:
            expected = FORBIDDEN if grant.downloads else GATED
        got = (
            FORBIDDEN
            if response.status_code == 403 and response.headers.get("x-error-code") != "GatedRepo"
            else (_gated_outcome(response))
        )
        if got != expected:
            mismatches.append(f"{route.name}: expected {expected}, got {got}")
        if route.name == "discussion details":
            diff = response.json()["diff"]
            assert (diff is None) == (not grant.downloads), f"{role} without a grant got the diff, or a grant none"
    assert mismatches == []


# -- issue 10 (lfsops): lfs-files/duplicate links gated content only for those who may download it ----
def _lfs_files_duplicate_route(gated_repo: str, sink: str, oid: str) -> Route:
    body = {"target": {"type": "model", "name": sink}, "files": [{"sha256": oid, "filename": "reused.bin"}]}
    return Route("lfs-files duplicate", "link", "POST", f"/api/models/{gated_repo}/lfs-files/duplicate", body=body)


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


# -- issue 12 (buckets-core): a private organisation bucket ---------------------------------------------
# The bucket routes go through the repo rules (buckets/access.py); fine-grained scopes name the
# ``bucket`` type. Moving needs admin on the bucket *and* create rights in the target namespace, which
# a token scoped to the bucket alone does not carry. Deleting comes last; the bucket is recreated.
BUCKET_ROLES: dict[str, tuple[str, ...] | None] = {
    **{role: levels for role, levels in ROLES.items() if role != "org admin"},
    "org admin": ("read", "write", "admin", "move"),
}
BUCKET_SECRET_PATH = "secret-checkpoint.bin"


def _bucket_routes(bucket: str) -> list[Route]:
    return [
        Route("bucket info", "read", "GET", f"/api/buckets/{bucket}"),
        Route("bucket tree", "read", "GET", f"/api/buckets/{bucket}/tree"),
        Route("bucket tree children", "read", "GET", f"/api/buckets/{bucket}/tree?recursive=false"),
        Route("bucket tree prefix", "read", "GET", f"/api/buckets/{bucket}/tree/{BUCKET_SECRET_PATH}"),
        Route("bucket paths-info", "read", "POST", f"/api/buckets/{bucket}/paths-info",
              body={"paths": [BUCKET_SECRET_PATH]}),
        Route("page: bucket", "read", "GET", f"/buckets/{bucket}"),
        Route("page: bucket folder", "read", "GET", f"/buckets/{bucket}/tree/some-folder"),
        Route("bucket settings", "admin", "PUT", f"/api/buckets/{bucket}/settings", body={"private": True}),
        Route("bucket move", "move", "POST", "/api/repos/move",
              body={"fromRepo": bucket, "toRepo": bucket, "type": "bucket"}),
        Route("bucket delete", "admin", "DELETE", f"/api/buckets/{bucket}"),
    ]  # fmt: skip


def _make_private_bucket(server: LiveServer, ids: Identities, bucket: str) -> None:
    from tests.support.buckets import File, add_files

    HfApi(token=ids.alice).create_bucket(bucket, private=True)
    add_files(server, bucket, [File(BUCKET_SECRET_PATH)])


@pytest.fixture(scope="module")
def private_bucket(server: LiveServer, ids: Identities) -> str:
    bucket = f"acme/pb-{uuid.uuid4().hex[:8]}"
    _make_private_bucket(server, ids, bucket)
    return bucket


@pytest.fixture(scope="module")
def bucket_tokens(server: LiveServer, ids: Identities, private_bucket: str) -> dict[str, str | None]:
    return _role_tokens(server, ids, "bucket", private_bucket)


@pytest.mark.parametrize("role", list(BUCKET_ROLES))
def test_bucket_permission_matrix(
    server: LiveServer, ids: Identities, private_bucket: str, bucket_tokens: dict[str, str | None], role: str
) -> None:
    allowed, mismatches = BUCKET_ROLES[role], []
    for route in _bucket_routes(private_bucket):
        response = _call(server, route, bucket_tokens[role])
        expected = _expected(allowed, route.level)
        mismatches += _mismatch(route, response, expected)
        if expected != OK:
            assert BUCKET_SECRET_PATH not in response.text, f"{route.name} leaked a file name to {role}"
    gone = httpx.get(f"{server.url}/api/buckets/{private_bucket}", headers={"Authorization": f"Bearer {ids.alice}"})
    if gone.status_code == 404:  # this role could delete it: put it back for the next role
        _make_private_bucket(server, ids, private_bucket)
    assert mismatches == []


@pytest.mark.parametrize("role", list(BUCKET_ROLES))
def test_bucket_listing_shows_private_buckets_only_to_readers(
    server: LiveServer, private_bucket: str, bucket_tokens: dict[str, str | None], role: str
) -> None:
    headers = {"Authorization": f"Bearer {bucket_tokens[role]}"} if bucket_tokens[role] else {}
    search = private_bucket.split("/")[1]
    listed = httpx.get(f"{server.url}/api/buckets/acme", params={"search": search}, headers=headers).json()
    assert ([item["id"] for item in listed] == [private_bucket]) == (BUCKET_ROLES[role] is not None)


# -- issue 11 (web): the pages of the private repo, for every role and token kind ----------------------
def _page_routes(repo: str) -> list[Route]:
    """Pages answer a token as the API does (a browser extension or a script may send one); what a
    page shows is what the same role may read through the API."""
    return [
        Route("page: repo", "read", "GET", f"/{repo}"),
        Route("page: tree", "read", "GET", f"/{repo}/tree/main"),
        Route("page: blob", "read", "GET", f"/{repo}/blob/main/secret.bin"),
        Route("page: commits", "read", "GET", f"/{repo}/commits/main"),
        Route("page: discussions", "read", "GET", f"/{repo}/discussions"),
        Route("page: upload", "propose", "GET", f"/{repo}/upload/main"),
        Route("page: new file", "propose", "GET", f"/{repo}/new/main"),
        Route("page: settings", "admin", "GET", f"/{repo}/settings"),
    ]


# Upload and new-file pages commit or open a pull request: any reader whose credential may write
# somewhere (a write token) gets them; read-only tokens are refused.
READ_ONLY_TOKENS = {"read token", "fine-grained repo read", "fine-grained org read"}


@pytest.mark.parametrize("role", list(ROLES))
def test_page_permission_matrix(
    server: LiveServer, private_repo: str, tokens: dict[str, str | None], role: str
) -> None:
    levels = ROLES[role]
    allowed = None if levels is None else (*levels, *(() if role in READ_ONLY_TOKENS else ("propose",)))
    mismatches = []
    for route in _page_routes(private_repo):
        response = _call(server, route, tokens[role])
        expected = _expected(allowed, route.level)
        mismatches += _mismatch(route, response, expected)
        if expected == HIDDEN:
            assert private_repo.split("/")[1].encode() not in response.content, f"{route.name} named the repo to {role}"
    assert mismatches == []


# -- issue 12 (bucket-xet): a private organisation bucket's content ----------------------------------
# Xet tokens scoped to the bucket, the NDJSON batch and /buckets/{id}/resolve. The file is uploaded
# through Xet by the real client, so the resolve GET streams real bytes; reading them is downloading.
BUCKET_XET_SECRET = b"bucket secret weights: 0xfeedface"


def _bucket_xet_routes(bucket: str) -> list[Route]:
    batch = json.dumps({"type": "deleteFile", "path": f"absent-{uuid.uuid4().hex[:6]}.bin"}).encode() + b"\n"
    return [
        Route("bucket xet read token", "read", "GET", f"/api/buckets/{bucket}/xet-read-token"),
        Route("bucket resolve HEAD", "read", "HEAD", f"/buckets/{bucket}/resolve/{BUCKET_SECRET_PATH}"),
        Route("bucket resolve GET", "read", "GET", f"/buckets/{bucket}/resolve/{BUCKET_SECRET_PATH}"),
        Route("bucket xet write token", "write", "GET", f"/api/buckets/{bucket}/xet-write-token"),
        Route("bucket batch", "write", "POST", f"/api/buckets/{bucket}/batch", body=batch),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def private_xet_bucket(ids: Identities) -> str:
    bucket = f"acme/px-{uuid.uuid4().hex[:8]}"
    api = HfApi(token=ids.alice)
    api.create_bucket(bucket, private=True)
    api.batch_bucket_files(bucket, add=[(BUCKET_XET_SECRET, BUCKET_SECRET_PATH)])
    return bucket


@pytest.fixture(scope="module")
def bucket_xet_tokens(server: LiveServer, ids: Identities, private_xet_bucket: str) -> dict[str, str | None]:
    return _role_tokens(server, ids, "bucket", private_xet_bucket)


@pytest.mark.parametrize("role", list(BUCKET_ROLES))
def test_bucket_xet_permission_matrix(
    server: LiveServer, private_xet_bucket: str, bucket_xet_tokens: dict[str, str | None], role: str
) -> None:
    allowed, mismatches = BUCKET_ROLES[role], []
    for route in _bucket_xet_routes(private_xet_bucket):
        response = _call(server, route, bucket_xet_tokens[role])
        expected = _expected(allowed, route.level)
        mismatches += _mismatch(route, response, expected)
        if route.name == "bucket resolve GET" and expected == OK:
            assert response.content == BUCKET_XET_SECRET
        if expected != OK:
            assert BUCKET_XET_SECRET not in response.content, f"{route.name} leaked the content to {role}"
            assert "accessToken" not in response.text, f"{route.name} handed a CAS token to {role}"
            assert "x-xet-hash" not in response.headers, f"{route.name} leaked the Xet hash to {role}"
    assert mismatches == []


# -- issue 12 (bucket-ops): the live-follow feed, bucket usage and namespace quotas ----------------------
# The feed and the usage report return file names and sizes: the bucket's download right. The feed is
# a stream that lasts minutes, so only its status is read. Quotas are hub-administrator routes: anonymous
# callers are asked to authenticate (401), everyone else is refused (403), including a hub admin's
# fine-grained token; a hub admin's read token may read a quota but not change it.
def _bucket_ops_routes(bucket: str) -> list[Route]:
    return [
        Route("bucket events", "read", "GET", f"/api/buckets/{bucket}/events"),
        Route("bucket storage", "read", "GET", f"/api/buckets/{bucket}/storage"),
    ]


def _status_only(server: LiveServer, route: Route, token: str | None) -> httpx.Response:
    """The answer's status and headers (an error body is read; a stream is closed unread)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.stream(route.method, f"{server.url}{route.path}", headers=headers, timeout=20.0) as response:
        if response.status_code >= 300:
            response.read()
        return response


@pytest.mark.parametrize("role", list(ROLES))
def test_bucket_ops_permission_matrix(
    server: LiveServer, private_bucket: str, bucket_tokens: dict[str, str | None], role: str
) -> None:
    allowed, mismatches = ROLES[role], []
    for route in _bucket_ops_routes(private_bucket):
        response = _status_only(server, route, bucket_tokens[role])
        expected = _expected(allowed, route.level)
        mismatches += _mismatch(route, response, expected)
        if expected != OK:
            assert BUCKET_SECRET_PATH not in response.text, f"{route.name} leaked a file name to {role}"
    assert mismatches == []


QUOTA_ROLES: dict[str, tuple[str, ...] | None] = {  # None: asked to authenticate
    **{role: () for role in ROLES},
    "anonymous": None,
    "hub admin": ("read", "write"),
    "hub admin read token": ("read",),
    "hub admin fine-grained": (),
}


@pytest.fixture(scope="module")
def quota_tokens(server: LiveServer, bucket_tokens: dict[str, str | None]) -> dict[str, str | None]:
    root = f"root-q{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", root, "--admin")
    return {
        **bucket_tokens,
        "hub admin": issue_token(server.data_dir, server.env, root, "write"),
        "hub admin read token": issue_token(server.data_dir, server.env, root, "read"),
        "hub admin fine-grained": issue_token(server.data_dir, server.env, root, "fineGrained", ["org:acme:write"]),
    }


@pytest.mark.parametrize("role", list(QUOTA_ROLES))
def test_quota_admin_permission_matrix(server: LiveServer, quota_tokens: dict[str, str | None], role: str) -> None:
    from tests.support.buckets import create_org

    target = f"q-{uuid.uuid4().hex[:8]}"
    create_org(server, target, owner="alice")
    routes = [
        Route("quota read", "read", "GET", f"/api/admin/quotas/{target}"),
        Route("quota set", "write", "PUT", f"/api/admin/quotas/{target}", body={"maxBytes": 10**12}),
        Route("quota clear", "write", "DELETE", f"/api/admin/quotas/{target}"),
    ]
    allowed, mismatches = QUOTA_ROLES[role], []
    for route in routes:
        response = _call(server, route, quota_tokens[role])
        expected = _expected(allowed, route.level)
        mismatches += _mismatch(route, response, expected)
    assert mismatches == []
    admin = {"Authorization": f"Bearer {quota_tokens['hub admin']}"}
    shown = httpx.get(f"{server.url}/api/admin/quotas/{target}", headers=admin).json()
    assert shown["maxBytes"] is None  # set and cleared by the admin, never set by anyone else


# -- issue 13 (viewer-convert): the Parquet export of a dataset --------------------------------------
# The listing and its file URLs hand out the dataset's bytes: they need the DOWNLOAD right. Private
# datasets answer 404 (401 anonymous) to those who cannot see them; a gated dataset's export is
# refused (GatedRepo) to those without access, as its files are. A file URL's 302 counts as ok.
VIEWER_CSV = b"text,label\nclassified row,1\nanother row,0\n"


def _parquet_routes(repo: str) -> list[Route]:
    base = f"/api/datasets/{repo}/parquet"
    return [
        Route("parquet list", "read", "GET", base),
        Route("parquet config", "read", "GET", f"{base}/default"),
        Route("parquet split", "read", "GET", f"{base}/default/train"),
        Route("parquet file", "read", "GET", f"{base}/default/train/0.parquet"),
    ]


def _converted_dataset(ids: Identities, server: LiveServer, *, private: bool, gated: bool) -> str:
    api = HfApi(token=ids.alice)
    repo = f"acme/pq-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo, repo_type="dataset", private=private)
    api.upload_file(path_or_fileobj=VIEWER_CSV, path_in_repo="data/train.csv", repo_id=repo, repo_type="dataset")
    if gated:
        api.update_repo_settings(repo, repo_type="dataset", gated="manual")
    listing = f"{server.url}/api/datasets/{repo}/parquet"
    headers = {"Authorization": f"Bearer {ids.alice}"}

    def converted() -> bool:
        response = httpx.get(listing, headers=headers)
        return response.status_code == 200 and "default" in response.json()

    assert wait_until(converted, timeout=120, poll=0.5)
    return repo


def _followed(response: httpx.Response) -> httpx.Response:
    """A redirect to the file is the route's success."""
    if response.status_code == 302:
        return httpx.Response(200, request=response.request)
    return response


@pytest.fixture(scope="module")
def private_dataset(ids: Identities, server: LiveServer) -> str:
    return _converted_dataset(ids, server, private=True, gated=False)


@pytest.fixture(scope="module")
def dataset_tokens(server: LiveServer, ids: Identities, private_dataset: str) -> dict[str, str | None]:
    return _role_tokens(server, ids, "dataset", private_dataset)


@pytest.mark.parametrize("role", list(ROLES))
def test_parquet_export_permission_matrix(
    server: LiveServer, private_dataset: str, dataset_tokens: dict[str, str | None], role: str
) -> None:
    allowed, mismatches = ROLES[role], []
    for route in _parquet_routes(private_dataset):
        response = _followed(_call(server, route, dataset_tokens[role]))
        expected = _expected(allowed, route.level)
        mismatches += _mismatch(route, response, expected)
        if expected != OK:
            assert b"default/train" not in response.content, f"{route.name} leaked the export to {role}"
    assert mismatches == []


@pytest.fixture(scope="module")
def gated_dataset(ids: Identities, server: LiveServer) -> str:
    return _converted_dataset(ids, server, private=False, gated=True)


@pytest.mark.parametrize("role", list(GATED_ROLES))
def test_gated_parquet_export_needs_access(
    server: LiveServer, ids: Identities, gated_dataset: str, gated_tokens: dict[str, str | None], role: str
) -> None:
    token = gated_tokens[role]
    if role == "granted outsider":  # granted on the gated model of this module; grant this dataset too
        granted = httpx.post(
            f"{server.url}/api/datasets/{gated_dataset}/user-access-request/grant",
            json={"user": "erin"},
            headers={"Authorization": f"Bearer {ids.alice}"},
        )
        assert granted.status_code == 200, granted.text
    if role.startswith("fine-grained") and role != "fine-grained other repo":
        scope = "org:acme:read" if "org" in role else f"dataset:{gated_dataset}:read"
        token = issue_token(server.data_dir, server.env, "alice", "fineGrained", [scope])
    mismatches = []
    for route in _parquet_routes(gated_dataset):
        response = _followed(_call(server, route, token))
        expected = OK if GATED_ROLES[role].downloads else GATED
        if _gated_outcome(response) != expected:
            mismatches.append(f"{route.name}: expected {expected}, got {_gated_outcome(response)}")
        if expected != OK:
            assert b"default/train" not in response.content, f"{route.name} leaked the export to {role}"
    assert mismatches == []


# -- issue 13 (viewer-api): the dataset viewer API, on a private and on a gated dataset --------------
VIEWER_API_CSV = b"text,label\nsecret viewer row,1\nanother row,0\n"
VIEWER_PATHS = (
    "is-valid", "splits", "first-rows", "rows", "search", "filter", "parquet", "info", "size", "statistics",
    "croissant",
)  # fmt: skip


def _viewer_routes(dataset: str) -> list[Route]:
    """Every viewer route reads the dataset's content, so every one needs the DOWNLOAD right."""
    split = f"dataset={dataset}&config=default&split=train"
    extra = {"search": "&query=secret", "filter": "&where=label=1", "rows": "&offset=0&length=10"}
    return [
        Route(f"viewer {name}", "read", "GET", f"/api/viewer/{name}?{split}{extra.get(name, '')}")
        for name in VIEWER_PATHS
    ]


def _viewer_outcome(response: httpx.Response) -> str:
    """A reader gets the viewer's own answer (200, or the viewer's ResponseNotReady and step
    errors while the steps run); everyone else the Hub's repo answers."""
    code = response.headers.get("x-error-code")
    if response.status_code in (401, 404) and code in ("RepoNotFound", None):
        return HIDDEN
    if response.status_code in (401, 403) and code == "GatedRepo":
        return GATED
    if response.status_code == 403:
        return FORBIDDEN
    return OK


@pytest.fixture(scope="module")
def viewer_private_dataset(ids: Identities) -> str:
    api = HfApi(token=ids.alice)
    repo = f"acme/pv-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo, repo_type="dataset", private=True)
    api.upload_file(path_or_fileobj=VIEWER_API_CSV, path_in_repo="data.csv", repo_id=repo, repo_type="dataset")
    return repo


@pytest.fixture(scope="module")
def viewer_dataset_tokens(server: LiveServer, ids: Identities, viewer_private_dataset: str) -> dict[str, str | None]:
    return _role_tokens(server, ids, "dataset", viewer_private_dataset)


@pytest.mark.parametrize("role", list(ROLES))
def test_viewer_permission_matrix(
    server: LiveServer, viewer_private_dataset: str, viewer_dataset_tokens: dict[str, str | None], role: str
) -> None:
    allowed, mismatches = ROLES[role], []
    for route in _viewer_routes(viewer_private_dataset):
        response = _call(server, route, viewer_dataset_tokens[role])
        expected = HIDDEN if allowed is None else OK
        if _viewer_outcome(response) != expected:
            mismatches.append(f"{route.name}: expected {expected}, got {response.status_code} {response.text[:200]}")
        if expected != OK:
            assert b"secret viewer row" not in response.content, f"{route.name} leaked a row to {role}"
            assert viewer_private_dataset.split("/")[1] not in response.text, (
                f"{route.name} named the dataset to {role}"
            )
    assert mismatches == []


@pytest.fixture(scope="module")
def viewer_gated_dataset(server: LiveServer, ids: Identities) -> tuple[str, dict[str, str | None]]:
    api = HfApi(token=ids.alice)
    repo = f"acme/gv-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo, repo_type="dataset")
    api.upload_file(path_or_fileobj=VIEWER_API_CSV, path_in_repo="data.csv", repo_id=repo, repo_type="dataset")
    api.update_repo_settings(repo, gated="manual", repo_type="dataset")
    server.cli("user", "create", "erin", check=False)
    erin = issue_token(server.data_dir, server.env, "erin", "write")
    granted = httpx.post(
        f"{server.url}/api/datasets/{repo}/user-access-request/grant",
        json={"user": "erin"},
        headers={"Authorization": f"Bearer {ids.alice}"},
    )
    assert granted.status_code == 200, granted.text

    def fine(*scopes: str) -> str:
        return issue_token(server.data_dir, server.env, "alice", "fineGrained", [*scopes, "user:alice:write"])

    tokens = {
        "anonymous": None,
        "outsider": ids.bob,
        "granted outsider": erin,
        "org read member": ids.carol,
        "org write member": ids.dave,
        "org admin": ids.alice,
        "read token": ids.alice_read,
        "fine-grained repo read": fine(f"dataset:{repo}:read"),
        "fine-grained org read": fine("org:acme:read"),
        "fine-grained other repo": fine("dataset:acme/something-else:write"),
    }
    return repo, tokens


@pytest.mark.parametrize("role", list(GATED_ROLES))
def test_viewer_on_gated_dataset_needs_access(
    server: LiveServer, viewer_gated_dataset: tuple[str, dict[str, str | None]], role: str
) -> None:
    repo, tokens = viewer_gated_dataset
    expected = OK if GATED_ROLES[role].downloads else GATED
    mismatches = []
    for route in _viewer_routes(repo):
        response = _call(server, route, tokens[role])
        if _viewer_outcome(response) != expected:
            mismatches.append(f"{route.name}: expected {expected}, got {response.status_code} {response.text[:200]}")
        if expected != OK:
            assert b"secret viewer row" not in response.content, f"{route.name} leaked a row to {role}"
    assert mismatches == []
