"""A repo's settings page in a real browser: visibility, gating with a question, the access-request
queue, webhooks and their delivery log, rename, and delete by typing the name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi

from tests.support.accounts import Identities, create_identities
from tests.support.backends import free_port
from tests.support.browser import DESKTOP, XSS_PAYLOADS, ScriptWatch, screenshots, serious_accessibility_violations
from tests.support.server import EMBEDDED, LiveServer, start_server
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import Receiver, running_receiver
from tests.web.conftest import Browse, csrf_of, log_in


def _make(server: LiveServer, ids: Identities, repo_id: str) -> HfApi:
    api = HfApi(endpoint=server.url, token=ids.alice)
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"---\nlicense: mit\n---\n\n# Card\n", path_in_repo="README.md", repo_id=repo_id)
    return api


def _client(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


def test_an_admin_makes_a_repo_private_and_public_again(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    api = _make(server, ids, repo_id)
    log_in(page, "alice")
    page.goto(f"/{repo_id}/settings")
    assert serious_accessibility_violations(page) == []
    screenshots(page, "changes-repo-settings")
    page.get_by_label("Private").check()
    page.get_by_role("button", name="Save visibility").click()
    assert page.get_by_role("status").inner_text() == "Visibility updated."
    assert api.model_info(repo_id).private is True
    assert httpx.get(f"{server.url}/api/models/{repo_id}").status_code == 404  # invisible to others
    page.get_by_label("Public").check()
    page.get_by_role("button", name="Save visibility").click()
    assert api.model_info(repo_id).private is False


def test_gating_with_a_question_and_accepting_a_request(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    api = _make(server, ids, repo_id)
    log_in(page, "alice")
    page.goto(f"/{repo_id}/settings")
    page.get_by_label("Gating", exact=True).select_option("manual")
    page.get_by_role("button", name="Save gating").click()
    assert page.get_by_role("status").inner_text() == "Gating updated."
    page.get_by_label("Questions asked with each request").fill("Your affiliation")
    page.get_by_role("button", name="Save questions").click()
    assert page.get_by_label("Questions asked with each request").input_value() == "Your affiliation"
    assert api.model_info(repo_id).card_data.get("license") == "mit"  # the rest of the card is kept
    with _client(server, ids.bob) as bob:
        assert bob.get(f"/{repo_id}/resolve/main/README.md").status_code == 403
        asked = bob.post(f"/api/models/{repo_id}/ask-access", json={"Your affiliation": "Acme Labs"})
        assert asked.status_code == 200, asked.text
        page.reload()
        assert page.get_by_role("cell", name="Your affiliation: Acme Labs").is_visible()
        page.get_by_role("button", name="Accept bob").click()
        assert page.get_by_role("status").inner_text() == "Access request updated."
        assert bob.get(f"/{repo_id}/resolve/main/README.md").status_code == 200


def test_a_repo_is_renamed_and_then_deleted_by_typing_its_name(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api = _make(server, ids, f"alice/{repo_name}")
    log_in(page, "alice")
    page.goto(f"/alice/{repo_name}/settings")
    page.get_by_label("New id (namespace/name)").fill(f"alice/{repo_name}-renamed")
    page.get_by_role("button", name="Rename repository").click()
    page.wait_for_url(f"**/alice/{repo_name}-renamed/settings?done=moved")
    assert api.model_info(f"alice/{repo_name}-renamed").id == f"alice/{repo_name}-renamed"
    page.get_by_label("Type").fill(f"alice/{repo_name}")  # the old name is not the name
    page.get_by_role("button", name="Delete repository").click()
    assert "to confirm the deletion" in page.get_by_role("alert").inner_text()
    assert api.repo_exists(f"alice/{repo_name}-renamed")
    page.get_by_label("Type").fill(f"alice/{repo_name}-renamed")
    page.get_by_role("button", name="Delete repository").click()
    page.wait_for_url("**/alice")
    assert not api.repo_exists(f"alice/{repo_name}-renamed")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def hooks_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Identities]]:
    """A server of its own that may deliver to 127.0.0.1, where this module's receiver listens (the
    shared one refuses local targets, and a test must not reach outside the machine)."""
    extra = {"DOCKYARD_WEBHOOK_ALLOWED_TARGETS": "127.0.0.1/32"}
    live = start_server(tmp_path_factory.mktemp("web-hooks"), free_port(), extra, backend=EMBEDDED, processes=1)
    try:
        yield live, create_identities(live.data_dir, live.env)
    finally:
        live.stop()


def test_a_webhook_is_added_and_its_delivery_log_shown(
    browser: Any, hooks_server: tuple[LiveServer, Identities], receiver: Receiver, repo_name: str
) -> None:
    server, ids = hooks_server
    repo_id = f"alice/{repo_name}"
    api = _make(server, ids, repo_id)
    context = browser.new_context(base_url=server.url, viewport=DESKTOP)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        log_in(page, "alice")
        page.goto(f"/{repo_id}/settings")
        page.get_by_label("Target URL").fill("http://10.1.2.3/hook")  # a private address: refused
        page.get_by_role("button", name="Add webhook").click()
        assert "does not deliver to" in page.get_by_role("alert").inner_text()
        page.get_by_label("Target URL").fill(f"{receiver.url}/{repo_name}")
        page.get_by_role("button", name="Add webhook").click()
        assert page.get_by_role("status").inner_text() == "Webhook saved."
        assert page.get_by_role("heading", name=f"{receiver.url}/{repo_name}").is_visible()
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)
        assert wait_until(lambda: len(receiver.at(f"/{repo_name}")) >= 1, timeout=30)

        def delivered() -> bool:
            page.reload()
            row = page.locator("table.delivery-log tbody tr").first
            return row.count() == 1 and row.locator("td").nth(1).inner_text() == "delivered"

        assert wait_until(delivered, timeout=30)
        cells = page.locator("table.delivery-log tbody tr").first.locator("td")
        assert cells.first.inner_text() == "repo.content.update"
        assert cells.nth(2).inner_text() == "200"
        assert "x-webhook-secret" not in receiver.at(f"/{repo_name}")[-1].headers

        page.get_by_text("Edit webhook").click()  # a secret added later, never shown back
        page.get_by_label("New secret").fill("s3cret-later")
        page.get_by_role("button", name="Save webhook").click()
        assert page.get_by_role("status").inner_text() == "Webhook saved."
        assert "s3cret-later" not in page.content()
        before = len(receiver.at(f"/{repo_name}"))
        api.upload_file(path_or_fileobj=b"y", path_in_repo="y.txt", repo_id=repo_id)
        assert wait_until(lambda: len(receiver.at(f"/{repo_name}")) > before, timeout=30)
        assert receiver.at(f"/{repo_name}")[-1].headers.get("x-webhook-secret") == "s3cret-later"
    finally:
        context.close()


def test_xss_in_webhook_urls_and_access_answers_is_inert(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    _make(server, ids, repo_id)
    hostile_url = 'http://1.1.1.1:9/?x="><script>window.__xss=1</script><img src=x onerror=window.__xss=1>'
    with _client(server, ids.alice) as alice, _client(server, ids.bob) as bob:
        alice.put(f"/api/models/{repo_id}/settings", json={"gated": "manual"}).raise_for_status()
        answers = {f"q{i}": payload for i, payload in enumerate(XSS_PAYLOADS)}
        assert bob.post(f"/api/models/{repo_id}/ask-access", json=answers).status_code == 200
        created = alice.post(
            "/api/settings/webhooks",
            json={"url": hostile_url, "watched": [{"type": "model", "name": repo_id}], "domains": ["repo"]},
        )
        assert created.status_code == 200, created.text
    watch = ScriptWatch(page)
    log_in(page, "alice")
    page.goto(f"/{repo_id}/settings")
    assert page.get_by_role("heading", name=hostile_url).is_visible()
    assert page.get_by_text(XSS_PAYLOADS[0]).first.is_visible()
    assert not watch.ran()


def test_a_settings_form_without_its_csrf_token_changes_nothing(
    browse: Browse, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    api = _make(server, ids, repo_id)
    client = browse("alice")
    assert client.post(f"/{repo_id}/settings/visibility", data={"visibility": "private"}).status_code == 403
    assert api.model_info(repo_id).private is False
    token = csrf_of(client.get(f"/{repo_id}/settings").text)
    done = client.post(f"/{repo_id}/settings/visibility", data={"visibility": "private", "_csrf": token})
    assert done.status_code == 303
    assert api.model_info(repo_id).private is True
