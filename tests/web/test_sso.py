"""Log in to Dockyard through the organisation's OpenID Connect provider. The provider is a
second Dockyard (at http://localhost:PORT, its own cookies), where Dockyard is registered as an
OAuth app; the hub under test (at http://127.0.0.1:PORT) is configured to trust it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard.accounts import service as accounts
from dockyard.cli.common import open_hub
from tests.support.accounts import PASSWORD, Identities
from tests.support.backends import free_port
from tests.support.browser import ScriptWatch, screenshots, serious_accessibility_violations
from tests.support.server import LiveServer, start_server
from tests.web.conftest import Browse
from tests.web.test_oauth import register_app


@dataclass(frozen=True)
class SsoPair:
    provider: str  # URL of the provider, as the browser and the hub see it
    hub: LiveServer  # the Dockyard configured for SSO


def add_accounts(data_dir: Path, env: dict[str, str], users: dict[str, str], orgs: tuple[str, ...] = ()) -> None:
    """Users (name -> full name, with the test password) and organisations, in one hub's DB."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("DOCKYARD_")})
    try:
        hub = open_hub(data_dir)
        with hub.db.write() as session:
            made = [
                accounts.create_user(session, n, fullname=f, email=f"{n}@corp.example", password=PASSWORD)
                for n, f in users.items()
            ]
            for org in orgs:
                accounts.create_org(session, org, owner=made[0])
        hub.db.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoPair]:
    provider_port, hub_port = free_port(), free_port()
    provider = start_server(tmp_path_factory.mktemp("sso-provider"), provider_port)
    hub: LiveServer | None = None
    try:
        add_accounts(provider.data_dir, provider.env, {"erin": "Erin Corp", "frank": "Frank Corp", "boardroom": "B"})
        callback = f"http://127.0.0.1:{hub_port}/login/sso/callback"
        client_id, secret = register_app(provider.data_dir, provider.env, "erin", [callback], name="Corp Dockyard")
        assert secret is not None
        settings = {
            "DOCKYARD_SSO_ISSUER": f"http://localhost:{provider_port}",
            "DOCKYARD_SSO_CLIENT_ID": client_id,
            "DOCKYARD_SSO_CLIENT_SECRET": secret,
            "DOCKYARD_SSO_BUTTON_LABEL": "Corp SSO",
        }
        hub = start_server(tmp_path_factory.mktemp("sso-hub"), hub_port, settings)
        add_accounts(hub.data_dir, hub.env, {"frank": "Frank Already Here", "owner": "O"}, orgs=("boardroom",))
        yield SsoPair(provider=f"http://localhost:{provider_port}", hub=hub)
    finally:
        if hub is not None:
            hub.stop()
        provider.stop()


def sign_in_through_the_provider(page: Any, pair: SsoPair, user: str, start: str = "/login") -> None:
    page.goto(pair.hub.url + start)
    page.get_by_role("link", name="Log in with Corp SSO").click()
    page.wait_for_url(lambda url: url.startswith(pair.provider + "/login"))
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Authorize Corp Dockyard").wait_for()
    page.get_by_role("button", name="Authorize").click()


def test_first_sso_login_creates_the_user_and_signs_in(page: Any, sso: SsoPair) -> None:
    sign_in_through_the_provider(page, sso, "erin", start="/login?next=/settings/applications")
    page.wait_for_url(sso.hub.url + "/settings/applications")
    assert page.locator(".menu-name").inner_text() == "erin"
    page.goto(sso.hub.url + "/")
    assert page.locator(".menu-name").inner_text() == "erin"


def test_an_existing_user_is_matched_by_username(page: Any, sso: SsoPair) -> None:
    sign_in_through_the_provider(page, sso, "frank")
    page.wait_for_url(sso.hub.url + "/")
    assert page.locator(".menu-name").inner_text() == "frank"
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in sso.hub.env.items() if k.startswith("DOCKYARD_")})
    try:
        hub = open_hub(sso.hub.data_dir)
        with hub.db.read() as session:
            frank = accounts.get_user(session, "frank")
            assert frank.fullname == "Frank Already Here"  # the same account, not a new one
        hub.db.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_an_organisation_name_cannot_log_in(page: Any, sso: SsoPair) -> None:
    sign_in_through_the_provider(page, sso, "boardroom")
    page.get_by_role("heading", name="Not allowed").wait_for()
    assert page.get_by_role("link", name="Log in").first.is_visible()


def test_a_callback_without_the_browser_state_is_refused(sso: SsoPair) -> None:
    forged = httpx.get(
        f"{sso.hub.url}/login/sso/callback",
        params={"code": "dyoc_x", "state": "guess"},
        headers={"Accept": "text/html"},
    )
    assert forged.status_code == 401
    assert "dockyard_session" not in forged.headers.get("set-cookie", "")


def test_the_start_sends_pkce_state_and_nonce_to_the_provider(sso: SsoPair) -> None:
    response = httpx.get(f"{sso.hub.url}/login/sso", params={"next": "https://evil.example/"})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(sso.provider + "/oauth/authorize?")
    for part in ("code_challenge_method=S256", "state=", "nonce=", "scope=openid+profile+email"):
        assert part in location
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_the_login_page_offers_sso_only_where_configured(sso: SsoPair, browse: Browse, ids: Identities) -> None:
    assert "Log in with Corp SSO" in httpx.get(f"{sso.hub.url}/login").text
    assert "Log in with" not in browse(None).get("/login").text
    assert browse(None).get("/login/sso").status_code == 404


def test_a_hostile_label_and_next_are_inert(page: Any, sso: SsoPair) -> None:
    watch = ScriptWatch(page)
    page.goto(sso.hub.url + "/login?next=%22%3E%3Cscript%3Ewindow.__xss%3D1%3C/script%3E")
    page.get_by_role("link", name="Log in with Corp SSO").wait_for()
    assert not watch.ran()


def test_the_login_page_with_sso_is_accessible_and_pictured(page: Any, sso: SsoPair) -> None:
    page.goto(sso.hub.url + "/login")
    page.get_by_role("link", name="Log in with Corp SSO").wait_for()
    assert serious_accessibility_violations(page) == []
    screenshots(page, "sso-login")
