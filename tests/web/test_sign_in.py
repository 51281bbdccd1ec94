"""Signing in and out in a real browser, and what the session cookie may and may not do."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.accounts import PASSWORD, Identities
from tests.web.conftest import Browse, csrf_of, log_in


def test_a_person_logs_in_and_out(page: Any, ids: Identities) -> None:
    log_in(page, "alice")
    assert page.get_by_text("alice").first.is_visible()
    page.locator("summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/")
    assert page.get_by_role("link", name="Log in").is_visible()


def test_a_wrong_password_is_refused_with_a_message(page: Any, ids: Identities) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."


def test_session_cookie_is_httponly_and_lax(browse: Browse) -> None:
    client = browse(None)
    client.get("/login")
    form = {"username": "alice", "password": PASSWORD, "_csrf": client.cookies["dockyard_csrf"]}
    cookie = client.post("/login", data=form).headers["set-cookie"].lower()
    assert "dockyard_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_login_form_without_its_csrf_token_is_refused(browse: Browse) -> None:
    client = browse(None)
    client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": PASSWORD, "_csrf": "forged"})
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/login", "/join", "/reset/some-secret"])
def test_forms_sent_before_sign_in_are_small(browse: Browse, path: str) -> None:
    """Nobody without an account can make the server buffer a large form."""
    client = browse(None)
    client.get("/login")
    padding = "x" * (65 * 1024)
    form = {"username": "alice", "password": PASSWORD, "_csrf": client.cookies["dockyard_csrf"], "pad": padding}
    assert client.post(path, data=form).status_code == 413
    files = {"upload": ("a.bin", b"0123", "application/octet-stream")}
    small = {"username": "alice", "password": "wrong", "_csrf": client.cookies["dockyard_csrf"]}
    assert client.post(path, data=small, files=files).status_code in {400, 413}


def test_cross_site_post_with_the_session_cookie_is_refused(browse: Browse) -> None:
    client = browse("alice")
    token = csrf_of(client.get("/").text)
    cross_site = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert client.post("/logout", data={"_csrf": token}, headers=cross_site).status_code == 403
    assert client.get("/").text.count("Sign out") == 1  # still signed in


def test_the_session_cookie_works_on_the_api_but_writes_need_the_csrf_header(browse: Browse) -> None:
    client = browse("alice")
    refused = client.post("/api/repos/create", json={"name": "csrf-check", "type": "model"})
    assert refused.status_code == 403
    token = csrf_of(client.get("/").text)
    headers = {"X-CSRF-Token": token}
    created = client.post("/api/repos/create", json={"name": "csrf-check", "type": "model"}, headers=headers)
    assert created.status_code == 200, created.text


def test_a_browser_gets_a_page_not_json_for_an_unknown_path(browse: Browse) -> None:
    response = browse(None).get("/no/such/thing/here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
