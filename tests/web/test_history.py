"""The history pages in a browser: the commit list and its pages, one commit's diff (text, large
file, safetensors tensors), comparing two revisions, per-file history."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.support.accounts import Identities
from tests.support.browser import XSS_PAYLOADS, ScriptWatch, screenshots, serious_accessibility_violations
from tests.support.server import LiveServer
from tests.web.conftest import Browse
from tests.web.history_repos import History, history, long_history  # noqa: F401 - fixtures


def test_history_lists_commits_newest_first_and_pages(page: Any, long_history: str) -> None:  # noqa: F811
    page.goto(f"/{long_history}/commits/main")
    titles = page.locator(".commit-title")
    expect(titles).to_have_count(50)
    expect(titles.first).to_have_text("Count to 54")
    page.get_by_role("link", name="Older").click()
    expect(titles.first).to_have_text("Count to 4")
    expect(page.get_by_role("link", name="Older")).to_have_count(0)
    page.get_by_role("link", name="Newer").click()
    expect(titles.first).to_have_text("Count to 54")


def test_a_commit_page_shows_the_text_lines_removed_and_added(page: Any, history: History) -> None:  # noqa: F811
    page.goto(f"/{history.repo}/commits/main")
    page.get_by_role("link", name="Reword line two").first.click()
    page.wait_for_url(f"**/commit/{history.text_edit}")
    expect(page.locator(".diff-del .diff-code")).to_have_text("-removed: line two")
    expect(page.locator(".diff-add .diff-code")).to_have_text("+added: line 2 changed")
    expect(page.get_by_role("heading", name="Reword line two")).to_be_visible()


def test_a_large_file_change_shows_its_sizes_and_shas(page: Any, history: History) -> None:  # noqa: F811
    page.goto(f"/{history.repo}/commit/{history.lfs_grow}")
    expect(page.locator(".diff-old-size")).to_have_text("100 B")
    expect(page.locator(".diff-new-size")).to_have_text("250 B")
    shas = page.locator(".diff-sha")
    expect(shas).to_have_count(2)
    assert shas.nth(0).inner_text() != shas.nth(1).inner_text()
    assert len(shas.nth(1).inner_text()) == 64


def test_a_safetensors_change_lists_tensors_added_removed_and_changed(page: Any, history: History) -> None:  # noqa: F811
    page.goto(f"/{history.repo}/commit/{history.tensors}")
    rows = page.locator(".diff-tensors tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_text("aremovedF32 [2, 2]—")
    expect(rows.nth(1)).to_have_text("bchangedF32 [3]F16 [4, 3]")
    expect(rows.nth(2)).to_have_text("cadded—I64 [5]")


def test_compare_two_revisions_from_the_history_form(page: Any, history: History) -> None:  # noqa: F811
    page.goto(f"/{history.repo}/commits/main")
    page.get_by_label("Base").fill(history.first[:12])
    page.get_by_label("Head").fill(history.lfs_grow)
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(f"**/compare/{history.first[:12]}...{history.lfs_grow}")
    toc = page.locator(".diff-toc li a")
    expect(toc).to_have_text(["README.md", "weights.bin"])
    expect(page.locator(".diff-add .diff-code")).to_have_text("+added: line 2 changed")


def test_per_file_history_lists_only_the_commits_that_changed_it(page: Any, history: History) -> None:  # noqa: F811
    page.goto(f"/{history.repo}/commits/main/weights.bin")
    expect(page.locator(".commit-title")).to_have_text(["Grow the weights", "Add weights"])


def test_history_pages_are_accessible_and_kept_as_screenshots(page: Any, ids: Identities, history: History) -> None:  # noqa: F811
    for url, name in (
        (f"/{history.repo}/commits/main", "history-commits"),
        (f"/{history.repo}/commit/{history.text_edit}", "history-commit"),
        (f"/{history.repo}/commit/{history.tensors}", "history-commit-safetensors"),
        (f"/{history.repo}/compare/{history.first}...main", "history-compare"),
    ):
        page.goto(url)
        assert serious_accessibility_violations(page) == [], url
        screenshots(page, name)


def test_hostile_commit_messages_and_file_names_are_inert(page: Any, server: LiveServer, ids: Identities) -> None:
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    repo = f"alice/xss-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo)
    for number, payload in enumerate(XSS_PAYLOADS):
        content = f"{payload}\n".encode()
        operation = CommitOperationAdd(path_in_repo=f"file-{number}.txt", path_or_fileobj=content)
        api.create_commit(repo, operations=[operation], commit_message=payload, commit_description=payload)
    head = api.list_repo_commits(repo)[0].commit_id
    first = api.list_repo_commits(repo)[-1].commit_id
    watch = ScriptWatch(page)
    page.goto(f"/{repo}/compare/{first}...main")
    expect(page.locator(".diff-toc li a")).to_have_count(len(XSS_PAYLOADS))
    page.goto(f"/{repo}/commits/main")
    expect(page.locator(".commit-title").first).to_have_text(XSS_PAYLOADS[-1])
    page.goto(f"/{repo}/commit/{head}")
    expect(page.locator(".commit-heading")).to_have_text(XSS_PAYLOADS[-1])
    assert not watch.ran()


def test_unknown_revisions_and_malformed_compares_are_pages_not_crashes(browse: Browse, history: History) -> None:  # noqa: F811
    client = browse(None)
    assert client.get(f"/{history.repo}/commits/no-such-branch").status_code == 404
    assert client.get(f"/{history.repo}/commit/{'0' * 40}").status_code == 404
    assert client.get(f"/{history.repo}/compare/main").status_code == 400
    assert client.get(f"/{history.repo}/commits/main?p=x").status_code == 400


def test_dataset_history_and_the_first_commit_render(browse: Browse, server: LiveServer, ids: Identities) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    repo = f"alice/data-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo, repo_type="dataset")
    api.upload_file(path_or_fileobj=b"a,b\n1,2\n", path_in_repo="rows.csv", repo_id=repo, repo_type="dataset")
    client = browse(None)
    listing = client.get(f"/datasets/{repo}/commits/main")
    assert listing.status_code == 200
    assert f'href="/datasets/{repo}/commit/' in listing.text
    first = api.list_repo_commits(repo, repo_type="dataset")[-1].commit_id
    initial = client.get(f"/datasets/{repo}/commit/{first}")  # no parent: everything is added
    assert initial.status_code == 200
    assert ".gitattributes" in initial.text
    assert client.get(f"/{repo}/commits/main").status_code == 404  # not a model


def test_a_long_diff_is_cut_with_a_note(browse: Browse, server: LiveServer, ids: Identities) -> None:
    from huggingface_hub import HfApi

    from dockyard.web.diffs import MAX_FILE_LINES

    api = HfApi(endpoint=server.url, token=ids.alice)
    repo = f"alice/long-diff-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo)
    lines = "".join(f"line {n}\n" for n in range(MAX_FILE_LINES + 500)).encode()
    head = api.upload_file(path_or_fileobj=lines, path_in_repo="big.txt", repo_id=repo).oid
    html = browse(None).get(f"/{repo}/commit/{head}").text
    assert "This file's diff is long" in html
    assert html.count('class="diff-add"') == MAX_FILE_LINES - 1  # one row is the hunk header
    assert f"+{MAX_FILE_LINES + 500}" in html  # the count still covers every line
