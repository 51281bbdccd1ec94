"""A bucket in the browser: its folders and files page by page, the commands to use it, and the
same privacy as the API (a private bucket is a 404 to outsiders, on its page and its profile)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from huggingface_hub import HfApi

from tests.support.accounts import Identities
from tests.support.browser import XSS_PAYLOADS, ScriptWatch, screenshots, serious_accessibility_violations
from tests.support.buckets import File, add_files
from tests.support.server import LiveServer
from tests.web.conftest import Browse, log_in


@pytest.fixture
def bucket(server: LiveServer, ids: Identities) -> str:
    bucket_id = f"alice/ckpt-{uuid.uuid4().hex[:8]}"
    HfApi(endpoint=server.url, token=ids.alice).create_bucket(bucket_id)
    add_files(
        server,
        bucket_id,
        [File("README.txt", size=12), File("run-1/step-1/model.safetensors", size=5 * 1024 * 1024)]
        + [File(f"logs/{i:03d}.json", size=10) for i in range(105)],
    )
    return bucket_id


def test_a_person_browses_a_bucket(page: Any, bucket: str) -> None:
    log_in(page, "alice")
    page.goto(f"/buckets/{bucket}")
    table = page.locator("table.file-table")
    assert table.locator("a", has_text="README.txt").count() == 1
    assert "5.0 MB" not in table.inner_text()  # the checkpoint sits two folders down
    page.get_by_role("link", name="run-1/").click()
    page.get_by_role("link", name="step-1/").click()
    assert page.locator("table.file-table").get_by_text("model.safetensors").is_visible()
    assert "5.0 MB" in page.locator("table.file-table").inner_text()
    assert page.locator(".breadcrumbs").inner_text().split() == [bucket.split("/")[1], "run-1", "step-1"]
    page.goto(f"/buckets/{bucket}/tree/logs")
    first = page.locator("tbody tr.tree-file").count()
    page.get_by_role("link", name="More files").click()
    rest = page.locator("tbody tr.tree-file").count()
    assert (first, rest) == (100, 5)
    assert f"hf sync ./outputs hf://buckets/{bucket}/outputs" in page.locator("aside").inner_text()
    assert serious_accessibility_violations(page) == []
    screenshots(page, "bucket-page")


@pytest.mark.parametrize(("viewer", "status"), [("alice", 200), ("bob", 404), ("carol", 404), (None, 401)])
def test_a_private_bucket_is_shown_only_to_who_may_read_it(
    server: LiveServer, ids: Identities, browse: Browse, viewer: str | None, status: int
) -> None:
    bucket_id = f"alice/secret-ckpt-{uuid.uuid4().hex[:8]}"
    HfApi(endpoint=server.url, token=ids.alice).create_bucket(bucket_id, private=True)
    add_files(server, bucket_id, [File("weights/secret-name.bin")])
    for url in (f"/buckets/{bucket_id}", f"/buckets/{bucket_id}/tree/weights"):
        response = browse(viewer).get(url)
        assert response.status_code == status, url
        if status != 200:
            assert "secret-name.bin" not in response.text
    profile = browse(viewer).get("/alice").text
    assert (bucket_id in profile) == (viewer == "alice")


def test_a_public_bucket_is_on_its_owners_profile(browse: Browse, bucket: str) -> None:
    assert f'href="/buckets/{bucket}"' in browse("bob").get("/alice").text


def test_hostile_file_names_are_inert(page: Any, server: LiveServer, ids: Identities) -> None:
    bucket_id = f"alice/xss-{uuid.uuid4().hex[:8]}"
    HfApi(endpoint=server.url, token=ids.alice).create_bucket(bucket_id)
    add_files(server, bucket_id, [File(payload.replace("/", "_")) for payload in XSS_PAYLOADS])
    watch = ScriptWatch(page)
    log_in(page, "alice")
    page.goto(f"/buckets/{bucket_id}")
    assert page.locator("tbody tr.tree-file").count() == len(XSS_PAYLOADS)
    assert not watch.ran()
