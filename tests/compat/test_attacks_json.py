"""JSON bodies that Python's parser refuses with something other than a JSONDecodeError: an
integer of more than 4,300 digits (ValueError) and nesting deeper than the parser recurses
(RecursionError). Each must be a clean 400 on every route that parses JSON, with nothing written."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub import HfApi

from tests.support.server import LiveServer

HUGE_INT = b'{"n": ' + b"9" * 5000 + b"}"
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("body", [HUGE_INT, DEEP], ids=["huge-int", "deep-nesting"])
def test_hostile_json_is_a_400_everywhere(server: LiveServer, api: HfApi, token: str, repo_name: str, body: bytes):
    repo_id = api.create_repo(repo_name).repo_id
    head = api.model_info(repo_id).sha
    auth = {"Authorization": f"Bearer {token}"}
    routes = [
        ("commit", f"/api/models/{repo_id}/commit/main", {"Content-Type": "application/x-ndjson"}),
        ("lfs batch", f"/{repo_id}.git/info/lfs/objects/batch", {"Content-Type": "application/vnd.git-lfs+json"}),
        ("preupload", f"/api/models/{repo_id}/preupload/main", {"Content-Type": "application/json"}),
        ("paths-info", f"/api/models/{repo_id}/paths-info/main", {"Content-Type": "application/json"}),
        ("validate-yaml", "/api/validate-yaml", {"Content-Type": "application/json"}),
    ]
    for name, path, headers in routes:
        response = httpx.post(f"{server.url}{path}", content=body, headers={**auth, **headers}, timeout=30)
        assert response.status_code == 400, (name, response.status_code, response.text[:200])
    assert api.model_info(repo_id).sha == head
