"""Issue 9, attacks 8 and 13 (smaller items), tried as the attacker would against a live server.

* A private repo's name must not leak: a 404 for ``bob/hidden`` when the repo is ``bob/Hidden``,
  or for the old name of a renamed repo, echoes the name as requested, on every surface (API,
  /resolve, git smart HTTP, LFS batch). Only callers who may read the repo are served through
  its old name.
* Files served from the hub's origin cannot run as the hub: nosniff and a sandboxing CSP on every
  /resolve answer, active types (HTML, SVG, ...) as attachments.
* The failed-token throttle counts an IPv6 client per /64, and believes X-Forwarded-For only from
  the proxies the operator listed (so one attacker behind the proxy does not lock everyone out).
* The signing keys live in a file only the server's user can read, rotate with ``dockyard secret
  rotate`` without breaking URLs already handed out, and a non-ASCII signed token is a 4xx.
"""

from __future__ import annotations

import hashlib
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download

from tests.support.accounts import Identities, create_identities
from tests.support.backends import free_port
from tests.support.server import EMBEDDED, LiveServer, start_server

LFS_JSON = "application/vnd.git-lfs+json"


@dataclass(frozen=True)
class Probe:
    surface: str
    method: str
    path: str
    body: object = None


def _probes(repo: str) -> list[Probe]:
    """One request per surface that looks a repo up by name."""
    oid = hashlib.sha256(b"anything").hexdigest()
    batch = {"operation": "download", "objects": [{"oid": oid, "size": 8}], "transfers": ["basic"]}
    return [
        Probe("api info", "GET", f"/api/models/{repo}"),
        Probe("api tree", "GET", f"/api/models/{repo}/tree/main"),
        Probe("api refs", "GET", f"/api/models/{repo}/refs"),
        Probe("api commits", "GET", f"/api/models/{repo}/commits/main"),
        Probe("api xet read token", "GET", f"/api/models/{repo}/xet-read-token/main"),
        Probe("api auth-check", "GET", f"/api/models/{repo}/auth-check"),
        Probe("resolve HEAD", "HEAD", f"/{repo}/resolve/main/README.md"),
        Probe("resolve GET", "GET", f"/{repo}/resolve/main/README.md"),
        Probe("git clone", "GET", f"/{repo}.git/info/refs?service=git-upload-pack"),
        Probe("git push", "GET", f"/{repo}.git/info/refs?service=git-receive-pack"),
        Probe("lfs batch", "POST", f"/{repo}.git/info/lfs/objects/batch", batch),
        Probe("lfs batch (no .git)", "POST", f"/{repo}/info/lfs/objects/batch", batch),
    ]


def _ask(server: LiveServer, probe: Probe, token: str | None) -> httpx.Response:
    auth = ("hf_user", token) if token else None
    headers = {"Accept": LFS_JSON, "Content-Type": LFS_JSON} if probe.body is not None else {}
    return httpx.request(probe.method, server.url + probe.path, json=probe.body, auth=auth, headers=headers)


def _everything_said(response: httpx.Response) -> str:
    return response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())


def _private_repo(ids: Identities, name: str, *, readme: bytes = b"# secret\n") -> str:
    bob = HfApi(token=ids.bob)
    repo = f"bob/{name}"
    bob.create_repo(repo, private=True)
    bob.upload_file(path_or_fileobj=readme, path_in_repo="README.md", repo_id=repo)
    return repo


# -- attack 8: private repo names ----------------------------------------------------------------
def test_another_letter_case_does_not_reveal_the_private_name(server: LiveServer, ids: Identities) -> None:
    canonical = f"Hidden-Plans-{uuid.uuid4().hex[:6].upper()}"
    _private_repo(ids, canonical)
    asked = f"bob/{canonical.lower()}"
    for token in (ids.alice, None):
        for probe in _probes(asked):
            response = _ask(server, probe, token)
            who = "alice" if token else "anonymous"
            assert response.status_code in (401, 404), (probe.surface, who, response.status_code)
            assert canonical not in _everything_said(response), (probe.surface, who, _everything_said(response))
    owner_view = httpx.get(f"{server.url}/api/models/{asked}", headers={"Authorization": f"Bearer {ids.bob}"})
    assert owner_view.status_code == 200
    assert owner_view.json()["id"] == f"bob/{canonical}"


def test_the_old_name_of_a_renamed_private_repo_does_not_reveal_the_new_one(
    server: LiveServer, ids: Identities
) -> None:
    stamp = uuid.uuid4().hex[:8]
    old, new = f"bob/draft-{stamp}", f"bob/launch-codename-{stamp}"
    _private_repo(ids, f"draft-{stamp}")
    HfApi(token=ids.bob).move_repo(old, new)
    for token in (ids.alice, ids.carol, None):
        for probe in _probes(old):
            response = _ask(server, probe, token)
            assert response.status_code in (401, 404), (probe.surface, response.status_code)
            assert "launch-codename" not in _everything_said(response).lower(), (probe.surface, response.text)
    # Whoever may read the repo still reaches it through the old name (old links keep working).
    assert HfApi(token=ids.bob).model_info(old).id == new
    readme = httpx.get(f"{server.url}/{old}/resolve/main/README.md", headers={"Authorization": f"Bearer {ids.bob}"})
    assert readme.status_code == 200
    assert readme.content == b"# secret\n"


# -- attack 13: active content from the hub's origin ------------------------------------------
PAGE = b"<html><body><script>fetch('/api/whoami-v2').then(r => r.text()).then(alert)</script></body></html>"
LOGO = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


def test_html_and_svg_cannot_run_as_the_hub(server: LiveServer, api: HfApi, repo_name: str, cache_dir: Path) -> None:
    repo = f"alice/{repo_name}"
    api.create_repo(repo)
    for name, data in (("docs/page.html", PAGE), ("logo.svg", LOGO), ("page.xhtml", PAGE), ("notes.txt", b"hi")):
        api.upload_file(path_or_fileobj=data, path_in_repo=name, repo_id=repo)
    for name in ("docs/page.html", "logo.svg", "page.xhtml", "notes.txt"):
        for method in ("GET", "HEAD"):
            response = httpx.request(method, f"{server.url}/{repo}/resolve/main/{name}")
            assert response.status_code == 200, (name, method)
            assert response.headers["x-content-type-options"] == "nosniff", (name, method)
            policy = response.headers["content-security-policy"]
            assert "sandbox" in policy, (name, method)
            assert "default-src 'none'" in policy, (name, method)
            active = not name.endswith(".txt")
            assert response.headers["content-disposition"].startswith("attachment" if active else "inline"), name
    missing = httpx.get(f"{server.url}/{repo}/resolve/main/nothing.html")
    assert missing.status_code == 404
    assert missing.headers["x-content-type-options"] == "nosniff"
    # The Hub's client still downloads them as files.
    path = hf_hub_download(repo, "docs/page.html", cache_dir=cache_dir)
    assert Path(path).read_bytes() == PAGE


# -- attack 13: the failed-token throttle ---------------------------------------------------------
def _fail_auth(url: str, forwarded_for: str, *, transport: httpx.HTTPTransport | None = None) -> int:
    with httpx.Client(transport=transport) as client:
        response = client.get(
            f"{url}/api/whoami-v2",
            headers={"Authorization": f"Bearer dy_wrong{uuid.uuid4().hex}", "X-Forwarded-For": forwarded_for},
        )
    return response.status_code


def test_rotating_ipv6_addresses_in_one_64_does_not_reset_the_limit(server: LiveServer, ids: Identities) -> None:
    """The test talks to the server from 127.0.0.1, the default trusted proxy, as a local reverse
    proxy would; the attacker owns one IPv6 /64 and uses a new address for every guess."""
    block = f"2001:db8:{uuid.uuid4().int % 0xFFFF:x}:{uuid.uuid4().int % 0xFFFF:x}"
    statuses = [_fail_auth(server.url, f"{block}::{n:x}") for n in range(1, 31)]
    assert set(statuses) == {401}
    assert _fail_auth(server.url, f"{block}:dead:beef:cafe:1") == 429
    # Another subscriber's block is another client.
    neighbour = httpx.get(
        f"{server.url}/api/whoami-v2",
        headers={"Authorization": f"Bearer {ids.alice}", "X-Forwarded-For": "2001:db8:ffff:ffff::1"},
    )
    assert neighbour.status_code == 200


@dataclass
class ProxiedHub:
    server: LiveServer
    ids: Identities
    extra: dict[str, str]
    port: int


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxiedHub]:
    """An embedded hub whose operator declared one reverse proxy, at 127.0.0.2."""
    data_dir = tmp_path_factory.mktemp("dockyard-proxied")
    extra = {"DOCKYARD_TRUSTED_PROXIES": "127.0.0.2"}
    port = free_port()
    server = start_server(data_dir, port, extra, backend=EMBEDDED)
    hub: ProxiedHub | None = None
    try:
        hub = ProxiedHub(server, create_identities(data_dir, server.env), extra, port)
        yield hub
    finally:
        (hub.server if hub is not None else server).stop()  # a test may have restarted it


def _via(address: str) -> httpx.HTTPTransport:
    return httpx.HTTPTransport(local_address=address)


def test_one_attacker_behind_the_proxy_does_not_lock_everyone_out(proxied: ProxiedHub) -> None:
    url = proxied.server.url
    statuses = [_fail_auth(url, "203.0.113.66", transport=_via("127.0.0.2")) for _ in range(30)]
    assert set(statuses) == {401}
    assert _fail_auth(url, "203.0.113.66", transport=_via("127.0.0.2")) == 429
    with httpx.Client(transport=_via("127.0.0.2")) as proxy:
        user = proxy.get(
            f"{url}/api/whoami-v2",
            headers={"Authorization": f"Bearer {proxied.ids.alice}", "X-Forwarded-For": "198.51.100.9"},
        )
    assert user.status_code == 200, user.text
    # A client that is not the proxy cannot pick its own address by sending the header.
    forged = [_fail_auth(url, f"192.0.2.{n}", transport=_via("127.0.0.3")) for n in range(1, 32)]
    assert forged[:30] == [401] * 30
    assert forged[30] == 429


# -- attack 13: the signing keys ----------------------------------------------------------------
def test_the_signing_keys_are_stored_readable_by_the_server_only(proxied: ProxiedHub) -> None:
    database = proxied.server.data_dir / "dockyard.sqlite3"
    for path in [database, *database.parent.glob("dockyard.sqlite3-*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))


def _upload_actions(url: str, token: str, repo: str, data: bytes) -> dict[str, dict[str, str]]:
    body = {
        "operation": "upload",
        "transfers": ["basic"],
        "objects": [{"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}],
    }
    response = httpx.post(
        f"{url}/{repo}.git/info/lfs/objects/batch",
        json=body,
        auth=("hf_user", token),
        headers={"Accept": LFS_JSON, "Content-Type": LFS_JSON},
    )
    assert response.status_code == 200, response.text
    actions: dict[str, dict[str, str]] = response.json()["objects"][0]["actions"]
    return actions


def test_rotating_the_key_keeps_upload_urls_already_handed_out(proxied: ProxiedHub) -> None:
    url, alice = proxied.server.url, proxied.ids.alice
    repo = f"alice/rotate-{uuid.uuid4().hex[:8]}"
    HfApi(endpoint=url, token=alice).create_repo(repo)
    data = b"weights uploaded across a key rotation " + uuid.uuid4().bytes
    actions = _upload_actions(url, alice, repo, data)

    rotated = proxied.server.cli("secret", "rotate")
    assert "rotated" in rotated.stdout
    proxied.server.stop()
    proxied.server = start_server(proxied.server.data_dir, proxied.port, proxied.extra, backend=EMBEDDED)

    assert httpx.put(actions["upload"]["href"], content=data).status_code == 200
    assert httpx.post(actions["verify"]["href"], json={}).status_code == 200
    later = b"uploaded after the rotation " + uuid.uuid4().bytes
    assert httpx.put(_upload_actions(url, alice, repo, later)["upload"]["href"], content=later).status_code == 200

    proxied.server.cli("secret", "drop-previous")
    proxied.server.stop()
    proxied.server = start_server(proxied.server.data_dir, proxied.port, proxied.extra, backend=EMBEDDED)
    assert httpx.post(actions["verify"]["href"], json={}).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/-/lfs/upload/eyJhIjoxfQ.sig\u00e9"),
        ("PUT", "/-/lfs/part/eyJhIjoxfQ.\u00e9\u00e9/1"),
        ("POST", "/-/lfs/complete/\u00e9.\u00e9"),
        ("POST", "/-/lfs/verify/eyJhIjoxfQ.\u00e9"),
        ("GET", "/-/lfs/objects/eyJhIjoxfQ.\u00e9"),
        ("GET", "/-/cas/xorb/eyJhIjoxfQ.\u00e9"),
        ("POST", "/-/git/push-check/eyJhIjoxfQ.\u00e9"),
    ],
)
def test_a_non_ascii_signed_token_is_refused_not_a_crash(server: LiveServer, method: str, path: str) -> None:
    response = httpx.request(method, server.url + path, content=b"x")
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text)


def test_a_non_ascii_xet_token_is_refused_not_a_crash(server: LiveServer) -> None:
    bearer = "Bearer eyJhIjoxfQ.sig\u00e9".encode("latin-1")
    response = httpx.get(f"{server.url}/-/cas/v1/reconstructions/{'0' * 64}", headers={"Authorization": bearer})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
