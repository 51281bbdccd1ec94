"""Bucket content through the real command line and filesystem: `hf cp`, `hf sync`,
`hf buckets rm -R / move / settings`, and HfFileSystem's `hf://buckets/...` paths, all over Xet
against the live server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from huggingface_hub import HfApi, HfFileSystem
from huggingface_hub.errors import BucketNotFoundError

from tests.support.accounts import Identities
from tests.support.buckets import audit_details, xorb_count
from tests.support.server import LiveServer

HF = str(Path(sys.executable).with_name("hf"))


def _hf(token: str, *args: str, cwd: Path | None = None) -> str:
    env = dict(os.environ, HF_TOKEN=token, HF_HUB_DISABLE_PROGRESS_BARS="1")
    done = subprocess.run([HF, *args], env=env, capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def bucket(api: HfApi) -> str:
    bucket_id = f"alice/bc-{uuid.uuid4().hex[:10]}"
    api.create_bucket(bucket_id)
    return bucket_id


def _tree(api: HfApi, bucket: str) -> dict[str, object]:
    return {f.path: f for f in api.list_bucket_tree(bucket)}


def test_hf_cp_both_ways(api: HfApi, token: str, bucket: str, tmp_path: Path) -> None:
    local = tmp_path / "weights.bin"
    local.write_bytes(os.urandom(600_000))
    _hf(token, "cp", str(local), f"hf://buckets/{bucket}/run1/weights.bin")
    assert _tree(api, bucket)["run1/weights.bin"].size == 600_000
    back = tmp_path / "back.bin"
    _hf(token, "cp", f"hf://buckets/{bucket}/run1/weights.bin", str(back))
    assert back.read_bytes() == local.read_bytes()


def test_hf_sync_sends_only_changed_files(
    server: LiveServer, api: HfApi, token: str, bucket: str, tmp_path: Path
) -> None:
    folder = tmp_path / "run"
    names = [f"shard-{i:02d}.bin" for i in range(8)]
    for name in names:
        (folder / "sub").mkdir(parents=True, exist_ok=True)
        (folder / "sub" / name).write_bytes(os.urandom(40_000))
    _hf(token, "sync", str(folder), f"hf://buckets/{bucket}")
    first = _tree(api, bucket)
    assert set(first) == {f"sub/{name}" for name in names}

    changed = names[:3]
    for name in changed:
        path = folder / "sub" / name
        path.write_bytes(os.urandom(40_000))
        stat = path.stat()
        os.utime(path, (stat.st_atime, stat.st_mtime + 120))  # clearly newer than the bucket's copy
    xorbs_before = xorb_count(server)
    _hf(token, "sync", str(folder), f"hf://buckets/{bucket}")
    second = _tree(api, bucket)
    resent = {path for path in second if second[path].xet_hash != first[path].xet_hash}
    assert resent == {f"sub/{name}" for name in changed}
    touched = {path for path in second if second[path].uploaded_at != first[path].uploaded_at}
    assert touched == resent  # the other five were not sent again
    assert xorb_count(server) > xorbs_before  # new random bytes were stored...
    batches = audit_details(server, "bucket.batch", f"bucket:{bucket}")
    assert [d["added"] for d in batches] == [3, 8]  # ...in one batch of three (newest first)

    restored = tmp_path / "restored"
    _hf(token, "sync", f"hf://buckets/{bucket}", str(restored))
    for name in names:
        assert (restored / "sub" / name).read_bytes() == (folder / "sub" / name).read_bytes()


def test_rm_recursive_move_and_visibility(api: HfApi, token: str, ids: Identities, bucket: str, tmp_path: Path) -> None:
    api.batch_bucket_files(
        bucket, add=[(b"1", "logs/a.txt"), (b"2", "logs/deep/b.txt"), (b"3", "logs.json"), (b"4", "keep.txt")]
    )
    _hf(token, "buckets", "rm", "-R", "-y", f"{bucket}/logs")
    assert set(_tree(api, bucket)) == {"logs.json", "keep.txt"}

    moved = f"alice/moved-{uuid.uuid4().hex[:8]}"
    _hf(token, "buckets", "move", bucket, moved)
    with pytest.raises(BucketNotFoundError):
        api.bucket_info(bucket)
    api.download_bucket_files(moved, [("keep.txt", tmp_path / "keep.txt")])
    assert (tmp_path / "keep.txt").read_bytes() == b"4"

    _hf(token, "buckets", "settings", moved, "--private")
    bob = HfApi(token=ids.bob)
    with pytest.raises(BucketNotFoundError):
        bob.bucket_info(moved)
    with pytest.raises(BucketNotFoundError):
        bob.download_bucket_files(moved, [("keep.txt", tmp_path / "x")], raise_on_missing_files=True)
    _hf(token, "buckets", "settings", moved, "--public")
    bob.download_bucket_files(moved, [("keep.txt", tmp_path / "bob.txt")])
    assert (tmp_path / "bob.txt").read_bytes() == b"4"


def test_filesystem_ls_open_and_ranged_read(api: HfApi, token: str, bucket: str) -> None:
    data = os.urandom(1_500_000)
    api.batch_bucket_files(bucket, add=[(data, "ckpt/step-1/model.bin"), (b"{}", "ckpt/config.json")])
    fs = HfFileSystem(token=token)
    listed = fs.ls(f"hf://buckets/{bucket}/ckpt", detail=True)
    assert {(item["name"], item["type"]) for item in listed} == {
        (f"buckets/{bucket}/ckpt/config.json", "file"),
        (f"buckets/{bucket}/ckpt/step-1", "directory"),
    }
    assert fs.info(f"hf://buckets/{bucket}/ckpt/step-1/model.bin")["size"] == len(data)
    with fs.open(f"hf://buckets/{bucket}/ckpt/step-1/model.bin", "rb", block_size=128 * 1024) as handle:
        handle.seek(700_001)
        assert handle.read(10_000) == data[700_001:710_001]
        handle.seek(-100, 2)
        assert handle.read() == data[-100:]
    assert fs.cat_file(f"hf://buckets/{bucket}/ckpt/config.json") == b"{}"
    with fs.open(f"hf://buckets/{bucket}/written.txt", "wb") as out:
        out.write(b"through the filesystem")
    assert fs.cat_file(f"hf://buckets/{bucket}/written.txt") == b"through the filesystem"
    fs.cp_file(f"hf://buckets/{bucket}/written.txt", f"hf://buckets/{bucket}/copy.txt")
    assert _tree(api, bucket)["copy.txt"].xet_hash == _tree(api, bucket)["written.txt"].xet_hash
