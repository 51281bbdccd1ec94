"""One live server per test worker for the web pages, one Chromium per worker, and a fresh
browser context (no cookies) per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD, Identities
from tests.support.browser import DESKTOP, chromium
from tests.support.server import LiveServer


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.fixture
def page(browser: Any, server: LiveServer, ids: Identities) -> Iterator[Any]:
    """A page in a fresh context (no cookies), with relative URLs resolved against the server."""
    context = browser.new_context(base_url=server.url, viewport=DESKTOP)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def repo_name() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


def log_in(page: Any, user: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/login")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def browse(server: LiveServer, ids: Identities) -> Iterator[Callable[[str | None], httpx.Client]]:
    """``browse("alice")``: an httpx client that acts like alice's signed-in browser (session
    cookie, ``Accept: text/html``); ``browse(None)``: an anonymous one. Closed after the test."""
    opened: list[httpx.Client] = []

    def open_client(user: str | None) -> httpx.Client:
        client = httpx.Client(base_url=server.url, headers={"Accept": "text/html"}, follow_redirects=False)
        opened.append(client)
        if user is not None:
            client.get("/login")
            response = client.post(
                "/login",
                data={"username": user, "password": PASSWORD, "next": "/", "_csrf": client.cookies["dockyard_csrf"]},
            )
            assert response.status_code == 303, response.text
        return client

    yield open_client
    for client in opened:
        client.close()


Browse = Callable[[str | None], httpx.Client]


def csrf_of(html: str) -> str:
    marker = '<meta name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


from tests.web.matrix import web_repos  # noqa: E402,F401 - the shared repos of the permission tests
