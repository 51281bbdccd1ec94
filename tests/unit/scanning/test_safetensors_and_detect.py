"""Safetensors header checks, and which files need which scan."""

from __future__ import annotations

import json
import struct

import pytest

from dockyard.lfs.pointer import LfsPointer
from dockyard.repos.git_repo import FileEntry
from dockyard.scanning.detect import ContentKind, PathKind, content_key, content_kind, is_torch_storage, path_kind
from dockyard.scanning.results import ERROR, SAFE, UNSAFE
from dockyard.scanning.safetensors_check import scan_safetensors
from dockyard.scanning.safetensors_header import MAX_HEADER_BYTES


def safetensors_file(header: object, data: bytes, *, declared: int | None = None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if declared is None else declared) + raw + data


def check(blob: bytes) -> tuple[str, str | None]:
    result = scan_safetensors(lambda start, end: blob[start : end + 1], len(blob))
    return result.status, result.message


VALID_HEADER = {
    "__metadata__": {"format": "pt"},
    "weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
    "bias": {"dtype": "BF16", "shape": [2], "data_offsets": [16, 20]},
}


def test_a_valid_file_is_safe() -> None:
    assert check(safetensors_file(VALID_HEADER, bytes(20))) == (SAFE, None)


def test_a_file_written_by_the_safetensors_library_is_safe() -> None:
    import numpy as np
    from safetensors.numpy import save

    assert check(save({"a": np.zeros((3, 4), dtype=np.float16), "b": np.arange(5)}))[0] == SAFE


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        (safetensors_file(VALID_HEADER, bytes(20), declared=10_000), "larger than allowed or than the file"),
        (safetensors_file(b"{not json at all", bytes(4)), "not valid JSON"),
        (safetensors_file(b"[1, 2, 3]", b""), "not a JSON object"),
        (safetensors_file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, bytes(8)), "out of the file"),
        (safetensors_file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [8, 4]}}, bytes(16)), "out of the file"),
        (safetensors_file({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, bytes(16)), "byte length"),
        (safetensors_file({"w": {"dtype": "EVIL", "shape": [1], "data_offsets": [0, 1]}}, bytes(1)), "unknown dtype"),
        (b"\x01\x00", "shorter than"),
    ],
)
def test_malformed_headers_are_errors(blob: bytes, words: str) -> None:
    status, message = check(blob)
    assert status == ERROR
    assert message is not None
    assert words in message


def test_a_header_beyond_the_format_limit_is_unsafe_and_never_read() -> None:
    reads: list[tuple[int, int]] = []
    blob = struct.pack("<Q", MAX_HEADER_BYTES + 1) + b"{}"

    def read_range(start: int, end: int) -> bytes:
        reads.append((start, end))
        return blob[start : end + 1]

    assert scan_safetensors(read_range, 2**40).status == UNSAFE
    assert reads == [(0, 7)]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("pytorch_model.bin", PathKind.PICKLE),
        ("sub/dir/optimizer.PT", PathKind.PICKLE),
        ("model.pth", PathKind.PICKLE),
        ("x.pkl", PathKind.PICKLE),
        ("x.pickle", PathKind.PICKLE),
        ("last.ckpt", PathKind.PICKLE),
        ("clf.joblib", PathKind.PICKLE),
        ("emb.npy", PathKind.PICKLE),
        ("obj.dill", PathKind.PICKLE),
        ("arrays.npz", PathKind.PICKLE),
        ("bundle.zip", PathKind.PICKLE),
        ("model.safetensors", PathKind.SAFETENSORS),
        ("README.md", PathKind.INERT),
        ("config.json", PathKind.INERT),
        (".gitattributes", PathKind.INERT),
        ("data/train-00000.parquet", PathKind.INERT),
        ("LICENSE", PathKind.SNIFF),
        ("weights.keras", PathKind.SNIFF),
        ("checkpoint", PathKind.SNIFF),
    ],
)
def test_path_kinds(path: str, kind: PathKind) -> None:
    assert path_kind(path) is kind


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"PK\x03\x04rest", ContentKind.ZIP),
        (b"PK\x05\x06" + bytes(18), ContentKind.ZIP),
        (b"\x93NUMPY\x01\x00", ContentKind.NUMPY),
        (b"\x80\x02}q\x00.", ContentKind.PICKLE),
        (b"\x80\x05\x95", ContentKind.PICKLE),
        (b"cos\nsystem\n(S'id'\ntR.", ContentKind.PICKLE),
        (b"((cposix\nsystem\n(S'id'", ContentKind.PICKLE),
        (b"ccopy_reg\n_reconstructor\np0\n(c__main__\n", ContentKind.PICKLE),
        (b"cos\nsystem\nq\x00X\x02\x00\x00\x00id", ContentKind.PICKLE),
        (b"cat\ndog\nquail\n", ContentKind.OTHER),
        (b"copyright 2024 someone\n", ContentKind.OTHER),
        (b"MIT License\n\nCopyright", ContentKind.OTHER),
        (b"GGUF\x03\x00", ContentKind.OTHER),
        (b"", ContentKind.OTHER),
    ],
)
def test_content_kinds(head: bytes, kind: ContentKind) -> None:
    assert content_kind(head) is kind


def test_torch_storages_are_recognised_only_next_to_their_data_pkl() -> None:
    names = frozenset({"archive/data.pkl"})
    assert is_torch_storage("archive/data/0", names)
    assert is_torch_storage("archive/data/123", names)
    assert not is_torch_storage("other/data/0", names)
    assert not is_torch_storage("archive/data/0.pkl", names)
    assert not is_torch_storage("archive/data.pkl", names)


def test_content_keys() -> None:
    oid = "a" * 64
    large = FileEntry(path="m.bin", blob_id="b" * 40, size=10, pointer_size=130, lfs=LfsPointer(oid=oid, size=10))
    small = FileEntry(path="x.pkl", blob_id="c" * 40, size=10, pointer_size=10, lfs=None)
    assert content_key(large) == f"sha256:{oid}"
    assert content_key(small) == f"git:{'c' * 40}"
