"""Accounts in a real browser on the shared server (sign-up policy ``invite``, the default):
joining with an invite link, tokens used from huggingface_hub, passwords, reset links, sessions
and organisation members."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from playwright.sync_api import expect

from tests.support.accounts import PASSWORD, Identities
from tests.support.browser import XSS_PAYLOADS, ScriptWatch, screenshots, serious_accessibility_violations
from tests.support.server import LiveServer
from tests.web.conftest import Browse, csrf_of, log_in

NEW_PASSWORD = "a-brand-new-passphrase"


def new_user(server: LiveServer, fullname: str | None = None) -> str:
    """A user of this test alone (tests change passwords and sessions), made by the real CLI."""
    name = f"u-{uuid.uuid4().hex[:8]}"
    extra = ["--fullname", fullname] if fullname is not None else []
    server.cli("user", "create", name, "--password", PASSWORD, *extra)
    return name


def link_path(output: str) -> str:
    """The path of the link a CLI command printed on its last line."""
    url = output.strip().splitlines()[-1]
    return "/" + url.split("/", 3)[3]


def fill_join_form(page: Any, username: str, password: str = PASSWORD, confirm: str | None = None) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Full name").fill("New Person")
    page.get_by_label("Email").fill(f"{username}@example.org")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Confirm password").fill(password if confirm is None else confirm)
    page.get_by_role("button", name="Create account").click()


def test_a_person_joins_with_an_invite_link_from_the_cli(page: Any, server: LiveServer, ids: Identities) -> None:
    link = link_path(server.cli("user", "invite").stdout)
    page.goto(link)
    assert serious_accessibility_violations(page) == []
    screenshots(page, "accounts-join")
    username = f"j-{uuid.uuid4().hex[:8]}"
    fill_join_form(page, username, confirm="something-else")
    assert "The two passwords differ" in page.get_by_role("alert").inner_text()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/settings/profile?welcome=1")
    assert page.get_by_role("status").inner_text() == "Welcome to Dockyard! Your account is ready."
    assert page.get_by_label("Full name").input_value() == "New Person"
    assert "needs an invite link" in httpx.get(server.url + link).text  # the link was for one person


def test_joining_without_a_valid_invite_is_not_offered(browse: Browse) -> None:
    client = browse(None)
    for url in ("/join", "/join?invite=made-up"):
        html = client.get(url).text
        assert "needs an invite link" in html
        assert 'action="/join"' not in html
    form = {"username": "sneaky", "password": PASSWORD, "confirm": PASSWORD, "invite": "made-up"}
    refused = client.post("/join", data={**form, "_csrf": client.cookies["dockyard_csrf"]})
    assert refused.status_code == 400
    assert client.get("/api/users/sneaky/overview").status_code == 404


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("alice", PASSWORD, "already taken"),
        ("settings", PASSWORD, "reserved"),
        ("models", PASSWORD, "reserved"),
        ("reset", PASSWORD, "reserved"),
        ("bad name!", PASSWORD, "Use letters, digits"),
        ("fine-name-x", "short", "too short"),
    ],
)
def test_join_explains_what_to_correct(
    browse: Browse, server: LiveServer, username: str, password: str, message: str
) -> None:
    invite = link_path(server.cli("user", "invite").stdout).split("invite=", 1)[1]
    client = browse(None)
    client.get(f"/join?invite={invite}")
    form = {"username": username, "fullname": "", "email": "", "password": password, "confirm": password}
    answer = client.post("/join", data={**form, "invite": invite, "_csrf": client.cookies["dockyard_csrf"]})
    assert answer.status_code == 400
    assert message in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert "dockyard_session" not in answer.headers.get("set-cookie", "")


def test_a_token_made_in_the_page_works_from_huggingface_hub_until_revoked(page: Any, server: LiveServer) -> None:
    user = new_user(server)
    log_in(page, user)
    page.goto("/settings/tokens")
    page.get_by_label("Token name").fill("laptop")
    page.get_by_label("Write: also push and change your repos").check()
    page.get_by_role("button", name="Create token").click()
    value = page.get_by_label("New token value").input_value()
    assert value.startswith("dy_")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copy")).to_have_attribute("data-copied", "true")
    assert page.evaluate("() => navigator.clipboard.readText()") == value
    assert serious_accessibility_violations(page) == []
    screenshots(page, "accounts-tokens")
    api = HfApi(endpoint=server.url, token=value)
    whoami = api.whoami()
    assert whoami["name"] == user
    assert whoami["auth"]["accessToken"]["role"] == "write"
    page.goto("/settings/tokens")  # shown once: a new visit has no value
    assert page.get_by_label("New token value").count() == 0
    assert page.get_by_text("last used never").count() == 0  # whoami used it
    page.get_by_role("button", name="Revoke token laptop").click()
    page.wait_for_url("**/settings/tokens")
    assert page.get_by_text("You have no tokens yet.").is_visible()
    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(endpoint=server.url, token=value).whoami()
    assert refused.value.response.status_code == 401


def test_a_fine_grained_token_is_limited_to_the_ticked_scopes(page: Any, server: LiveServer, ids: Identities) -> None:
    log_in(page, "alice")
    page.goto("/settings/tokens")
    name = f"acme reader {uuid.uuid4().hex[:8]}"
    page.get_by_label("Token name").fill(name)
    page.get_by_label("Fine-grained: only the repos and organisations ticked below").check()
    page.get_by_role("checkbox", name="Read All repos of acme").check()
    page.get_by_role("button", name="Create token").click()
    value = page.get_by_label("New token value").input_value()
    token = HfApi(endpoint=server.url, token=value).whoami()["auth"]["accessToken"]
    assert token["role"] == "fineGrained"
    assert token["fineGrained"]["scoped"] == [
        {"entity": {"type": "org", "name": "acme"}, "permissions": ["repo.content.read"]}
    ]
    listed = page.locator("li.settings-item", has_text=name)
    assert listed.get_by_text("read · org acme").is_visible()


def test_a_fine_grained_token_needs_a_ticked_scope(page: Any, server: LiveServer) -> None:
    log_in(page, new_user(server))
    page.goto("/settings/tokens")
    page.get_by_label("Token name").fill("nothing")
    page.get_by_label("Fine-grained: only the repos and organisations ticked below").check()
    page.get_by_role("button", name="Create token").click()
    assert "needs at least one permission" in page.get_by_role("alert").inner_text()


def test_changing_the_password_signs_out_the_other_browsers(browser: Any, page: Any, server: LiveServer) -> None:
    user = new_user(server)
    other = browser.new_context(base_url=server.url)
    try:
        other_page = other.new_page()
        log_in(other_page, user)
        log_in(page, user)
        page.goto("/settings/password")
        page.get_by_label("Current password").fill("wrong-password")
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Change password").click()
        assert page.get_by_role("alert").inner_text() == "The current password is wrong"
        page.get_by_label("Current password").fill(PASSWORD)
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Change password").click()
        page.wait_for_url("**/settings/password?changed=1")
        assert "other sessions were signed out" in page.get_by_role("status").inner_text()
        other_page.goto("/settings/profile")
        assert "/login" in other_page.url  # the other browser is signed out
        log_in(other_page, user, NEW_PASSWORD)
        assert "/login" not in other_page.url
    finally:
        other.close()


def test_a_reset_link_from_the_cli_sets_a_new_password_once(page: Any, server: LiveServer) -> None:
    user = new_user(server)
    link = link_path(server.cli("user", "reset-link", user).stdout)
    page.goto(link)
    assert page.get_by_text(f"For the account {user}").is_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url("**/login?**")
    assert "password was changed" in page.get_by_role("status").inner_text()
    assert page.get_by_label("Username").input_value() == user
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/settings/profile")
    assert page.goto(link).status == 404  # one use only


def test_revoking_a_session_signs_that_browser_out(browser: Any, page: Any, server: LiveServer) -> None:
    user = new_user(server)
    other = browser.new_context(base_url=server.url, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
    try:
        other_page = other.new_page()
        log_in(other_page, user)
        log_in(page, user)
        page.goto("/settings/sessions")
        assert page.get_by_text("This browser").is_visible()
        page.get_by_role("button", name="Revoke session Firefox on Linux").click()
        page.wait_for_url("**/settings/sessions")
        assert page.get_by_text("Firefox on Linux").count() == 0
        other_page.goto("/settings/tokens")
        assert "/login" in other_page.url
        page.goto("/settings/tokens")  # this browser is still signed in
        assert "/settings/tokens" in page.url
    finally:
        other.close()


def test_an_org_admin_changes_a_member_role(page: Any, server: LiveServer, ids: Identities) -> None:
    org = f"o-{uuid.uuid4().hex[:8]}"
    member = new_user(server)
    server.cli("org", "create", org, "--owner", "alice")
    server.cli("org", "add-member", org, member, "--role", "read")
    log_in(page, "alice")
    page.goto(f"/organizations/{org}/settings/members")
    page.get_by_label(f"Role of {member}", exact=True).select_option("write")
    page.get_by_role("button", name=f"Save role of {member}").click()
    page.wait_for_url(f"**/organizations/{org}/settings/members")
    assert page.get_by_label(f"Role of {member}", exact=True).input_value() == "write"
    page.get_by_label("Role of alice", exact=True).select_option("read")  # the last admin cannot step down
    page.get_by_role("button", name="Save role of alice").click()
    assert "last admin" in page.get_by_role("alert").inner_text()
    page.goto(f"/organizations/{org}/settings/members")
    page.get_by_role("button", name=f"Remove {member}").click()
    page.wait_for_url(f"**/organizations/{org}/settings/members")
    assert page.get_by_label(f"Role of {member}", exact=True).count() == 0


def test_an_org_invite_link_makes_the_person_who_opens_it_a_member(
    browser: Any, page: Any, server: LiveServer, ids: Identities
) -> None:
    org = f"o-{uuid.uuid4().hex[:8]}"
    server.cli("org", "create", org, "--owner", "alice")
    log_in(page, "alice")
    page.goto(f"/organizations/{org}/settings/members")
    page.get_by_label("Role given by the link").select_option("write")
    page.get_by_role("button", name="Create invite link").click()
    link = page.get_by_label("Invite link", exact=True).input_value()
    assert serious_accessibility_violations(page) == []
    screenshots(page, "accounts-org-members")
    joiner = new_user(server)
    other = browser.new_context(base_url=server.url)
    try:
        other_page = other.new_page()
        other_page.goto(link)
        other_page.get_by_role("link", name="Log in to join").click()
        other_page.get_by_label("Username").fill(joiner)
        other_page.get_by_label("Password").fill(PASSWORD)
        other_page.get_by_role("button", name="Log in").click()
        other_page.get_by_role("button", name=f"Join {org}").click()
        other_page.wait_for_url(f"**/{org}")
    finally:
        other.close()
    page.goto(f"/organizations/{org}/settings/members")
    assert page.get_by_label(f"Role of {joiner}", exact=True).input_value() == "write"


def test_org_default_visibility_is_set_in_the_page(page: Any, server: LiveServer, ids: Identities) -> None:
    org = f"o-{uuid.uuid4().hex[:8]}"
    server.cli("org", "create", org, "--owner", "alice")
    log_in(page, "alice")
    page.goto(f"/organizations/{org}/settings")
    page.get_by_label("Public: everyone sees them").check()
    page.get_by_role("button", name="Save visibility").click()
    page.wait_for_url("**?saved=1")
    repo = HfApi(endpoint=server.url, token=ids.alice).create_repo(f"{org}/default-vis")
    assert HfApi(endpoint=server.url, token=ids.alice).model_info(repo.repo_id).private is False


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def test_profile_and_picture(page: Any, server: LiveServer, browse: Browse) -> None:
    user = new_user(server)
    generated = httpx.get(f"{server.url}/-/avatars/{user}")
    assert generated.headers["content-type"].startswith("image/svg+xml")
    assert generated.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in generated.text
    log_in(page, user)
    page.goto("/settings/profile")
    assert serious_accessibility_violations(page) == []
    screenshots(page, "accounts-profile")
    page.get_by_label("Full name").fill("Renamed Person")
    page.get_by_role("button", name="Save profile").click()
    page.wait_for_url("**?saved=1")
    assert page.get_by_label("Full name").input_value() == "Renamed Person"
    page.get_by_label("Upload a picture").set_input_files(
        {"name": "me.html", "mimeType": "image/png", "buffer": b"<html><script>x</script>"}
    )
    page.get_by_role("button", name="Upload picture").click()
    assert "must be a PNG, JPEG, WebP or GIF" in page.get_by_role("alert").inner_text()
    page.get_by_label("Upload a picture").set_input_files({"name": "me.txt", "mimeType": "text/plain", "buffer": PNG})
    page.get_by_role("button", name="Upload picture").click()
    page.wait_for_url("**?saved=1")
    served = httpx.get(f"{server.url}/-/avatars/{user}")
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"  # sniffed, not the declared type
    assert served.headers["x-content-type-options"] == "nosniff"


def test_a_picture_over_the_limit_is_refused(browse: Browse, server: LiveServer) -> None:
    client = browse(new_user(server))
    token = csrf_of(client.get("/settings/profile").text)
    big = PNG + b"\x00" * (1024 * 1024)
    answer = client.post(
        "/settings/profile/avatar", data={"_csrf": token}, files={"avatar": ("a.png", big, "image/png")}
    )
    assert answer.status_code == 400
    assert "too large" in answer.text


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_hostile_names_and_token_labels_are_inert(page: Any, server: LiveServer, payload: str) -> None:
    user = new_user(server, fullname=payload)
    log_in(page, user)
    watch = ScriptWatch(page)
    page.goto("/settings/tokens")
    page.get_by_label("Token name").fill(payload)
    page.get_by_role("button", name="Create token").click()
    assert page.get_by_label("New token value").is_visible()
    for url in ("/settings/tokens", "/settings/profile", "/settings/sessions"):
        page.goto(url)
    page.goto("/settings/profile")
    assert page.get_by_label("Full name").input_value() == payload
    assert not watch.ran()


def test_the_login_page_is_accessible_and_pictured(page: Any) -> None:
    page.goto("/login")
    assert serious_accessibility_violations(page) == []
    screenshots(page, "accounts-login")


def test_hostile_member_names_are_inert_on_the_members_page(page: Any, server: LiveServer, ids: Identities) -> None:
    org = f"o-{uuid.uuid4().hex[:8]}"
    server.cli("org", "create", org, "--owner", "alice", "--fullname", "".join(XSS_PAYLOADS))
    hostile = new_user(server, fullname="".join(XSS_PAYLOADS))
    server.cli("org", "add-member", org, hostile, "--role", "read")
    log_in(page, "alice")
    watch = ScriptWatch(page)
    page.goto(f"/organizations/{org}/settings/members")
    assert page.get_by_label(f"Role of {hostile}", exact=True).input_value() == "read"
    page.goto(f"/organizations/{org}/settings")
    assert not watch.ran()


def test_a_fine_grained_token_can_be_scoped_to_one_bucket(page: Any, server: LiveServer, ids: Identities) -> None:
    bucket = f"alice/scoped-{uuid.uuid4().hex[:8]}"
    other = f"{bucket}-other"
    owner = HfApi(endpoint=server.url, token=ids.alice)
    owner.create_bucket(bucket, private=True)
    owner.create_bucket(other, private=True)
    log_in(page, "alice")
    page.goto(f"/settings/tokens?repos={bucket.split('/')[1]}")
    page.get_by_label("Token name").fill(f"bucket writer {uuid.uuid4().hex[:8]}")
    page.get_by_label("Fine-grained: only the repos and organisations ticked below").check()
    page.get_by_role("checkbox", name=f"Write bucket {bucket}", exact=True).check()
    page.get_by_role("button", name="Create token").click()
    scoped = HfApi(endpoint=server.url, token=page.get_by_label("New token value").input_value())
    assert scoped.bucket_info(bucket).id == bucket
    with pytest.raises(HfHubHTTPError):
        scoped.bucket_info(other)
