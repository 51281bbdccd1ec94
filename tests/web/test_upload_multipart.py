"""Browser uploads of files above the hub's multipart threshold: the upload page asks the LFS batch
API for both transfers, PUTs each part (File.slice), completes with the parts' ETags, verifies and
commits; huggingface_hub then downloads the very same bytes, over LFS and over Xet. The page's
incremental SHA-256 (for files too big to hash in one buffer, and for plain-HTTP hubs) agrees with
hashlib whatever the piece sizes."""

from __future__ import annotations

import base64
import hashlib
import math
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, constants, hf_hub_download

from tests.support.accounts import Identities
from tests.support.live_fixtures import MULTIPART_CHUNK, MULTIPART_THRESHOLD
from tests.support.server import LiveServer
from tests.web.conftest import log_in

BIG = 9 * 1024 * 1024  # above the test server's 6 MiB threshold: 3 parts of at most 4 MiB
SMALL_LFS = 200_000  # a binary file below the threshold: one PUT, in the same commit
# Emulates a hub served over plain HTTP on a non-loopback address, where browsers withhold
# crypto.subtle: the page must hash with its own incremental SHA-256 (sha256.js).
WITHOUT_SUBTLE = "Object.defineProperty(Crypto.prototype, 'subtle', { get: () => undefined, configurable: true });"


class Traffic:
    """What the page sent and received while uploading: the LFS batch answers, every PUT with its
    status and ETag, the completion POSTs, and the scripts it loaded."""

    def __init__(self, page: Any) -> None:
        self.batches: list[dict[str, Any]] = []
        self.puts: list[tuple[str, int, str | None]] = []
        self.completions: list[str] = []
        self.scripts: set[str] = set()
        page.on("response", self._seen)

    def _seen(self, response: Any) -> None:
        request = response.request
        if request.resource_type == "script":
            self.scripts.add(response.url)
        elif request.method == "POST" and response.url.endswith("/info/lfs/objects/batch"):
            self.batches.append(response.json())
        elif request.method == "PUT":
            self.puts.append((response.url, response.status, response.headers.get("etag")))
        elif request.method == "POST" and "/-/lfs/complete" in response.url:
            self.completions.append(response.url)


def _upload_in_browser(page: Any, repo_id: str, files: list[tuple[str, bytes]]) -> Traffic:
    traffic = Traffic(page)
    log_in(page, "alice")
    page.goto(f"/{repo_id}/upload/main")
    payload = [{"name": name, "mimeType": "application/octet-stream", "buffer": data} for name, data in files]
    page.set_input_files("#upload-files", files=payload)
    page.get_by_label("Commit message").fill("Add a big file from the browser")
    page.get_by_role("button", name="Commit changes to main").click()
    page.wait_for_url(f"**/{repo_id}/tree/main", timeout=120_000)
    return traffic


def _upload_action(traffic: Traffic, data: bytes) -> dict[str, Any]:
    oid = hashlib.sha256(data).hexdigest()
    objects = [obj for batch in traffic.batches for obj in batch["objects"] if obj["oid"] == oid]
    assert len(objects) == 1, traffic.batches
    upload: dict[str, Any] = objects[0]["actions"]["upload"]
    return upload


@pytest.mark.parametrize("hashing", ["crypto.subtle", "incremental sha256.js"])
def test_a_file_above_the_threshold_goes_up_in_parts_and_comes_back_identical(
    page: Any,
    server: LiveServer,
    ids: Identities,
    repo_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hashing: str,
) -> None:
    repo_id = f"alice/{repo_name}"
    api = HfApi(endpoint=server.url, token=ids.alice)
    api.create_repo(repo_id)
    big, small = os.urandom(BIG), os.urandom(SMALL_LFS)
    assert len(big) >= MULTIPART_THRESHOLD > len(small)
    if hashing != "crypto.subtle":
        page.add_init_script(WITHOUT_SUBTLE)

    traffic = _upload_in_browser(page, repo_id, [("big.bin", big), ("small.bin", small), ("notes.txt", b"notes\n")])

    # The hub answered the multipart transfer for the big file: chunk size and one URL per part.
    assert [batch["transfer"] for batch in traffic.batches] == ["multipart"]
    multipart = _upload_action(traffic, big)
    parts = math.ceil(BIG / MULTIPART_CHUNK)
    assert multipart["header"]["chunk_size"] == str(MULTIPART_CHUNK)
    assert sorted(key for key in multipart["header"] if key.isdigit()) == [f"{n:05d}" for n in range(1, parts + 1)]
    # ... and the page PUT each part once (a 200 with an ETag), then completed the upload.
    part_urls = sorted(url for key, url in multipart["header"].items() if key.isdigit())
    part_puts = [(url, status, etag) for url, status, etag in traffic.puts if url in part_urls]
    assert sorted(url for url, _, _ in part_puts) == part_urls
    assert all(status == 200 and etag for _, status, etag in part_puts), part_puts
    assert traffic.completions == [multipart["href"]]
    # The small binary file took the single-PUT path in the same batch.
    assert "chunk_size" not in (_upload_action(traffic, small).get("header") or {})

    # The right hashing ran, and the page stayed under its JavaScript budget.
    loaded_sha256_js = any(url.endswith("/sha256.js") for url in traffic.scripts)
    assert loaded_sha256_js == (hashing != "crypto.subtle")
    with httpx.Client() as client:  # every script of the visit, the lazily imported ones included
        assert sum(len(client.get(url).content) for url in traffic.scripts) < 100 * 1024

    files = {f.rfilename: f for f in api.model_info(repo_id, files_metadata=True).siblings or []}
    stored = files["big.bin"].lfs
    assert stored is not None
    assert (stored.sha256, stored.size) == (hashlib.sha256(big).hexdigest(), BIG)
    assert files["notes.txt"].lfs is None
    for xet_disabled in (True, False):
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", xet_disabled)
        cache = tmp_path / f"cache-xet-disabled-{xet_disabled}"  # a fresh cache: a real download each time
        for name, data in (("big.bin", big), ("small.bin", small)):
            path = hf_hub_download(repo_id, name, endpoint=server.url, token=ids.alice, cache_dir=cache)
            assert Path(path).read_bytes() == data, (name, xet_disabled)


def _browser_sha256(page: Any, data: bytes, pieces: list[int]) -> str:
    """The page's incremental Sha256 fed ``data`` in pieces of the given sizes (the rest last)."""
    digest: str = page.evaluate(
        """async ([encoded, pieces]) => {
            const { Sha256 } = await import("/-/static/js/sha256.js");
            const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
            const hash = new Sha256();
            let at = 0;
            for (const size of pieces) { hash.update(bytes.subarray(at, at + size)); at += size; }
            hash.update(bytes.subarray(at));
            return Array.from(new Uint8Array(hash.digest()), (b) => b.toString(16).padStart(2, "0")).join("");
        }""",
        [base64.b64encode(data).decode(), pieces],
    )
    return digest


@pytest.mark.parametrize(
    ("length", "pieces"),
    [
        (0, []),
        (1, [0, 0]),
        (64, [63]),
        (64, [1, 63]),
        (119, [55, 1, 63]),
        (128, [64, 64]),
        (1000, [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233]),
        (200_003, [65, 100_000, 7]),
    ],
)
def test_incremental_sha256_matches_hashlib_whatever_the_pieces(page: Any, length: int, pieces: list[int]) -> None:
    data = os.urandom(length)
    page.goto("/")
    assert _browser_sha256(page, data, pieces) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("chunk", [1_000_003, 1024 * 1024])
def test_hashing_a_file_by_slices_matches_hashlib(page: Any, chunk: int) -> None:
    """sha256Blob reads a File chunk by chunk (as the page does for files above 256 MiB) and
    reports its progress up to the file's size."""
    data = os.urandom(3 * 1024 * 1024 + 17)
    page.goto("/")
    result = page.evaluate(
        """async ([encoded, chunk]) => {
            const { sha256Blob } = await import("/-/static/js/sha256.js");
            const file = new File([Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0))], "x.bin");
            const seen = [];
            const digest = await sha256Blob(file, chunk, (done) => seen.push(done));
            const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
            return { hex, seen };
        }""",
        [base64.b64encode(data).decode(), chunk],
    )
    assert result["hex"] == hashlib.sha256(data).hexdigest()
    assert result["seen"] == [min(end, len(data)) for end in range(chunk, len(data) + chunk, chunk)]
