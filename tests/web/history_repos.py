"""Repos with a known history for the history and community tests, made through huggingface_hub
as a client would: text edits, a large (LFS) file that grows, safetensors whose tensors change."""

from __future__ import annotations

import json
import struct
import uuid
from dataclasses import dataclass

import pytest

from tests.support.accounts import Identities
from tests.support.server import LiveServer


def safetensors_bytes(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    """A valid safetensors file whose tensors (name -> (dtype, shape)) are all zeros."""
    sizes = {"F32": 4, "F16": 2, "I64": 8}
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        length = count * sizes[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + length]}
        offset += length
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"\0" * offset


@dataclass(frozen=True)
class History:
    repo: str
    text_edit: str  # README line two changed
    lfs_grow: str  # weights.bin 100 -> 250 bytes
    tensors: str  # model.safetensors: "a" removed, "b" reshaped, "c" added
    first: str  # the README's first commit


@pytest.fixture(scope="session")
def history(server: LiveServer, ids: Identities) -> History:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    repo = f"alice/hist-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo)

    def put(path: str, data: bytes, message: str) -> str:
        return api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo, commit_message=message).oid

    first = put("README.md", b"# Notes\n\nline one\nline two\n", "Add the notes")
    text_edit = put("README.md", b"# Notes\n\nline one\nline 2 changed\n", "Reword line two")
    put("weights.bin", b"\1" * 100, "Add weights")
    lfs_grow = put("weights.bin", b"\2" * 250, "Grow the weights")
    put("model.safetensors", safetensors_bytes({"a": ("F32", [2, 2]), "b": ("F32", [3])}), "Add a model")
    tensors = put("model.safetensors", safetensors_bytes({"b": ("F16", [4, 3]), "c": ("I64", [5])}), "Reshape")
    return History(repo, text_edit, lfs_grow, tensors, first)


@pytest.fixture(scope="session")
def long_history(server: LiveServer, ids: Identities) -> str:
    """A repo with 55 commits: more than one page of history."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    repo = f"alice/long-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo)
    for number in range(1, 55):
        operation = CommitOperationAdd(path_in_repo="counter.txt", path_or_fileobj=f"{number}\n".encode())
        api.create_commit(repo, operations=[operation], commit_message=f"Count to {number}")
    return repo
