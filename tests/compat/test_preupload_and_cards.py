"""preupload's ``shouldIgnore`` (the payload's ``gitIgnore``, else the revision's ``.gitignore``)
and ``validate-yaml`` (the Hub's metadata schema), through the real client."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, RepoCard

from tests.support.server import LiveServer


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_upload_folder_skips_what_its_gitignore_ignores(api: HfApi, repo_name: str, tmp_path: Path) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    folder = _write(
        tmp_path,
        {
            ".gitignore": b"*.log\nbuild/\n!keep.log\n",
            "model.txt": b"weights",
            "debug.log": b"noise",
            "keep.log": b"kept by negation",
            "build/out.txt": b"artefact",
            "src/build/deep.txt": b"also a build folder",
        },
    )
    api.upload_folder(folder_path=folder, repo_id=repo_id)
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", ".gitignore", "keep.log", "model.txt"]


def test_the_revisions_gitignore_applies_when_none_is_sent(api: HfApi, repo_name: str, tmp_path: Path) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"*.tmp\n", path_in_repo=".gitignore", repo_id=repo_id)
    folder = _write(tmp_path, {"scratch.tmp": b"temporary", "data.txt": b"data"})
    api.upload_folder(folder_path=folder, repo_id=repo_id)
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", ".gitignore", "data.txt"]


def test_preupload_answers_should_ignore(api: HfApi, repo_name: str, server: LiveServer, token: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"*.bin\n", path_in_repo=".gitignore", repo_id=repo_id)
    url = f"{server.url}/api/models/{repo_id}/preupload/main"
    files = [{"path": p, "size": 3, "sample": ""} for p in ("a.bin", "a.txt", "logs/x.log")]
    headers = {"Authorization": f"Bearer {token}"}

    def ignored(body: dict[str, object]) -> dict[str, bool]:
        answer = httpx.post(url, json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return {item["path"]: item["shouldIgnore"] for item in answer.json()["files"]}

    assert ignored({"files": files}) == {"a.bin": True, "a.txt": False, "logs/x.log": False}
    sent = ignored({"files": files, "gitIgnore": "logs/\n"})  # the payload's rules replace the repo's
    assert sent == {"a.bin": False, "a.txt": False, "logs/x.log": True}
    assert httpx.post(url, json={"files": files, "gitIgnore": 3}, headers=headers).status_code == 400
    huge = "\n".join(f"pattern-{i}" for i in range(5000))
    assert httpx.post(url, json={"files": files, "gitIgnore": huge}, headers=headers).status_code == 400


GOOD_CARD = """
---
license: apache-2.0
tags:
- text-classification
model-index:
- name: tiny
  results:
  - task: {type: text-classification}
    dataset: {type: imdb, name: IMDb}
    metrics:
    - {type: accuracy, value: 0.9}
---
# Tiny
"""


def test_valid_cards_pass_even_after_blank_lines(server: LiveServer) -> None:
    RepoCard(GOOD_CARD).validate()
    RepoCard("\n\n" + GOOD_CARD.lstrip()).validate()
    answer = httpx.post(f"{server.url}/api/validate-yaml", json={"content": "\n\n" + GOOD_CARD, "repoType": "model"})
    assert answer.json() == {"errors": [], "warnings": []}


@pytest.mark.parametrize(
    ("metadata", "complaint"),
    [
        ("license: not-a-license", "license"),
        ("tags: just-a-string", "tags"),
        ("model-index: {name: x}", "model-index"),
        ("model-index:\n- name: x\n  results:\n  - task: {type: t}\n    metrics: [{type: acc}]", "dataset"),
    ],
)
def test_cards_outside_the_hub_schema_are_refused(server: LiveServer, metadata: str, complaint: str) -> None:
    card = f"---\n{metadata}\n---\n# Card\n"
    with pytest.raises(ValueError, match=complaint):
        RepoCard(card).validate()  # the generic card: sent as written, not normalised locally
    answer = httpx.post(f"{server.url}/api/validate-yaml", json={"content": card, "repoType": "model"})
    assert answer.status_code == 400
    assert complaint in answer.json()["errors"][0]["message"]
    plain = httpx.post(
        f"{server.url}/api/validate-yaml",
        json={"content": card, "repoType": "model"},
        headers={"Accept": "text/plain"},
    )
    assert plain.status_code == 400
    assert plain.headers["content-type"].startswith("text/plain")
    assert complaint in plain.text.splitlines()[0]


@pytest.mark.parametrize("card", ["", "# Just a title\n", "---\n---\n# Empty metadata\n"])
def test_a_card_without_metadata_gets_the_hubs_warning(server: LiveServer, card: str) -> None:
    answer = httpx.post(f"{server.url}/api/validate-yaml", json={"content": card, "repoType": "model"})
    assert answer.status_code == 200
    assert answer.json()["errors"] == []
    assert answer.json()["warnings"][0]["message"] == "Empty or missing yaml metadata in repo card"


def test_the_client_refuses_and_warns_before_committing_a_readme(api: HfApi, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md"):
        api.upload_file(path_or_fileobj=b"---\nlicense: nope\n---\n", path_in_repo="README.md", repo_id=repo_id)
    with pytest.warns(UserWarning, match="Empty or missing yaml metadata"):
        api.upload_file(path_or_fileobj=b"# No metadata\n", path_in_repo="README.md", repo_id=repo_id)
    assert "README.md" in api.list_repo_files(repo_id)
