"""Local blob storage: staged writes are invisible until published, and verified by the caller."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dockyard.errors import BadRequestError
from dockyard.storage.base import lfs_key
from dockyard.storage.local import LocalBlobStore
from tests.support.waiting import wait_until


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_stage_publish_and_read(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = bytes(range(256)) * 40_000
    staged = asyncio.run(store.stage_stream(_chunks(data, 65_536)))
    key = lfs_key(staged.sha256)
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.size == len(data)
    assert store.stat(key) is None  # not visible before publishing
    store.publish(staged, key)
    assert store.stat(key) == len(data)
    assert store.read_range(key, 10, 19) == data[10:20]
    assert b"".join(store.iter_range(key, 5, 1_000_004, 4096)) == data[5:1_000_005]
    assert list(store.iter_keys("lfs")) == [(key, len(data))]


def test_multipart_parts_in_any_order(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = b"0123456789" * 1000
    chunk = 3000
    parts = [(n + 1, data[n * chunk : (n + 1) * chunk]) for n in range(4)]
    for number, part in reversed(parts):
        asyncio.run(store.write_part_stream("up1", number, (number - 1) * chunk, _chunks(part, 700), size=len(part)))
    staged = store.assemble_parts("up1", len(data))
    assert staged.sha256 == hashlib.sha256(data).hexdigest()


def test_large_parts_of_several_write_batches(tmp_path: Path) -> None:
    """Parts of several write batches each, sent one after another as the Hub's client does."""
    store = LocalBlobStore(tmp_path)
    chunk = 20 * 1024 * 1024 + 5
    data = hashlib.sha256(b"seed").digest() * ((2 * chunk + 12_345) // 32 + 1)
    for number in (1, 2, 3):
        part = data[(number - 1) * chunk : number * chunk]
        asyncio.run(store.write_part_stream("up3", number, (number - 1) * chunk, _chunks(part, 65_536), size=len(part)))
    staged = store.assemble_parts("up3", len(data))
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    store.publish(staged, lfs_key(staged.sha256))
    assert store.read_range(lfs_key(staged.sha256), chunk - 3, chunk + 2) == data[chunk - 3 : chunk + 3]


def test_incomplete_multipart_is_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    asyncio.run(store.write_part_stream("up2", 1, 0, _chunks(b"abc", 2), size=3))
    with pytest.raises(BadRequestError):
        store.assemble_parts("up2", 10)


def test_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(BadRequestError):
        store.stat("../outside")


async def _failing(data: bytes) -> AsyncIterator[bytes]:
    yield data[: len(data) // 2]
    raise ConnectionError("client went away")


def test_parts_with_a_retried_part_hash_correctly(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = bytes(range(256)) * 100
    chunk = 7000
    parts = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for number, part in enumerate(parts, start=1):
        if number == 2:  # an interrupted attempt, then the retry
            with pytest.raises(ConnectionError):
                asyncio.run(store.write_part_stream("up3", number, chunk, _failing(part), size=len(part)))
        asyncio.run(store.write_part_stream("up3", number, (number - 1) * chunk, _chunks(part, 999), size=len(part)))
    assert store.assemble_parts("up3", len(data)).sha256 == hashlib.sha256(data).hexdigest()


def test_assembling_waits_for_a_part_still_being_written(tmp_path: Path) -> None:
    """A part in flight when the upload is completed lands before the hash is taken, never after."""
    store = LocalBlobStore(tmp_path)
    data = os.urandom(3000)
    asyncio.run(store.write_part_stream("up5", 1, 0, _chunks(data[:2000], 1000), size=2000))
    parts_file = tmp_path / ".parts" / "up5"

    async def scenario() -> str:
        started, release = asyncio.Event(), asyncio.Event()

        async def slow_part() -> AsyncIterator[bytes]:
            started.set()
            yield data[2000:2500]
            await release.wait()
            yield data[2500:]

        writing = asyncio.create_task(store.write_part_stream("up5", 2, 2000, slow_part(), size=1000))
        await started.wait()
        loop = asyncio.get_running_loop()
        assembling = loop.run_in_executor(None, store.assemble_parts, "up5", len(data))
        await loop.run_in_executor(None, wait_until, lambda: not parts_file.exists())  # renamed away
        release.set()
        await writing
        return (await assembling).sha256

    assert asyncio.run(scenario()) == hashlib.sha256(data).hexdigest()


def test_a_part_written_after_completion_cannot_change_the_content(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = os.urandom(2000)
    asyncio.run(store.write_part_stream("up6", 1, 0, _chunks(data, 700), size=2000))
    staged = store.assemble_parts("up6", len(data))
    asyncio.run(store.write_part_stream("up6", 1, 0, _chunks(bytes(2000), 700), size=2000))
    store.publish(staged, lfs_key(staged.sha256))
    assert store.read_range(lfs_key(staged.sha256), 0, 2000) == data
