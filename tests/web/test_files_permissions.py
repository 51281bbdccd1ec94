"""Who sees which files pages: private repos are a 404 to outsiders; a gated repo's listing is
public but a file's content (viewer and raw bytes) needs a grant, and shows once granted."""

from __future__ import annotations

import uuid

import pytest

from tests.support.accounts import Identities
from tests.support.server import LiveServer
from tests.web.conftest import Browse
from tests.web.matrix import VIEWERS, WebRepos, visit

# Who may see each shared repo, and who may read its files.
SEE = {
    "public": set(VIEWERS),
    "gated": set(VIEWERS),
    "private": {"alice"},
    "org_private": {"carol", "dave", "alice"},
}
READ = {**SEE, "gated": {"alice"}}
CONTENT = '<span class="nt">"a"</span>'  # config.json ({"a": 1}) in the JSON viewer
CASES = [(viewer, repo) for repo in SEE for viewer in VIEWERS]


@pytest.mark.parametrize(("viewer", "repo"), CASES)
def test_tree_is_shown_to_whoever_may_see_the_repo(browse: Browse, web_repos: WebRepos, viewer: str, repo: str) -> None:
    repo_id = getattr(web_repos, repo)
    response = visit(browse, viewer, f"/{repo_id}/tree/main")
    if viewer in SEE[repo]:
        assert response.status_code == 200
        assert "config.json" in response.text
    else:
        assert response.status_code == 404
        assert "config.json" not in response.text


@pytest.mark.parametrize(("viewer", "repo"), CASES)
def test_file_content_needs_the_download_right(browse: Browse, web_repos: WebRepos, viewer: str, repo: str) -> None:
    repo_id = getattr(web_repos, repo)
    page = visit(browse, viewer, f"/{repo_id}/blob/main/config.json")
    raw = visit(browse, viewer, f"/{repo_id}/resolve/main/config.json")
    if viewer not in SEE[repo]:
        assert page.status_code == 404
        assert raw.status_code in (401, 404)
    elif viewer in READ[repo]:
        assert page.status_code == 200
        assert CONTENT in page.text
        assert raw.status_code == 200
    else:  # gated, not granted: the name and the banner, never the bytes
        assert page.status_code == 200
        assert "gated-banner" in page.text
        assert CONTENT not in page.text
        assert '"a"' not in page.text
        assert raw.status_code in (401, 403)


def test_a_granted_user_reads_a_gated_file(browse: Browse, server: LiveServer, ids: Identities) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    repo_id = f"alice/gated-files-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"secret = 'kumquat-daybreak'\n", path_in_repo="secret.py", repo_id=repo_id)
    api.update_repo_settings(repo_id, gated="manual")
    bob = browse("bob")
    before = bob.get(f"/{repo_id}/blob/main/secret.py").text
    assert "gated-banner" in before
    assert "kumquat-daybreak" not in before
    api.grant_access(repo_id, "bob")
    after = bob.get(f"/{repo_id}/blob/main/secret.py").text
    assert "gated-banner" not in after
    assert "kumquat-daybreak" in after
