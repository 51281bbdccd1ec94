"""Registering OAuth apps in the browser: create (the secret is shown once), list, delete, for
yourself and for an organisation you administer; hostile app names stay inert."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.accounts import Identities
from tests.support.browser import XSS_PAYLOADS, ScriptWatch, screenshots, serious_accessibility_violations
from tests.support.server import LiveServer
from tests.web.conftest import Browse, csrf_of, log_in
from tests.web.test_oauth import register_app


def test_a_person_registers_an_app_sees_its_secret_once_and_deletes_it(page: Any, ids: Identities) -> None:
    name = f"Notebook {uuid.uuid4().hex[:6]}"
    log_in(page, "alice")
    page.goto("/settings/applications")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Redirect URIs (one per line)").fill("https://nb.example.org/callback\nhttp://localhost:8000/cb")
    page.get_by_label("Homepage (optional)").fill("https://nb.example.org")
    page.get_by_role("button", name="Create app").click()
    status = page.get_by_role("status")
    assert name in status.inner_text()
    secret = page.locator("#oauth-new-secret").inner_text()
    assert secret.startswith("dyos_")
    card = page.locator(".oauth-app", has_text=name)
    assert "http://localhost:8000/cb" in card.inner_text()
    assert serious_accessibility_violations(page) == []
    screenshots(page, "oauth-applications")
    page.goto("/settings/applications")
    assert secret not in page.content()  # shown once
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete {name}").click()
    page.wait_for_url("**/settings/applications")
    assert page.locator(".oauth-app", has_text=name).count() == 0


def test_a_public_app_has_no_secret(page: Any, ids: Identities) -> None:
    log_in(page, "bob")
    page.goto("/settings/applications")
    page.get_by_label("Name").fill("Bob's SPA")
    page.get_by_label("Redirect URIs (one per line)").fill("https://spa.example.org/")
    page.get_by_label("Public (in-browser or native app, PKCE)").check()
    page.get_by_role("button", name="Create app").click()
    assert "Bob's SPA" in page.get_by_role("status").inner_text()
    assert page.locator("#oauth-new-secret").count() == 0
    assert "public (PKCE)" in page.locator(".oauth-app", has_text="Bob's SPA").inner_text()


def test_an_org_admin_registers_an_app_for_the_org(page: Any, ids: Identities) -> None:
    name = f"Acme portal {uuid.uuid4().hex[:6]}"
    log_in(page, "alice")
    page.goto("/settings/applications")
    page.get_by_role("link", name="acme").click()
    page.get_by_role("heading", name="OAuth apps of acme").wait_for()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Redirect URIs (one per line)").fill("https://portal.acme.example/cb")
    page.get_by_role("button", name="Create app").click()
    assert name in page.get_by_role("status").inner_text()
    page.goto("/settings/applications")
    assert page.locator(".oauth-app", has_text=name).count() == 0  # alice's own list is separate


def test_bad_redirect_uris_are_refused_with_a_message(browse: Browse) -> None:
    client = browse("carol")
    token = csrf_of(client.get("/settings/applications").text)
    for uri in (
        "javascript:alert(1)",
        "ftp://x.example/cb",
        "https://x.example/cb#frag",
        "https://x.example/a b",
        "https://u:p@x.example/cb",
    ):
        form = {"_csrf": token, "name": "Bad", "redirect_uris": uri, "client_type": "confidential"}
        response = client.post("/settings/applications", data=form)
        assert response.status_code == 400, uri
        assert 'role="alert"' in response.text
    assert "oauth-app" not in client.get("/settings/applications").text


def test_the_create_form_needs_its_csrf_token(browse: Browse) -> None:
    form = {"_csrf": "forged", "name": "X", "redirect_uris": "https://x.example/cb"}
    assert browse("carol").post("/settings/applications", data=form).status_code == 403


def test_hostile_app_names_are_inert_on_the_apps_and_consent_pages(
    page: Any, server: LiveServer, ids: Identities
) -> None:
    redirect = "https://xss.example/cb"
    clients = [register_app(server.data_dir, server.env, "dave", [redirect], name=p)[0] for p in XSS_PAYLOADS]
    watch = ScriptWatch(page)
    log_in(page, "dave")
    page.goto("/settings/applications")
    for payload in XSS_PAYLOADS:
        assert page.locator(".oauth-app h3", has_text=payload).count() == 1
    for client_id in clients:
        page.goto(f"/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={redirect}&scope=openid")
        page.get_by_role("button", name="Authorize").wait_for()
    assert not watch.ran()
