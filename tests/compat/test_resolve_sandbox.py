"""Raw files from /resolve/ never run as the hub, however they are stored: HTML, SVG, XML and
other active types come with ``nosniff``, a sandboxing CSP and as attachments, for regular git
files and for large files uploaded through Xet and through the LFS batch API. ``?download=true``
(the pages' Download links) makes any file an attachment."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub import HfApi

from tests.support.server import LiveServer

PAGE = b"<html><body><script>fetch('/api/whoami-v2').then(r => r.text()).then(alert)</script></body></html>"
LOGO = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
FEED = b'<?xml version="1.0"?><?xml-stylesheet href="#"?><feed><script xmlns="http://www.w3.org/1999/xhtml">alert(1)</script></feed>'
ACTIVE = {"page.html": PAGE, "logo.svg": LOGO, "feed.xml": FEED, "page.xhtml": PAGE, "page.htm": PAGE}
LARGE_RULES = b"".join(
    f"large/*{name[name.index('.') :]} filter=lfs diff=lfs merge=lfs -text\n".encode() for name in ACTIVE
)


def _assert_isolated(response: httpx.Response, what: str) -> None:
    assert response.status_code in (200, 302), (what, response.status_code)
    assert response.headers["x-content-type-options"] == "nosniff", what
    policy = response.headers["content-security-policy"]
    assert "sandbox" in policy, what
    assert "default-src 'none'" in policy, what
    assert response.headers["content-disposition"].startswith("attachment"), what


def test_active_files_are_sandboxed_attachments_however_stored(
    server: LiveServer, api: HfApi, repo_name: str, transfer: str
) -> None:
    repo = f"alice/{repo_name}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=LARGE_RULES, path_in_repo=".gitattributes", repo_id=repo)
    for name, data in ACTIVE.items():
        stamp = f"<!-- {transfer} {repo_name} -->".encode()  # new content: stored by this transfer
        api.upload_file(path_or_fileobj=data, path_in_repo=name, repo_id=repo)
        api.upload_file(path_or_fileobj=data + stamp, path_in_repo=f"large/{name}", repo_id=repo)
    large = {entry.path: entry for entry in api.list_repo_tree(repo, path_in_repo="large")}
    assert all(entry.lfs is not None for entry in large.values()), large  # really large-file storage
    for name in ACTIVE:
        for path in (name, f"large/{name}"):
            for method in ("GET", "HEAD"):
                response = httpx.request(method, f"{server.url}/{repo}/resolve/main/{path}")
                _assert_isolated(response, f"{method} {path}")
    for method in ("GET", "HEAD"):  # HEAD is answered on the hot path, GET in a thread: the same headers
        html = httpx.request(method, f"{server.url}/{repo}/resolve/main/page.html")
        assert html.headers["content-type"].startswith("text/html")  # the true type, made harmless by the sandbox
        assert html.headers["x-frame-options"] == "DENY"  # and every HTML answer's page headers
        assert html.headers["referrer-policy"] == "same-origin"
        assert "sandbox" in html.headers["content-security-policy"]  # its own policy, not the pages'


def test_download_true_makes_any_file_an_attachment(server: LiveServer, api: HfApi, repo_name: str) -> None:
    repo = f"alice/{repo_name}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"just text\n", path_in_repo="notes.txt", repo_id=repo)
    url = f"{server.url}/{repo}/resolve/main/notes.txt"
    assert httpx.get(url).headers["content-disposition"].startswith("inline")
    for flag in ("true", "1"):
        download = httpx.get(url, params={"download": flag})
        assert download.status_code == 200
        assert download.content == b"just text\n"
        assert download.headers["content-disposition"].startswith("attachment")
        assert download.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", ["page.html", "logo.svg"])
def test_a_missing_active_file_is_isolated_too(server: LiveServer, api: HfApi, repo_name: str, name: str) -> None:
    repo = f"alice/{repo_name}"
    api.create_repo(repo)
    missing = httpx.get(f"{server.url}/{repo}/resolve/main/{name}")
    assert missing.status_code == 404
    assert missing.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in missing.headers["content-security-policy"]
