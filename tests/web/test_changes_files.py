"""Creating repos and changing their files in a real browser: the /new form, drag-and-drop upload
(small files inline, a binary file through the browser's LFS batch path), upload as a pull
request, and creating and editing files with a preview, directly or as a pull request."""

from __future__ import annotations

import os
from typing import Any

from huggingface_hub import HfApi, hf_hub_download

from tests.support.accounts import Identities
from tests.support.browser import ScriptWatch, screenshots, serious_accessibility_violations
from tests.support.server import LiveServer
from tests.web.conftest import Browse, csrf_of, log_in


def _api(server: LiveServer, ids: Identities) -> HfApi:
    return HfApi(endpoint=server.url, token=ids.alice)


def test_a_person_creates_a_repo_with_the_form(page: Any, server: LiveServer, ids: Identities, repo_name: str) -> None:
    log_in(page, "alice")
    page.goto("/new")
    assert serious_accessibility_violations(page) == []
    screenshots(page, "changes-new-repo")
    page.get_by_label("Repository name").fill(repo_name)
    page.get_by_label("License").fill("mit")
    page.get_by_role("button", name="Create repository").click()
    page.wait_for_url(f"**/alice/{repo_name}")
    info = _api(server, ids).model_info(f"alice/{repo_name}")
    assert info.private is False
    assert info.card_data is not None
    assert info.card_data.get("license") == "mit"


def test_a_private_dataset_in_an_org_is_created(page: Any, server: LiveServer, ids: Identities, repo_name: str) -> None:
    log_in(page, "dave")  # a write member of acme
    page.goto("/new-dataset")
    page.get_by_label("Owner").select_option("acme")
    page.get_by_label("Repository name").fill(repo_name)
    page.get_by_label("Private").check()
    page.get_by_role("button", name="Create repository").click()
    page.wait_for_url(f"**/datasets/acme/{repo_name}")
    info = _api(server, ids).dataset_info(f"acme/{repo_name}")
    assert info.private is True


def test_the_owner_list_holds_only_namespaces_the_viewer_may_write(browse: Browse) -> None:
    carol = browse("carol").get("/new").text  # a read member of acme
    assert '<option value="carol"' in carol
    assert '<option value="acme"' not in carol


def test_creating_in_an_org_one_cannot_write_is_refused(browse: Browse, repo_name: str) -> None:
    client = browse("carol")
    token = csrf_of(client.get("/new").text)
    form = {"_csrf": token, "type": "model", "owner": "acme", "name": repo_name, "visibility": "public"}
    response = client.post("/new", data=form)
    assert response.status_code == 403
    assert "rights to create" in response.text


def test_new_repo_page_sends_anonymous_visitors_to_log_in(browse: Browse) -> None:
    response = browse(None).get("/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/new"


def test_an_anonymous_post_to_new_creates_nothing(browse: Browse, repo_name: str) -> None:
    client = browse(None)
    client.get("/login")
    form = {"_csrf": client.cookies["dockyard_csrf"], "type": "model", "owner": "alice", "name": repo_name}
    response = client.post("/new", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/new"
    assert browse("alice").get(f"/alice/{repo_name}/settings").status_code == 404


def test_the_plain_upload_form_refuses_a_binary_file_that_needs_lfs(
    browse: Browse, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api = _api(server, ids)
    api.create_repo(f"alice/{repo_name}")
    client = browse("alice")
    token = csrf_of(client.get(f"/alice/{repo_name}/upload/main").text)
    response = client.post(
        f"/alice/{repo_name}/upload/main",
        data={"_csrf": token},
        files={"files": ("weights.bin", b"\0\1\2", "application/octet-stream")},
    )
    assert response.status_code == 400
    assert "upload it with JavaScript enabled" in response.text
    assert "weights.bin" not in api.list_repo_files(f"alice/{repo_name}")


def _drop(page: Any, files: list[tuple[str, bytes]]) -> None:
    """Drop files on the drop zone, as a drag from the desktop does (a DataTransfer of Files)."""
    page.locator("form[data-module='upload'][data-module-ready]").wait_for()  # the drop handler is there
    payload = [{"name": name, "data": list(data)} for name, data in files]
    handle = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const f of files) transfer.items.add(new File([new Uint8Array(f.data)], f.name));
            return transfer;
        }""",
        payload,
    )
    page.dispatch_event("#upload-dropzone", "drop", {"dataTransfer": handle})


def test_drag_and_drop_upload_sends_a_binary_file_through_lfs(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api = _api(server, ids)
    api.create_repo(f"alice/{repo_name}")
    weights = os.urandom(300_000)
    log_in(page, "alice")
    page.goto(f"/alice/{repo_name}/upload/main")
    assert serious_accessibility_violations(page) == []
    screenshots(page, "changes-upload")
    _drop(page, [("notes.txt", b"small notes\n"), ("weights.bin", weights)])
    page.get_by_label("Commit message").fill("Add weights from the browser")
    page.get_by_role("button", name="Commit changes to main").click()
    page.wait_for_url(f"**/alice/{repo_name}/tree/main")
    files = {f.rfilename: f for f in api.model_info(f"alice/{repo_name}", files_metadata=True).siblings or []}
    assert files["weights.bin"].lfs is not None  # went through the LFS batch path
    assert files["notes.txt"].lfs is None
    downloaded = hf_hub_download(f"alice/{repo_name}", "weights.bin", endpoint=server.url, token=ids.alice)
    with open(downloaded, "rb") as handle:
        assert handle.read() == weights
    assert api.list_repo_commits(f"alice/{repo_name}")[0].title == "Add weights from the browser"


def test_upload_with_the_file_input_as_a_pull_request(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api = _api(server, ids)
    api.create_repo(f"alice/{repo_name}")
    log_in(page, "alice")
    page.goto(f"/alice/{repo_name}/upload/main")
    page.get_by_label("Files", exact=True).set_input_files(
        [{"name": "data.csv", "mimeType": "text/csv", "buffer": b"a,b\n1,2\n"}]
    )
    page.get_by_label("Open as a pull request").check()
    page.get_by_role("button", name="Commit changes to main").click()
    page.wait_for_url(f"**/alice/{repo_name}/discussions/1")
    pulls = list(api.get_repo_discussions(f"alice/{repo_name}"))
    assert [(p.num, p.is_pull_request) for p in pulls] == [(1, True)]
    assert "data.csv" not in api.list_repo_files(f"alice/{repo_name}")
    assert "data.csv" in api.list_repo_files(f"alice/{repo_name}", revision="refs/pr/1")


def test_an_outsider_can_only_propose_an_upload_as_a_pull_request(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api = _api(server, ids)
    api.create_repo(f"alice/{repo_name}")
    log_in(page, "bob")
    page.goto(f"/alice/{repo_name}/upload/main")
    assert page.get_by_label("Open as a pull request").is_disabled()
    page.get_by_label("Files", exact=True).set_input_files(
        [{"name": "bob.txt", "mimeType": "text/plain", "buffer": b"hi\n"}]
    )
    page.get_by_role("button", name="Commit changes to main").click()
    page.wait_for_url(f"**/alice/{repo_name}/discussions/1")
    assert "bob.txt" in api.list_repo_files(f"alice/{repo_name}", revision="refs/pr/1")


def test_upload_without_javascript_commits_small_files(
    browse: Browse, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api = _api(server, ids)
    api.create_repo(f"alice/{repo_name}")
    client = browse("alice")
    token = csrf_of(client.get(f"/alice/{repo_name}/upload/main").text)
    response = client.post(
        f"/alice/{repo_name}/upload/main",
        data={"_csrf": token, "summary": "plain form"},
        files={"files": ("plain.txt", b"no script\n", "text/plain")},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/alice/{repo_name}/tree/main"
    assert "plain.txt" in api.list_repo_files(f"alice/{repo_name}")


def test_files_are_uploaded_into_the_folder_the_url_names(
    page: Any, browse: Browse, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api = _api(server, ids)
    api.create_repo(f"alice/{repo_name}")
    log_in(page, "alice")
    page.goto(f"/alice/{repo_name}/upload/main/data/raw")
    _drop(page, [("a.bin", b"\0binary\0")])
    page.get_by_role("button", name="Commit changes to main").click()
    page.wait_for_url(f"**/alice/{repo_name}/tree/main/data/raw")
    client = browse("alice")
    token = csrf_of(client.get(f"/alice/{repo_name}/upload/main/docs").text)
    plain = client.post(
        f"/alice/{repo_name}/upload/main/docs", data={"_csrf": token}, files={"files": ("../b.txt", b"b\n")}
    )
    assert plain.headers["location"] == f"/alice/{repo_name}/tree/main/docs"
    assert {"data/raw/a.bin", "docs/b.txt"} <= set(api.list_repo_files(f"alice/{repo_name}"))


def test_a_readme_is_edited_with_a_preview_and_committed(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api = _api(server, ids)
    api.create_repo(f"alice/{repo_name}")
    api.upload_file(path_or_fileobj=b"# Old title\n", path_in_repo="README.md", repo_id=f"alice/{repo_name}")
    log_in(page, "alice")
    page.goto(f"/alice/{repo_name}/edit/main/README.md")
    assert serious_accessibility_violations(page) == []
    screenshots(page, "changes-edit")
    assert page.get_by_label("Content").input_value() == "# Old title\n"
    page.get_by_label("Content").fill("# New title\n\nSome **bold** words.\n")
    page.get_by_role("button", name="Preview").click()
    assert page.locator(".editor-preview strong").inner_text() == "bold"
    page.get_by_label("Commit message").fill("Better card")
    page.get_by_role("button", name="Commit changes").click()
    page.wait_for_url(f"**/alice/{repo_name}/blob/main/README.md")
    readme = hf_hub_download(f"alice/{repo_name}", "README.md", endpoint=server.url, token=ids.alice)
    with open(readme, encoding="utf-8") as handle:
        assert handle.read() == "# New title\n\nSome **bold** words.\n"
    assert api.list_repo_commits(f"alice/{repo_name}")[0].title == "Better card"


def test_a_file_is_edited_as_a_pull_request(page: Any, server: LiveServer, ids: Identities, repo_name: str) -> None:
    api = _api(server, ids)
    api.create_repo(f"alice/{repo_name}")
    api.upload_file(path_or_fileobj=b"a = 1\n", path_in_repo="code.py", repo_id=f"alice/{repo_name}")
    log_in(page, "alice")
    page.goto(f"/alice/{repo_name}/edit/main/code.py")
    page.get_by_label("Content").fill("a = 2\n")
    page.get_by_label("Open as a pull request").check()
    page.get_by_role("button", name="Commit changes").click()
    page.wait_for_url(f"**/alice/{repo_name}/discussions/1")
    assert api.list_repo_files(f"alice/{repo_name}", revision="refs/pr/1")
    changed = hf_hub_download(f"alice/{repo_name}", "code.py", revision="refs/pr/1", endpoint=server.url)
    with open(changed, encoding="utf-8") as handle:
        assert handle.read() == "a = 2\n"


def test_a_new_file_is_created(page: Any, server: LiveServer, ids: Identities, repo_name: str) -> None:
    api = _api(server, ids)
    api.create_repo(f"alice/{repo_name}")
    log_in(page, "alice")
    page.goto(f"/alice/{repo_name}/new/main")
    page.get_by_label("File name").fill("docs/usage.md")
    page.get_by_label("Content").fill("Use it.\n")
    page.get_by_role("button", name="Commit changes").click()
    page.wait_for_url(f"**/alice/{repo_name}/blob/main/docs/usage.md")
    assert "docs/usage.md" in api.list_repo_files(f"alice/{repo_name}")


def test_xss_in_commit_messages_and_file_text_is_inert(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    from tests.support.browser import XSS_PAYLOADS

    api = _api(server, ids)
    api.create_repo(f"alice/{repo_name}")
    hostile = "\n\n".join(XSS_PAYLOADS)
    api.upload_file(path_or_fileobj=hostile.encode(), path_in_repo="README.md", repo_id=f"alice/{repo_name}")
    watch = ScriptWatch(page)
    log_in(page, "alice")
    page.goto(f"/alice/{repo_name}/edit/main/README.md")
    page.get_by_label("Commit message").fill(XSS_PAYLOADS[0])
    page.get_by_label("Extended description").fill(hostile)
    page.get_by_role("button", name="Preview").click()
    assert page.locator(".editor-preview").is_visible()
    assert page.get_by_label("Commit message").input_value() == XSS_PAYLOADS[0]
    assert not watch.ran()


def test_the_upload_page_ships_less_than_100_kb_of_javascript(page: Any, server: LiveServer, ids: Identities) -> None:
    scripts: list[int] = []
    page.on("response", lambda r: scripts.append(len(r.body())) if r.request.resource_type == "script" else None)
    log_in(page, "alice")
    scripts.clear()
    _api(server, ids).create_repo("alice/js-budget", exist_ok=True)
    page.goto("/alice/js-budget/upload/main", wait_until="networkidle")
    assert len(scripts) >= 2  # app.js and upload.js
    assert sum(scripts) < 100 * 1024


def test_a_dataset_takes_a_browser_lfs_upload_through_its_own_urls(
    page: Any, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api = _api(server, ids)
    api.create_repo(f"acme/{repo_name}", repo_type="dataset", private=False)
    rows = os.urandom(20_000)
    log_in(page, "dave")  # a write member of acme
    page.goto(f"/datasets/acme/{repo_name}/upload/main")
    _drop(page, [("train.parquet", rows)])
    page.get_by_role("button", name="Commit changes to main").click()
    page.wait_for_url(f"**/datasets/acme/{repo_name}/tree/main")
    stored = hf_hub_download(f"acme/{repo_name}", "train.parquet", repo_type="dataset", endpoint=server.url)
    with open(stored, "rb") as handle:
        assert handle.read() == rows
    info = api.dataset_info(f"acme/{repo_name}", files_metadata=True)
    assert next(f for f in info.siblings or [] if f.rfilename == "train.parquet").lfs is not None
