"""Who sees what on the pages: the same repos in every web permission test, and the people
looking at them. Use ``visit(browse, viewer, url)`` and compare with what the row expects.

Viewers: ``anonymous``; ``bob`` (an outsider); ``carol`` (read member of acme); ``dave`` (write
member of acme); ``alice`` (owner of everything below, admin of acme). Repos (all made once per
test worker, by alice through huggingface_hub):

* ``public``: alice/web-public, a public model with a README and a file;
* ``private``: alice/web-private, visible to alice only;
* ``gated``: alice/web-gated, public but gated (manual): nobody else has been granted access;
* ``org_private``: acme/web-org-private, private to acme's members.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.support.accounts import Identities
from tests.support.server import LiveServer

VIEWERS = ("anonymous", "bob", "carol", "dave", "alice")


@dataclass(frozen=True)
class WebRepos:
    public: str
    private: str
    gated: str
    org_private: str


@pytest.fixture(scope="session")
def web_repos(server: LiveServer, ids: Identities) -> WebRepos:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    repos = WebRepos("alice/web-public", "alice/web-private", "alice/web-gated", "acme/web-org-private")
    for repo_id, private in (
        (repos.public, False),
        (repos.private, True),
        (repos.gated, False),
        (repos.org_private, True),
    ):
        api.create_repo(repo_id, private=private, exist_ok=True)
        api.upload_file(path_or_fileobj=b"# A card\n\nHello.\n", path_in_repo="README.md", repo_id=repo_id)
        api.upload_file(path_or_fileobj=b'{"a": 1}\n', path_in_repo="config.json", repo_id=repo_id)
    api.update_repo_settings(repos.gated, gated="manual")
    return repos


def visit(browse: object, viewer: str, url: str) -> httpx.Response:
    """GET ``url`` as ``viewer``'s browser (``browse`` is the conftest fixture)."""
    client = browse(None if viewer == "anonymous" else viewer)  # type: ignore[operator]
    return client.get(url)
