"""The admin pages: reachable by site admins only (404 to everyone else), users and orgs with
admin rights toggled, the audit log with its filters, storage and jobs; hostile text logged in
the audit log stays inert."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi

from tests.support.accounts import PASSWORD, Identities
from tests.support.browser import XSS_PAYLOADS, ScriptWatch, screenshots, serious_accessibility_violations
from tests.support.server import LiveServer
from tests.web.conftest import Browse, csrf_of, log_in
from tests.web.matrix import VIEWERS, visit

ADMIN = "changes-root"
ADMIN_PAGES = ("/admin", "/admin/users", "/admin/audit", "/admin/storage", "/admin/jobs")


@pytest.fixture(scope="module")
def site_admin(server: LiveServer, ids: Identities) -> str:
    """A site admin made with the real CLI (``dockyard user create --admin``)."""
    done = server.cli("user", "create", ADMIN, "--password", PASSWORD, "--admin", check=False)
    assert done.returncode == 0 or "exists" in done.stderr + done.stdout, done.stderr
    return ADMIN


@pytest.mark.parametrize("url", ADMIN_PAGES)
@pytest.mark.parametrize("viewer", VIEWERS)
def test_admin_pages_do_not_exist_for_anyone_but_site_admins(browse: Browse, viewer: str, url: str) -> None:
    response = visit(browse, viewer, url)
    assert response.status_code == 404
    assert "Administration" not in response.text


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_a_site_admin_reaches_every_admin_page(browse: Browse, site_admin: str, url: str) -> None:
    response = browse(site_admin).get(url)
    assert response.status_code == 200
    assert "<h1>Administration</h1>" in response.text


def test_a_token_without_admin_rights_cannot_grant_them(browse: Browse, site_admin: str) -> None:
    client = browse("bob")
    token = csrf_of(client.get("/").text)
    response = client.post("/admin/users/admin", data={"_csrf": token, "user": "bob", "admin": "true"})
    assert response.status_code == 404
    assert browse("bob").get("/admin").status_code == 404


def test_an_admin_makes_and_unmakes_another_admin(page: Any, site_admin: str) -> None:
    log_in(page, site_admin)
    page.goto("/admin/users?kind=user")
    assert serious_accessibility_violations(page) == []
    screenshots(page, "changes-admin-users")
    page.get_by_role("button", name="Make admin: dave").click()
    assert page.get_by_role("status").inner_text() == "Admin rights updated."
    dave = page.context.browser.new_context(base_url=page.url.split("/admin")[0])
    try:
        dave_page = dave.new_page()
        log_in(dave_page, "dave")
        assert dave_page.goto("/admin").status == 200
        page.get_by_role("button", name="Remove admin rights of dave").click()
        assert dave_page.goto("/admin").status == 404
    finally:
        dave.close()


def test_the_audit_log_filters_by_actor_action_target_and_date(
    page: Any, server: LiveServer, ids: Identities, site_admin: str, repo_name: str
) -> None:
    HfApi(endpoint=server.url, token=ids.bob).create_repo(f"bob/{repo_name}")
    log_in(page, site_admin)
    page.goto("/admin/audit")
    assert serious_accessibility_violations(page) == []
    screenshots(page, "changes-admin-audit")
    page.get_by_label("Actor").fill("bob")
    page.get_by_label("Action").select_option("repo.created")
    page.get_by_label("Target contains").fill(repo_name)
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.audit-log tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").nth(3).inner_text() == f"model:bob/{repo_name}"
    page.goto(f"/admin/audit?target={repo_name}&until=2001-01-01")
    assert page.get_by_text("No events match.").is_visible()
    page.goto(f"/admin/audit?target={repo_name}&since=2001-01-01")
    assert page.locator("table.audit-log tbody tr").count() == 1


def test_storage_and_jobs_pages_show_the_state(
    browse: Browse, server: LiveServer, ids: Identities, site_admin: str, repo_name: str
) -> None:
    api = HfApi(endpoint=server.url, token=ids.alice)
    api.create_repo(f"alice/{repo_name}")
    api.upload_file(path_or_fileobj=b"\0" * 2048, path_in_repo="w.bin", repo_id=f"alice/{repo_name}")
    client = browse(site_admin)
    storage = client.get("/admin/storage?namespace=alice").text
    assert f"alice/{repo_name}" in storage
    assert "Saved by deduplication" in storage
    jobs = client.get("/admin/jobs").text
    assert "Jobs by kind" in jobs
    assert "<code>" in jobs  # the commit above queued at least one job kind


def test_hostile_text_in_audit_entries_is_inert(
    page: Any, browse: Browse, server: LiveServer, ids: Identities, site_admin: str, repo_name: str
) -> None:
    """One failed login named with markup (the target) and a rejection reason made of the whole
    corpus (the details): both are shown as text."""
    client = browse(None)
    client.get("/login")
    form = {"username": XSS_PAYLOADS[1], "password": "wrong", "_csrf": client.cookies["dockyard_csrf"]}
    assert client.post("/login", data=form).status_code == 401
    repo_id = f"alice/{repo_name}"
    HfApi(endpoint=server.url, token=ids.alice).create_repo(repo_id)
    with httpx.Client(base_url=server.url) as api:
        alice, bob = {"Authorization": f"Bearer {ids.alice}"}, {"Authorization": f"Bearer {ids.bob}"}
        api.put(f"/api/models/{repo_id}/settings", json={"gated": "manual"}, headers=alice).raise_for_status()
        api.post(f"/api/models/{repo_id}/ask-access", json={}, headers=bob).raise_for_status()
        handle = {"user": "bob", "status": "rejected", "rejectionReason": " ".join(XSS_PAYLOADS)}
        api.post(f"/api/models/{repo_id}/user-access-request/handle", json=handle, headers=alice).raise_for_status()
    watch = ScriptWatch(page)
    log_in(page, site_admin)
    page.goto("/admin/audit?action=session.login_failed")
    assert page.get_by_role("cell", name=XSS_PAYLOADS[1]).first.is_visible()
    page.goto(f"/admin/audit?action=access.rejected&target={repo_name}")
    assert XSS_PAYLOADS[0] in page.locator("table.audit-log tbody td").nth(4).inner_text()
    assert not watch.ran()
