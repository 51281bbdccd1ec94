"""The Community tab in a browser: open a discussion, comment in Markdown, edit, rename, close and
reopen; a pull request opened with huggingface_hub, its files-changed diff, merged in the browser."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.support.accounts import Identities
from tests.support.browser import XSS_PAYLOADS, ScriptWatch, screenshots, serious_accessibility_violations
from tests.support.server import LiveServer
from tests.web.conftest import Browse, log_in


def _repo(server: LiveServer, token: str, readme: bytes = b"# Card\n\nfirst line\n") -> str:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=token)
    repo = f"alice/community-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=readme, path_in_repo="README.md", repo_id=repo)
    return repo


def test_a_discussion_is_opened_commented_edited_renamed_closed_and_reopened(
    page: Any, server: LiveServer, ids: Identities
) -> None:
    repo = _repo(server, ids.alice)
    log_in(page, "alice")
    page.goto(f"/{repo}/discussions")
    page.get_by_role("link", name="New discussion").click()
    page.get_by_label("Title").fill("Which tokenizer?")
    page.get_by_label("Description (Markdown)").fill("Is it *BPE*?")
    page.get_by_role("button", name="Start discussion").click()
    page.wait_for_url(f"**/{repo}/discussions/1")
    expect(page.locator(".comment-body em")).to_have_text("BPE")

    page.get_by_label("Add a comment (Markdown)").fill("It is **byte-level** BPE.")
    page.get_by_role("button", name="Comment").click()
    expect(page.locator(".comment-body strong")).to_have_text("byte-level")

    second = page.locator(".comment").nth(1)
    second.locator("summary", has_text="Edit").click()
    second.get_by_label("Edit comment").fill("It is **unigram**, sorry.")
    second.get_by_role("button", name="Save comment").click()
    expect(page.locator(".comment").nth(1).locator(".comment-body strong")).to_have_text("unigram")
    expect(page.locator(".comment").nth(1)).to_contain_text("(edited)")

    page.locator("summary", has_text="Rename").click()
    page.get_by_label("New title").fill("Which tokenizer is used?")
    page.get_by_role("button", name="Save title").click()
    expect(page.locator("#discussion-title")).to_contain_text("Which tokenizer is used?")
    expect(page.locator(".timeline-event").first).to_contain_text("changed the title")

    page.get_by_role("button", name="Close discussion").click()
    expect(page.locator("#discussion-status")).to_have_text("closed")
    page.get_by_role("button", name="Reopen discussion").click()
    expect(page.locator("#discussion-status")).to_have_text("open")
    assert serious_accessibility_violations(page) == []
    screenshots(page, "community-discussion")


def test_a_pull_request_from_huggingface_hub_is_reviewed_and_merged_in_the_browser(
    page: Any, server: LiveServer, ids: Identities
) -> None:
    from huggingface_hub import CommitOperationAdd, HfApi

    repo = _repo(server, ids.alice)
    bob = HfApi(endpoint=server.url, token=ids.bob)
    operations = [
        CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=b"# Card\n\nbetter line\n"),
        CommitOperationAdd(path_in_repo="notes.txt", path_or_fileobj=b"new notes\n"),
    ]
    created = bob.create_commit(repo, operations=operations, commit_message="Improve the card", create_pr=True)
    assert created.pr_num is not None
    log_in(page, "alice")
    page.goto(f"/{repo}/discussions?type=pr")
    page.get_by_role("link", name="Improve the card").click()
    expect(page.get_by_role("heading", name="Files changed")).to_be_visible()
    expect(page.locator(".diff-toc li a")).to_have_text(["README.md", "notes.txt"])
    expect(page.locator(".diff-del .diff-code")).to_have_text("-removed: first line")
    expect(page.locator(".diff-add .diff-code").first).to_have_text("+added: better line")
    assert serious_accessibility_violations(page) == []
    screenshots(page, "community-pull-request")

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Merge pull request").click()
    expect(page.locator("#discussion-status")).to_have_text("merged")
    expect(page.get_by_role("button", name="Merge pull request")).to_have_count(0)
    page.goto(f"/{repo}/commits/main")
    expect(page.locator(".commit-title").first).to_have_text(f"Improve the card (#{created.pr_num})")
    files = HfApi(endpoint=server.url, token=ids.alice).list_repo_files(repo)
    assert "notes.txt" in files


def test_lists_filter_by_status_type_and_author(browse: Browse, server: LiveServer, ids: Identities) -> None:
    from huggingface_hub import CommitOperationAdd, HfApi

    repo = _repo(server, ids.alice)
    alice, bob = HfApi(endpoint=server.url, token=ids.alice), HfApi(endpoint=server.url, token=ids.bob)
    alice.create_discussion(repo, title="Alice asks")
    closed = bob.create_discussion(repo, title="Bob asks")
    alice.change_discussion_status(repo, closed.num, "closed")
    operation = CommitOperationAdd(path_in_repo="x.txt", path_or_fileobj=b"x\n")
    bob.create_commit(repo, operations=[operation], commit_message="Bob proposes", create_pr=True)
    client = browse(None)

    def titles(query: str) -> list[str]:
        html = client.get(f"/{repo}/discussions{query}").text
        return [title for title in ("Alice asks", "Bob asks", "Bob proposes") if f">{title}</a>" in html]

    assert titles("") == ["Alice asks", "Bob proposes"]  # open by default
    assert titles("?status=closed") == ["Bob asks"]
    assert titles("?status=all&type=pr") == ["Bob proposes"]
    assert titles("?status=all&type=discussion") == ["Alice asks", "Bob asks"]
    assert titles("?status=all&author=bob") == ["Bob asks", "Bob proposes"]
    assert client.get(f"/{repo}/discussions?status=nonsense").status_code == 400


def test_a_writer_hides_a_comment_and_others_no_longer_read_it(
    browse: Browse, server: LiveServer, ids: Identities
) -> None:
    from huggingface_hub import HfApi

    repo = _repo(server, ids.alice)
    bob = HfApi(endpoint=server.url, token=ids.bob)
    discussion = bob.create_discussion(repo, title="Spam?", description="buy cheap watches")
    comment_id = bob.get_discussion_details(repo, discussion.num).events[0].id
    alice = browse("alice")
    url = f"/{repo}/discussions/{discussion.num}"
    token = _csrf(alice.get(url).text)
    hidden = alice.post(f"{url}/comment/{comment_id}/hide", data={"_csrf": token})
    assert hidden.status_code == 303
    assert "buy cheap watches" not in browse("carol").get(url).text
    assert "This comment has been hidden." in browse("carol").get(url).text
    assert "buy cheap watches" in alice.get(url).text  # writers still read it


def test_hostile_discussion_titles_and_comments_are_inert(page: Any, server: LiveServer, ids: Identities) -> None:
    from huggingface_hub import HfApi

    repo = _repo(server, ids.alice)
    api = HfApi(endpoint=server.url, token=ids.bob)
    for payload in XSS_PAYLOADS:
        discussion = api.create_discussion(repo, title=payload[:200], description=payload)
        api.comment_discussion(repo, discussion.num, payload)
    watch = ScriptWatch(page)
    log_in(page, "alice")
    page.goto(f"/{repo}/discussions")
    expect(page.locator(".discussion-row")).to_have_count(len(XSS_PAYLOADS))
    for num in range(1, len(XSS_PAYLOADS) + 1):
        page.goto(f"/{repo}/discussions/{num}")
        expect(page.locator(".comment")).to_have_count(2)
    expect(page.locator("#discussion-title")).to_contain_text("{{7*7}}")
    assert not watch.ran()


def test_the_list_and_new_form_are_accessible(page: Any, server: LiveServer, ids: Identities) -> None:
    from huggingface_hub import HfApi

    repo = _repo(server, ids.alice)
    HfApi(endpoint=server.url, token=ids.bob).create_discussion(repo, title="A question")
    log_in(page, "alice")
    page.goto(f"/{repo}/discussions")
    assert serious_accessibility_violations(page) == []
    screenshots(page, "community-list")
    page.get_by_role("link", name="New discussion").click()
    assert serious_accessibility_violations(page) == []


def _csrf(html: str) -> str:
    from tests.web.conftest import csrf_of

    return csrf_of(html)


def test_a_conflicting_pull_request_names_its_files_and_cannot_be_merged(
    browse: Browse, server: LiveServer, ids: Identities
) -> None:
    from huggingface_hub import CommitOperationAdd, HfApi

    repo = _repo(server, ids.alice)
    api = HfApi(endpoint=server.url, token=ids.alice)
    theirs = CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=b"# Card\n\ntheir line\n")
    num = api.create_commit(repo, operations=[theirs], commit_message="Theirs", create_pr=True).pr_num
    api.upload_file(path_or_fileobj=b"# Card\n\nour line\n", path_in_repo="README.md", repo_id=repo)
    alice = browse("alice")
    page = f"/{repo}/discussions/{num}"
    html = alice.get(page).text
    assert "has conflicts with its base: README.md" in html
    assert '<button class="button" type="submit" disabled>Merge pull request</button>' in html
    refused = alice.post(page + "/merge", data={"_csrf": _csrf(html)})
    assert refused.status_code == 409
    assert "conflicts in README.md" in refused.text
