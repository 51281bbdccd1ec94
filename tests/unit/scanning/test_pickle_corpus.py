"""The pickle scanner against a corpus of payloads generated here: flagged, and never executed."""

from __future__ import annotations

import _pickle
import io
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from dockyard.scanning.pickles import ScanLimits, scan_pickle_file
from dockyard.scanning.results import ERROR, SAFE, SUSPICIOUS, UNSAFE, ScanResult
from tests.unit.scanning import corpus

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


@pytest.fixture(autouse=True)
def _nothing_is_ever_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every loader fail loudly: the scanner must only disassemble."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a scanner tried to load a pickle")

    for module, name in [
        (pickle, "load"),
        (pickle, "loads"),
        (pickle, "Unpickler"),
        (_pickle, "load"),
        (_pickle, "loads"),
        (torch, "load"),
        (np, "load"),
    ]:
        monkeypatch.setattr(module, name, refuse)


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    """The file every payload would create; it must still be absent after each scan."""
    path = tmp_path / "payload-ran"
    yield path
    assert not path.exists(), "a payload was executed during scanning"


def scan(tmp_path: Path, name: str, data: bytes, limits: ScanLimits | None = None) -> ScanResult:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return scan_pickle_file(path, limits=limits) if limits else scan_pickle_file(path)


def assert_unsafe(result: ScanResult, module: str | None = None) -> None:
    assert result.status == UNSAFE, result
    assert result.highest_safety_level == "dangerous"
    if module is not None:
        assert any(found.module == module and found.safety == "dangerous" for found in result.imports), result


# -- malicious ------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_payload_is_unsafe_in_every_protocol(tmp_path: Path, marker: Path, protocol: int) -> None:
    for name, build in corpus.payloads(marker).items():
        result = scan(tmp_path, f"p{protocol}/{name.replace(' ', '_').replace('/', '_')}.pkl", build(protocol))
        assert result.status == UNSAFE, (name, protocol, result)


@pytest.mark.parametrize("extension", [".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".dill"])
def test_a_raw_pickle_is_scanned_whatever_its_extension(tmp_path: Path, marker: Path, extension: str) -> None:
    payload = corpus.payloads(marker)["posix.system"](2)
    assert_unsafe(scan(tmp_path, f"model{extension}", payload), "posix")


def test_the_flagged_imports_are_reported(tmp_path: Path, marker: Path) -> None:
    result = scan(tmp_path, "getattr.pkl", corpus.payloads(marker)["getattr(os, 'system')"](4))
    dangerous = {(found.module, found.name) for found in result.imports if found.safety == "dangerous"}
    assert {("builtins", "getattr"), ("builtins", "__import__")} <= dangerous
    assert result.imports[0].safety == "dangerous"  # most concerning first


def test_a_payload_followed_by_garbage_is_still_unsafe(tmp_path: Path, marker: Path) -> None:
    payload = corpus.payloads(marker)["posix.system"](4)[:-1] + b"\xff\xfe not a pickle any more"
    assert_unsafe(scan(tmp_path, "broken.pkl", payload), "posix")


def test_a_fake_zip_tail_does_not_hide_a_pickle(tmp_path: Path, marker: Path) -> None:
    """pickle.load stops at STOP; an end-of-archive record after it must not make it read as a zip."""
    payload = corpus.payloads(marker)["posix.system"](2) + b"PK\x05\x06" + b"\x00" * 18
    assert_unsafe(scan(tmp_path, "tail.pkl", payload), "posix")


def test_a_legacy_torch_file_with_a_payload_is_unsafe(tmp_path: Path, marker: Path) -> None:
    state = {"weight": torch.zeros(2), "hook": corpus.Reduce(os.system, (f"touch {marker}",))}
    assert_unsafe(scan(tmp_path, "pytorch_model.bin", corpus.torch_save(state, legacy=True)), "posix")


def test_a_hand_built_torch_zip_with_a_payload_is_unsafe(tmp_path: Path, marker: Path) -> None:
    archive = corpus.torch_zip(corpus.payloads(marker)["subprocess.Popen"](4))
    assert_unsafe(scan(tmp_path, "pytorch_model.bin", archive), "subprocess")


def test_a_real_torch_checkpoint_rewritten_with_os_system_is_unsafe(tmp_path: Path, marker: Path) -> None:
    result = scan(tmp_path, "model.pt", corpus.torch_checkpoint_with_payload(marker))
    assert_unsafe(result, "posix")
    assert ("torch._utils", "_rebuild_tensor_v2", "innocuous") in {(f.module, f.name, f.safety) for f in result.imports}


def test_a_payload_in_a_nested_zip_is_unsafe(tmp_path: Path, marker: Path) -> None:
    inner = corpus.torch_zip(corpus.payloads(marker)["builtins.exec"](4), prefix="inner")
    outer = corpus.zip_of({"README.txt": b"weights inside", "nested/checkpoint.pt": inner})
    assert_unsafe(scan(tmp_path, "bundle.zip", outer), "builtins")
    twice = corpus.zip_of({"level1.zip": outer}, compression=zipfile.ZIP_DEFLATED)
    assert_unsafe(scan(tmp_path, "weights.bin", twice), "builtins")


def test_a_torch_zip_under_an_unknown_member_name_is_found_by_magic(tmp_path: Path, marker: Path) -> None:
    inner = corpus.torch_zip(corpus.payloads(marker)["webbrowser.open"](2))
    assert_unsafe(scan(tmp_path, "bundle.zip", corpus.zip_of({"opaque-blob": inner})), "webbrowser")


def test_a_payload_in_an_npy_object_array_is_unsafe(tmp_path: Path, marker: Path) -> None:
    assert_unsafe(scan(tmp_path, "features.npy", corpus.npy_with_payload(marker)), "posix")
    npz = corpus.zip_of({"features.npy": corpus.npy_with_payload(marker)}, compression=zipfile.ZIP_DEFLATED)
    assert_unsafe(scan(tmp_path, "arrays.npz", npz), "posix")


def test_a_pickle_member_with_no_pickle_extension_is_found_by_its_proto_opcode(tmp_path: Path, marker: Path) -> None:
    archive = corpus.zip_of({"blobs/payload": corpus.payloads(marker)["socket.create_connection"](3)})
    assert_unsafe(scan(tmp_path, "archive.zip", archive), "socket")


# -- benign ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("legacy", [False, True])
def test_torch_save_of_a_state_dict_is_safe(tmp_path: Path, legacy: bool) -> None:
    result = scan(tmp_path, "pytorch_model.bin", corpus.torch_save(corpus.tiny_model().state_dict(), legacy=legacy))
    assert result.status == SAFE, result
    assert {found.safety for found in result.imports} == {"innocuous"}


@pytest.mark.parametrize("legacy", [False, True])
def test_torch_save_of_tensors_is_safe(tmp_path: Path, legacy: bool) -> None:
    tensors = {
        "a": torch.arange(6, dtype=torch.int64),
        "b": torch.ones(2, 2, dtype=torch.bfloat16),
        "c": torch.zeros(3),
    }
    assert scan(tmp_path, "tensors.pt", corpus.torch_save(tensors, legacy=legacy)).status == SAFE


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_plain_data_pickles_are_safe(tmp_path: Path, protocol: int) -> None:
    data = {"list": [1, 2.5, "x", None, True], "nested": {"t": (1, 2)}, "bytes": b"\x00\x01", "set": {1, 2}}
    assert scan(tmp_path, "data.pkl", pickle.dumps(data, protocol=protocol)).status == SAFE
    assert scan(tmp_path, "list.pickle", pickle.dumps(list(range(100)), protocol=protocol)).status == SAFE


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_joblib_like_pickles_of_ordered_dicts_are_safe(tmp_path: Path, protocol: int) -> None:
    vocab = OrderedDict((f"token{i}", i) for i in range(50))
    result = scan(tmp_path, "vocab.joblib", pickle.dumps({"vocab": vocab, "version": 3}, protocol=protocol))
    assert result.status == SAFE
    assert [(found.module, found.name) for found in result.imports] == [("collections", "OrderedDict")]


def test_numeric_npy_and_npz_are_safe(tmp_path: Path) -> None:
    assert scan(tmp_path, "x.npy", corpus.npy(np.arange(12, dtype=np.float32).reshape(3, 4))).status == SAFE
    npz = io.BytesIO()
    np.savez_compressed(npz, a=np.ones(5), b=np.arange(3))
    assert scan(tmp_path, "x.npz", npz.getvalue()).status == SAFE


def test_a_file_that_is_no_pickle_at_all_is_safe(tmp_path: Path) -> None:
    """A ggml/fasttext-style ``.bin`` that no pickle loader could read."""
    assert scan(tmp_path, "ggml-model.bin", b"ggjt" + bytes(range(256)) * 4).status == SAFE
    assert scan(tmp_path, "empty.bin", b"").status == SAFE


def test_unknown_imports_are_suspicious_not_unsafe(tmp_path: Path) -> None:
    data = b"\x80\x02cmy_library.layers\nDense\n)R."
    result = scan(tmp_path, "custom.pkl", data)
    assert result.status == SUSPICIOUS
    assert result.imports[0].safety == "suspicious"


# -- pathological inputs --------------------------------------------------------------------------
SMALL = ScanLimits(
    max_pickle_bytes=1024 * 1024,
    max_pickle_ops=10_000,
    max_archive_entries=50,
    max_archive_depth=3,
    max_archive_bytes=4 * 1024 * 1024,
    max_nested_archive_bytes=2 * 1024 * 1024,
)


def assert_refused(result: ScanResult, words: str) -> None:
    assert result.status == ERROR, result
    assert result.message is not None
    assert words in result.message, result.message


def test_a_zip_bomb_member_is_refused(tmp_path: Path) -> None:
    """20 MB of pickled zeros in a few kilobytes: the walk refuses the argument before reading it."""
    bomb = corpus.zip_of({"archive/data.pkl": pickle.dumps(b"\x00" * (20 * 1024 * 1024))}, compression=8)
    assert len(bomb) < 100_000
    assert_refused(scan(tmp_path, "bomb.pt", bomb, SMALL), "more than")
    ops_bomb = corpus.zip_of({"archive/data.pkl": b"\x80\x04" + b"N0" * 5_000_000 + b"N."}, compression=8)
    assert_refused(scan(tmp_path, "ops-bomb.pt", ops_bomb, SMALL), "opcodes")


def test_a_refusal_after_a_dangerous_import_is_still_unsafe(tmp_path: Path, marker: Path) -> None:
    members = {
        "a.pkl": corpus.payloads(marker)["posix.system"](4),
        "b.pkl": b"\x80\x04" + b"N0" * 20_000 + b"N.",
    }
    result = scan(tmp_path, "mixed.zip", corpus.zip_of(members), SMALL)
    assert_unsafe(result, "posix")
    assert result.message is not None
    assert "opcodes" in result.message


def test_a_huge_member_that_is_no_pickle_costs_nothing(tmp_path: Path) -> None:
    """Declared sizes are not refused by themselves: only what is actually read counts."""
    archive = corpus.zip_of({"data.pkl": b"\x80\x02" + b"\x00" * (20 * 1024 * 1024)}, compression=8)
    assert scan(tmp_path, "zeros.zip", archive, SMALL).status == SAFE


def test_many_members_spend_the_decompression_budget(tmp_path: Path) -> None:
    members = {f"m{i}.pkl": pickle.dumps(b"\x00" * 900_000) for i in range(6)}
    assert_refused(scan(tmp_path, "many.zip", corpus.zip_of(members, compression=8), SMALL), "decompressed")


def test_too_many_entries_are_refused(tmp_path: Path) -> None:
    archive = corpus.zip_of({f"f{i}.txt": b"x" for i in range(60)})
    assert_refused(scan(tmp_path, "entries.zip", archive, SMALL), "entries")


def test_archives_nested_too_deep_are_refused(tmp_path: Path) -> None:
    archive = pickle.dumps([1])
    for level in range(5):
        archive = corpus.zip_of({f"level{level}.zip" if level else "data.pkl": archive})
    assert_refused(scan(tmp_path, "deep.zip", archive, SMALL), "nested")


def test_too_many_opcodes_are_refused(tmp_path: Path) -> None:
    data = b"\x80\x04" + b"N0" * 20_000 + b"N."
    assert_refused(scan(tmp_path, "ops.pkl", data, SMALL), "opcodes")


def test_a_pickle_beyond_the_size_limit_is_refused(tmp_path: Path) -> None:
    assert_refused(scan(tmp_path, "big.pkl", pickle.dumps(b"\x01" * 2_000_000, protocol=4), SMALL), "more than")
    many = pickle.dumps([b"\x01" * 100_000] * 1, protocol=4) * 20  # twenty pickles in a row
    assert_refused(scan(tmp_path, "many.pkl", many, SMALL), "longer than")


def test_a_big_file_that_is_no_pickle_is_not_refused(tmp_path: Path) -> None:
    """A ggml-style .bin far over the pickle budget: parsing stops within bytes, so it is just safe."""
    assert scan(tmp_path, "ggml-model.bin", b"ggjt" + bytes(3 * 1024 * 1024), SMALL).status == SAFE


def test_a_text_line_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    data = b"S'" + b"a" * 300_000 + b"'\np0\n."
    assert_refused(scan(tmp_path, "line.pkl", data, ScanLimits(max_text_line=100_000)), "text line")


def test_a_forged_huge_length_does_not_allocate_it(tmp_path: Path) -> None:
    """BINBYTES8 declaring 2**60 bytes: no MemoryError, and no clean bill of health either."""
    data = b"\x80\x04\x8e" + struct.pack("<Q", 2**60) + b"tiny"
    assert_refused(scan(tmp_path, "forged.pkl", data), "cannot be disassembled")


def test_a_pickle_member_that_cannot_be_decompressed_is_an_error(tmp_path: Path, marker: Path) -> None:
    """An unreadable member is not skipped: it could be the one a lenient loader reads."""
    archive = bytearray(corpus.torch_zip(corpus.payloads(marker)["posix.system"](2)))
    central = archive.index(b"PK\x01\x02")  # first central directory record: archive/data.pkl
    archive[central + 10 : central + 12] = struct.pack("<H", 99)  # an unknown compression method
    assert_refused(scan(tmp_path, "odd.pt", bytes(archive)), "decompressed")


def test_an_unsupported_npy_version_is_an_error(tmp_path: Path) -> None:
    data = b"\x93NUMPY\x09\x00" + b"\x00" * 32
    assert scan(tmp_path, "odd.npy", data).status == ERROR
