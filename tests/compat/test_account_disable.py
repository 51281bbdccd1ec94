"""A hub admin offboards a user (``dockyard user disable``): at once, on every API process, their
tokens stop working for the API, the hot download routes and git; their browser session is over;
signing in and new tokens are refused. Enabled again, they sign in but need new tokens."""

from __future__ import annotations

import subprocess
import uuid

import httpx
from huggingface_hub import HfApi

from tests.support.accounts import PASSWORD
from tests.support.server import LiveServer


def _token(server: LiveServer, name: str) -> str:
    return server.cli("token", "create", name, "--role", "write").stdout.strip().splitlines()[-1]


def _browser(server: LiveServer) -> httpx.Client:
    limits = httpx.Limits(max_keepalive_connections=0)  # every request may reach another process
    return httpx.Client(base_url=server.url, headers={"Accept": "text/html"}, limits=limits)


def _sign_in(browser: httpx.Client, name: str) -> httpx.Response:
    browser.get("/login")
    form = {"username": name, "password": PASSWORD, "_csrf": browser.cookies["dockyard_csrf"]}
    return browser.post("/login", data=form)


def _whoami(server: LiveServer, token: str) -> int:
    return httpx.get(f"{server.url}/api/whoami-v2", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_disabled_user_is_locked_out_everywhere_until_enabled(server: LiveServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    name = f"leaver{uuid.uuid4().hex[:8]}"
    server.cli("user", "create", name, "--password", PASSWORD)
    token = _token(server, name)
    repo_id = f"{name}/notes"
    api = HfApi(endpoint=server.url, token=token)
    api.create_repo(repo_id, private=True)
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=repo_id)
    resolve = f"{server.url}/{repo_id}/resolve/main/config.json"
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.head(resolve, headers=auth).status_code == 200  # cached grant, then disabled below
    browser = _browser(server)
    assert _sign_in(browser, name).status_code == 303
    assert "Sign out" in browser.get("/").text

    server.cli("user", "disable", name)

    assert _whoami(server, token) == 401
    assert all(httpx.head(resolve, headers=auth).status_code == 401 for _ in range(4))
    clone = subprocess.run(
        [
            "git",
            "clone",
            "-q",
            f"http://user:{token}@127.0.0.1:{server.url.rsplit(':', 1)[1]}/{repo_id}",
            str(tmp_path / "c"),
        ],
        capture_output=True,
        text=True,
        env={"GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert clone.returncode != 0
    assert all("Sign out" not in browser.get("/").text for _ in range(4))
    refused = _sign_in(_browser(server), name)
    assert refused.status_code == 403
    assert "This account is disabled" in refused.text
    created = server.cli("token", "create", name, check=False)
    assert created.returncode != 0
    assert "disabled" in created.stderr

    server.cli("user", "enable", name)

    assert _sign_in(_browser(server), name).status_code == 303
    assert _whoami(server, token) == 401  # the old tokens stay revoked
    assert _whoami(server, _token(server, name)) == 200
