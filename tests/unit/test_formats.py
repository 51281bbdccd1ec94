"""Pure parsers: LFS pointers, card YAML, safetensors headers, signed tokens, NDJSON commits."""

from __future__ import annotations

import base64
import json
import struct

import pytest

from dockyard.api.commit import parse_ndjson
from dockyard.errors import BadRequestError, UnauthorizedError
from dockyard.lfs.pointer import LfsPointer, parse_pointer
from dockyard.repos.cards import parse_card
from dockyard.repos.commits import AddFile, AddLfsFile, DeleteFile, RemoveFolder
from dockyard.scanning.safetensors_header import SafetensorsHeaderError, read_header
from dockyard.signing import Signer

OID = "a" * 64


def test_pointer_round_trip() -> None:
    pointer = LfsPointer(oid=OID, size=123)
    assert parse_pointer(pointer.encode()) == pointer


@pytest.mark.parametrize(
    "data",
    [b"plain text", b"version https://git-lfs.github.com/spec/v1\noid sha256:xyz\nsize 1\n", b"x" * 2000],
)
def test_non_pointers(data: bytes) -> None:
    assert parse_pointer(data) is None


def test_card_front_matter() -> None:
    card = parse_card("---\nlicense: mit\ndate: 2024-01-02\ntags: [a, b]\n---\n# Body\n")
    assert card.data == {"license": "mit", "date": "2024-01-02", "tags": ["a", "b"]}
    assert card.body == "# Body\n"
    assert card.errors == []


def test_card_errors_are_reported_not_raised() -> None:
    assert parse_card("---\nlicense: [mit\n---\n").errors
    assert parse_card("---\n- a list\n---\n").errors
    assert parse_card("no front matter").data == {}
    assert parse_card("---\ntags: {a: 1}\n---\n").warnings


def _safetensors(header: dict[str, object], data_size: int) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\0" * data_size


def _reader(blob: bytes):  # type: ignore[no-untyped-def]
    return lambda start, end: blob[start : end + 1]


def test_safetensors_parameter_count() -> None:
    blob = _safetensors(
        {
            "__metadata__": {"format": "pt"},
            "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
            "b": {"dtype": "BF16", "shape": [4], "data_offsets": [24, 32]},
        },
        32,
    )
    summary = read_header(_reader(blob), len(blob))
    assert summary.parameters == {"F32": 6, "BF16": 4}
    assert summary.total == 10


@pytest.mark.parametrize(
    ("header", "data_size"),
    [
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, 8),  # wrong byte length
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 400]}}, 4),  # beyond the file
        ({"a": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}, 4),  # unknown dtype
        ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, 4),  # negative dim
        ({"a": "not an object"}, 0),
    ],
)
def test_malformed_safetensors_headers(header: dict[str, object], data_size: int) -> None:
    blob = _safetensors(header, data_size)
    with pytest.raises(SafetensorsHeaderError):
        read_header(_reader(blob), len(blob))


def test_oversized_safetensors_header_is_rejected_before_reading_it() -> None:
    reads: list[tuple[int, int]] = []
    blob = struct.pack("<Q", 2**40) + b"{}"

    def reader(start: int, end: int) -> bytes:
        reads.append((start, end))
        return blob[start : end + 1]

    with pytest.raises(SafetensorsHeaderError):
        read_header(reader, len(blob))
    assert reads == [(0, 7)]


def test_signed_tokens() -> None:
    signer = Signer(b"k" * 32)
    token = signer.sign("upload", {"oid": OID}, ttl=60)
    assert signer.verify("upload", token)["oid"] == OID
    with pytest.raises(UnauthorizedError):
        signer.verify("download", token)
    with pytest.raises(UnauthorizedError):
        Signer(b"other" * 8).verify("upload", token)
    with pytest.raises(UnauthorizedError):
        signer.verify("upload", signer.sign("upload", {"oid": OID}, ttl=-1))


def _line(key: str, value: dict[str, object]) -> bytes:
    return json.dumps({"key": key, "value": value}).encode()


def test_ndjson_commit_parsing() -> None:
    body = b"\n".join(
        [
            _line("header", {"summary": "Add", "description": "More", "parentCommit": "abc"}),
            _line("file", {"path": "a.txt", "content": base64.b64encode(b"hi").decode(), "encoding": "base64"}),
            _line("lfsFile", {"path": "w.bin", "algo": "sha256", "oid": OID, "size": 5}),
            _line("deletedFile", {"path": "old.txt"}),
            _line("deletedFolder", {"path": "logs/"}),
        ]
    )
    request = parse_ndjson(body)
    assert (request.summary, request.description, request.parent_commit) == ("Add", "More", "abc")
    assert request.operations == [
        AddFile("a.txt", b"hi"),
        AddLfsFile("w.bin", OID, 5),
        DeleteFile("old.txt"),
        RemoveFolder("logs"),
    ]


def test_ndjson_refuses_duplicate_paths() -> None:
    body = b"\n".join(
        [
            _line("header", {"summary": "x"}),
            _line("deletedFile", {"path": "a"}),
            _line("deletedFile", {"path": "a"}),
        ]
    )
    with pytest.raises(BadRequestError):
        parse_ndjson(body)
