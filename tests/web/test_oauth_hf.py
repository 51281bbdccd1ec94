"""``huggingface_hub``'s ``attach_huggingface_oauth`` against Dockyard: a tiny FastAPI app, run
as a Space would run it (its OAuth settings in the environment, OPENID_PROVIDER_URL pointing at
Dockyard), signs alice in through the consent page in Chromium and then knows who she is."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD, Identities
from tests.support.backends import free_port
from tests.support.browser import screenshots, serious_accessibility_violations
from tests.support.server import LiveServer, server_env
from tests.web.conftest import log_in
from tests.web.test_oauth import register_app

APP_SOURCE = """
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from huggingface_hub import attach_huggingface_oauth, parse_huggingface_oauth

app = FastAPI()
attach_huggingface_oauth(app)


@app.get("/")
def home(request: Request) -> HTMLResponse:
    info = parse_huggingface_oauth(request)
    if info is None:
        return HTMLResponse('<a href="/oauth/huggingface/login">Sign in with Dockyard</a>')
    user = info.user_info
    return HTMLResponse(f"<p id='who'>Hello {user.preferred_username} ({user.name}), scope {info.scope}</p>")
"""
READY_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def space_app(server: LiveServer, ids: Identities, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app at http://localhost:PORT (another site than Dockyard's 127.0.0.1: its own cookies)."""
    port = free_port()
    url = f"http://localhost:{port}"
    client_id, secret = register_app(
        server.data_dir, server.env, "alice", [f"{url}/oauth/huggingface/callback"], name="My Space"
    )
    assert secret is not None
    folder: Path = tmp_path_factory.mktemp("space-app")
    (folder / "space_app.py").write_text(APP_SOURCE)
    env = server_env(
        {},
        {
            "SPACE_ID": "alice/my-space",
            "SPACE_HOST": f"localhost:{port}",
            "OAUTH_CLIENT_ID": client_id,
            "OAUTH_CLIENT_SECRET": secret,
            "OAUTH_SCOPES": "openid profile",
            "OPENID_PROVIDER_URL": server.url,
        },
    )
    with (folder / "log.txt").open("wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "space_app:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/", process, folder / "log.txt")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the space app exited:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the space app did not start")


def test_sign_in_with_dockyard_through_attach_huggingface_oauth(page: Any, server: LiveServer, space_app: str) -> None:
    page.goto(space_app + "/")
    page.get_by_role("link", name="Sign in with Dockyard").click()
    page.wait_for_url(lambda url: url.startswith(server.url + "/login?next=/oauth/authorize"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Authorize My Space").wait_for()
    assert page.get_by_text("wants to sign you in as alice").is_visible()
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(space_app + "/**")
    assert page.locator("#who").inner_text() == "Hello alice (Alice Liddell), scope openid profile"


def test_consent_page_is_accessible_and_pictured(page: Any, space_app: str) -> None:
    log_in(page, "alice")
    page.goto(space_app + "/oauth/huggingface/login")
    page.get_by_role("heading", name="Authorize My Space").wait_for()
    assert serious_accessibility_violations(page) == []
    screenshots(page, "oauth-consent")


def test_denying_leaves_the_app_signed_out(page: Any, space_app: str) -> None:
    log_in(page, "bob")
    page.goto(space_app + "/oauth/huggingface/login")
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(space_app + "/**")
    page.goto(space_app + "/")
    assert page.get_by_role("link", name="Sign in with Dockyard").is_visible()
