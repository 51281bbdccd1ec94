"""Files and versions in the browser and over plain HTTP: the folder listing, the revision
picker, breadcrumbs, and each file viewer (code, JSON, CSV, Parquet, safetensors, image, Markdown)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.support.accounts import Identities
from tests.support.browser import screenshots, serious_accessibility_violations
from tests.support.server import LiveServer
from tests.support.waiting import wait_until
from tests.web.conftest import Browse
from tests.web.files_fixtures import FilesRepo, make_files_repo, parquet_bytes, safetensors_bytes  # noqa: F401
from tests.web.matrix import WebRepos


def test_a_person_walks_from_the_tree_to_a_file_and_back(page: Any, files_repo: FilesRepo) -> None:
    page.goto(f"{files_repo.url}/tree/main")
    page.get_by_role("link", name="src/", exact=True).click()
    page.wait_for_url(f"**{files_repo.url}/tree/main/src")
    page.get_by_role("link", name="app.py", exact=True).click()
    page.wait_for_url(f"**{files_repo.url}/blob/main/src/app.py")
    assert page.locator(".highlight .kn").first.inner_text() == "import"  # Pygments classes, server-side
    assert page.locator(".highlight .nf").first.inner_text() == "greet"
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    crumbs.get_by_role("link", name="src").click()
    page.wait_for_url(f"**{files_repo.url}/tree/main/src")
    repo_name = files_repo.repo_id.split("/")[1]
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name=repo_name).click()
    page.wait_for_url(f"**{files_repo.url}/tree/main")
    assert page.get_by_role("link", name="model.safetensors", exact=True).is_visible()


def test_folders_come_first_with_sizes_and_large_file_badges(browse: Browse, files_repo: FilesRepo) -> None:
    html = browse(None).get(f"{files_repo.url}/tree/main").text
    names = re.findall(r'<a href="/[^"]*/(?:tree|blob)/main/[^"]*">([^<]+)</a>', html)
    folders = [name for name in names if name.endswith("/")]
    assert names[: len(folders)] == folders == ["data/", "docs/", "images/", "src/"]
    row = html[html.index(">model.safetensors<") :].split("</tr>", 1)[0]
    assert re.search(r">(Xet|LFS)</span>", row), row  # safetensors go to large-file storage by default
    assert "Bytes" in row
    assert "Add the demo files" in row  # the entry's last commit


def test_switching_branch_in_the_picker_shows_that_branch(page: Any, files_repo: FilesRepo) -> None:
    page.goto(f"{files_repo.url}/tree/main")
    assert page.get_by_role("link", name="dev-notes.txt", exact=True).count() == 0
    page.locator("form[data-module='files'][data-module-ready]").wait_for()  # the picker's script ran
    page.get_by_label("Revision").select_option("dev")
    page.wait_for_url(f"**{files_repo.url}/tree/dev")
    assert page.get_by_role("link", name="dev-notes.txt", exact=True).is_visible()
    assert page.get_by_label("Revision").input_value() == "dev"


def test_the_picker_works_without_script_and_lists_tags(browse: Browse, files_repo: FilesRepo) -> None:
    client = browse(None)
    html = client.get(f"{files_repo.url}/blob/main/config.json").text
    assert '<option value="v1">v1</option>' in html
    response = client.get(f"{files_repo.url}/blob/main/config.json", params={"switch": "v1"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{files_repo.url}/blob/v1/config.json"
    assert client.get(response.headers["location"]).status_code == 200


def test_a_pull_request_revision_with_encoded_slashes(browse: Browse, files_repo: FilesRepo, ids: Identities) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=str(browse(None).base_url).rstrip("/"), token=ids.alice)
    info = api.upload_file(
        path_or_fileobj=b"proposed\n",
        path_in_repo="proposal.txt",
        repo_id=files_repo.repo_id,
        create_pr=True,
        repo_type="dataset",
    )
    ref = info.pr_revision
    assert ref is not None
    assert ref.startswith("refs/pr/")
    encoded = ref.replace("/", "%2F")
    client = browse(None)
    tree = client.get(f"{files_repo.url}/tree/{encoded}")
    assert tree.status_code == 200
    assert "proposal.txt" in tree.text
    blob = client.get(f"{files_repo.url}/blob/{encoded}/proposal.txt")
    assert blob.status_code == 200
    assert "proposed" in blob.text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("config.json", ['<span class="nt">"hidden_size"</span>', '<span class="w">    </span><span class="nt">"lay']),
        ("data/cities.csv", ['<th scope="col">population</th>', "<td>Lima</td>", "<td>9751000</td>"]),
        ("data/cities.parquet", ['<th scope="col">city</th>', "<td>Hanoi</td>", "<td>8053663</td>", "of 3 rows"]),
        (
            "model.safetensors",
            ["<code>embed.weight</code>", "<td>F32</td>", "<code>[4, 3]</code>", "<td>I64</td>", "2 tensors, 15 param"],
        ),
        ("images/dot.png", ['<img src="/datasets/{repo}/resolve/main/images/dot.png" alt="dot.png">']),
        ("docs/guide.md", ["<h1>Guide</h1>", "<strong>bold</strong>", 'href="/datasets/{repo}/blob/main/src/app.py"']),
    ],
)
def test_each_viewer_shows_its_file(browse: Browse, files_repo: FilesRepo, path: str, expected: list[str]) -> None:
    response = browse(None).get(f"{files_repo.url}/blob/main/{path}")
    assert response.status_code == 200
    for fragment in expected:
        assert fragment.replace("{repo}", files_repo.repo_id) in response.text, fragment
    assert f'href="{files_repo.url}/resolve/main/{path}?download=true"' in response.text
    assert f'href="{files_repo.url}/commits/main/{path}"' in response.text


def test_markdown_source_is_one_click_away(browse: Browse, files_repo: FilesRepo) -> None:
    source = browse(None).get(f"{files_repo.url}/blob/main/docs/guide.md", params={"plain": "1"}).text
    assert "<h1>Guide</h1>" not in source
    assert "**bold**" in source


def test_a_folder_url_under_blob_goes_to_the_tree(browse: Browse, files_repo: FilesRepo) -> None:
    response = browse(None).get(f"{files_repo.url}/blob/main/src")
    assert response.status_code == 303
    assert response.headers["location"] == f"{files_repo.url}/tree/main/src"
    missing = browse(None).get(f"{files_repo.url}/blob/main/nothing.txt")
    assert missing.status_code == 404
    assert "<html" in missing.text.lower()
    assert browse(None).get(f"{files_repo.url}/tree/no-such-branch").status_code == 404


def test_the_download_link_saves_the_file(browse: Browse, files_repo: FilesRepo) -> None:
    response = browse(None).get(f"{files_repo.url}/resolve/main/src/app.py?download=true")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    inline = browse(None).get(f"{files_repo.url}/resolve/main/src/app.py")
    assert inline.headers["content-disposition"].startswith("inline")


def test_a_binary_file_is_a_download_link_without_its_bytes(
    browse: Browse, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    api.create_repo(f"alice/{repo_name}")
    blob = bytes(range(256)) * 8
    api.upload_file(path_or_fileobj=blob, path_in_repo="weights.dat", repo_id=f"alice/{repo_name}")
    html = browse(None).get(f"/alice/{repo_name}/blob/main/weights.dat").text
    assert "This file is binary" in html
    assert f'href="/alice/{repo_name}/resolve/main/weights.dat?download=true"' in html
    assert "<pre" not in html


def test_a_long_text_file_is_shown_in_part(browse: Browse, server: LiveServer, ids: Identities, repo_name: str) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    api.create_repo(f"alice/{repo_name}")
    lines = "".join(f"line {n}\n" for n in range(60_000))  # ~600 KB: more than a page shows
    api.upload_file(path_or_fileobj=lines.encode(), path_in_repo="long.txt", repo_id=f"alice/{repo_name}")
    html = browse(None).get(f"/alice/{repo_name}/blob/main/long.txt").text
    assert "Showing the first 256 KB" in html
    assert "line 100\n" in html
    assert "line 59999" not in html


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("files-tree", "tree/main"),
        ("files-text", "blob/main/src/app.py"),
        ("files-safetensors", "blob/main/model.safetensors"),
        ("files-table", "blob/main/data/cities.parquet"),
        ("files-markdown", "blob/main/docs/guide.md"),
    ],
)
def test_file_pages_are_accessible_and_pictured(page: Any, files_repo: FilesRepo, name: str, path: str) -> None:
    page.goto(f"{files_repo.url}/{path}")
    assert serious_accessibility_violations(page) == []
    assert all(shot.stat().st_size > 0 for shot in screenshots(page, name))


KINDS = ("csv", "parquet", "safetensors")


@pytest.mark.parametrize("transfer", ["xet", "lfs"])
def test_xet_and_lfs_stored_files_render(
    browse: Browse, server: LiveServer, ids: Identities, monkeypatch: pytest.MonkeyPatch, transfer: str
) -> None:
    """Large files read through the same reader whether they came as Xet chunks or LFS blobs."""
    from huggingface_hub import HfApi, constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", transfer == "lfs")
    unique = uuid.uuid4().hex
    repo_id = f"alice/stored-{transfer}-{unique[:6]}"
    api = HfApi(endpoint=server.url, token=ids.alice)
    api.create_repo(repo_id, repo_type="dataset")
    files = {
        ".gitattributes": b"".join(f"*.{kind} filter=lfs diff=lfs merge=lfs -text\n".encode() for kind in KINDS),
        "model.safetensors": safetensors_bytes(unique),  # new content: stored the way this test sends it
        "rows.parquet": parquet_bytes(unique),
        "cities.csv": f"city,population\nOslo,709037\n{unique},1\n".encode(),
    }
    for path, data in files.items():  # one commit each: .gitattributes first, so the others go to LFS
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo_id, repo_type="dataset")
    client = browse(None)
    badge = "Xet" if transfer == "xet" else "LFS"
    tree = client.get(f"/datasets/{repo_id}/tree/main").text
    for name in ("model.safetensors", "rows.parquet", "cities.csv"):
        row = tree[tree.index(f">{name}<") :].split("</tr>", 1)[0]
        assert f">{badge}</span>" in row, (name, row)
    assert "<code>embed.weight</code>" in client.get(f"/datasets/{repo_id}/blob/main/model.safetensors").text
    assert "<td>Hanoi</td>" in client.get(f"/datasets/{repo_id}/blob/main/rows.parquet").text
    csv_page = client.get(f"/datasets/{repo_id}/blob/main/cities.csv").text
    assert "<td>Oslo</td>" in csv_page
    assert f">{badge}</span>" in csv_page


EVIL_PICKLE = b"cposix\nsystem\n(S'true'\ntR."  # would run os.system("true") if loaded


def test_a_dangerous_pickle_is_flagged_in_the_tree_and_viewer(
    browse: Browse, server: LiveServer, ids: Identities, repo_name: str
) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    api.create_repo(f"alice/{repo_name}")
    api.upload_file(path_or_fileobj=EVIL_PICKLE, path_in_repo="evil.pkl", repo_id=f"alice/{repo_name}")
    api.upload_file(path_or_fileobj=b"fine\n", path_in_repo="notes.txt", repo_id=f"alice/{repo_name}")
    client = browse(None)

    def flagged() -> bool:
        return 'title="Security scan: unsafe">unsafe</span>' in client.get(f"/alice/{repo_name}/tree/main").text

    assert wait_until(flagged, timeout=30)  # the scan runs as a job after the upload
    tree = client.get(f"/alice/{repo_name}/tree/main").text
    notes_row = tree[tree.index(">notes.txt<") :].split("</tr>", 1)[0]
    assert "Security scan" not in notes_row  # text files need no verdict
    viewer = client.get(f"/alice/{repo_name}/blob/main/evil.pkl").text
    assert 'title="Security scan: unsafe">unsafe</span>' in viewer
    assert "This file is binary" in viewer  # a pickle is never shown, only offered as a download


def test_the_gated_banner_is_accessible(page: Any, web_repos: WebRepos) -> None:
    page.goto(f"/{web_repos.gated}/blob/main/config.json")
    assert page.get_by_role("heading", name="This file is in a gated repository").is_visible()
    assert serious_accessibility_violations(page) == []
    assert all(shot.stat().st_size > 0 for shot in screenshots(page, "files-gated"))
