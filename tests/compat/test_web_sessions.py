"""Browser sessions live in the database: a sign-in made on one API process is honoured by every
other (scaled out: two processes behind one port), and signing out ends it everywhere."""

from __future__ import annotations

import httpx

from tests.support.accounts import PASSWORD, Identities
from tests.support.server import LiveServer


def _fresh_connections(server: LiveServer) -> httpx.Client:
    """No keep-alive: every request opens a new connection, so the kernel spreads them over the
    API processes."""
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(base_url=server.url, headers={"Accept": "text/html"}, limits=limits)


def _csrf_meta(html: str) -> str:
    marker = '<meta name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def test_a_session_is_honoured_by_every_api_process_until_sign_out(server: LiveServer, ids: Identities) -> None:
    with _fresh_connections(server) as browser:
        browser.get("/login")
        form = {"username": "bob", "password": PASSWORD, "_csrf": browser.cookies["dockyard_csrf"]}
        assert browser.post("/login", data=form).status_code == 303
        pages = [browser.get("/").text for _ in range(12)]
        assert all("Sign out" in page for page in pages)
        assert browser.post("/logout", data={"_csrf": _csrf_meta(pages[-1])}).status_code == 303
        assert "Sign out" not in browser.get("/").text


def test_a_signed_out_cookie_is_dead_on_every_process(server: LiveServer, ids: Identities) -> None:
    with _fresh_connections(server) as browser:
        browser.get("/login")
        form = {"username": "bob", "password": PASSWORD, "_csrf": browser.cookies["dockyard_csrf"]}
        browser.post("/login", data=form)
        cookie = browser.cookies["dockyard_session"]
        browser.post("/logout", data={"_csrf": _csrf_meta(browser.get("/").text)})
    with _fresh_connections(server) as replay:
        replay.cookies.set("dockyard_session", cookie)
        assert all("Sign out" not in replay.get("/").text for _ in range(6))
