"""Sign-up policies other than the shared server's ``invite``, failed-login throttling, and the
demo's printed login: each on a server of its own, so that changing the policy or exhausting the
throttle of 127.0.0.1 leaves the other tests' server alone."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard.auth.throttle import MAX_FAILURES
from tests.support.backends import free_port
from tests.support.browser import DESKTOP
from tests.support.server import LiveServer, server_env, start_server

PASSWORD = "a-long-enough-password"


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("open-signup"), free_port(), {"DOCKYARD_SIGNUP_POLICY": "open"})
    try:
        yield live
    finally:
        live.stop()


@contextmanager
def anonymous(server: LiveServer) -> Iterator[httpx.Client]:
    """A browser-like client that has opened the login page (so it holds the form's CSRF cookie)."""
    with httpx.Client(base_url=server.url, headers={"Accept": "text/html"}) as client:
        client.get("/login")
        yield client


def test_with_the_open_policy_anyone_joins_in_the_browser(browser: Any, open_server: LiveServer) -> None:
    context = browser.new_context(base_url=open_server.url, viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto("/")
        page.get_by_role("link", name="Sign up").click()
        page.get_by_label("Username").fill("newcomer")
        page.get_by_label("Full name").fill("New Comer")
        page.get_by_label("Email").fill("newcomer@example.org")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Confirm password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url("**/settings/profile?welcome=1")
        page.goto("/settings/tokens")
        assert page.get_by_role("heading", name="Access tokens").is_visible()
    finally:
        context.close()
    with anonymous(open_server) as client:
        form = {"username": "newcomer", "password": PASSWORD, "_csrf": client.cookies["dockyard_csrf"]}
        assert client.post("/login", data=form).status_code == 303


def test_many_wrong_passwords_get_the_slow_down_page(open_server: LiveServer) -> None:
    with anonymous(open_server) as client:
        form = {"username": "newcomer", "password": "wrong-password", "_csrf": client.cookies["dockyard_csrf"]}
        statuses = [client.post("/login", data=form).status_code for _ in range(MAX_FAILURES + 1)]
        assert set(statuses[:MAX_FAILURES]) == {401}
        throttled = client.post("/login", data={**form, "password": PASSWORD})  # even the right one now
        assert statuses[-1] == 429
        assert throttled.status_code == 429
        assert "retry later" in throttled.text
        assert int(throttled.headers["retry-after"]) > 0


def test_with_the_admin_policy_nobody_joins(tmp_path: Path) -> None:
    live = start_server(tmp_path / "admin-only", free_port(), {"DOCKYARD_SIGNUP_POLICY": "admin"})
    try:
        with anonymous(live) as client:
            assert "created by an administrator" in client.get("/join").text
            form = {"username": "x-person", "password": PASSWORD, "confirm": PASSWORD}
            answer = client.post("/join", data={**form, "_csrf": client.cookies["dockyard_csrf"]})
            assert answer.status_code == 403
            assert client.get("/api/users/x-person/overview").status_code == 404
    finally:
        live.stop()


def test_the_demo_prints_a_login_that_works(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    command = [sys.executable, "-m", "dockyard", "demo", "--data-dir", str(data)]
    first = subprocess.run(command, env=server_env({}), capture_output=True, text=True, check=True).stdout
    again = subprocess.run(command, env=server_env({}), capture_output=True, text=True, check=True).stdout
    username = re.search(r"username: (\S+)", first)
    password = re.search(r"password: (\S+)", first)
    assert username is not None
    assert password is not None
    assert f"password: {password[1]}" in again  # re-running prints the same login
    assert "/login" in first
    live = start_server(data, free_port(), {})
    try:
        with anonymous(live) as client:
            form = {"username": username[1], "password": password[1], "_csrf": client.cookies["dockyard_csrf"]}
            assert client.post("/login", data=form).status_code == 303
            assert "Sign out" in client.get("/settings/profile").text
    finally:
        live.stop()
