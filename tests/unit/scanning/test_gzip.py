"""Gzip-compressed pickles (``*.pkl.gz``, as joblib and pandas write them) are decompressed within a
bound and scanned; compressed data files are not read at all."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

from dockyard.scanning.detect import ContentKind, PathKind, content_kind, path_kind
from dockyard.scanning.pickles import ScanLimits, scan_pickle_file
from dockyard.scanning.results import ERROR, SAFE, UNSAFE


class _Exploit:
    def __reduce__(self) -> tuple[object, ...]:
        import os

        return (os.system, ("true",))


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_names_decide_by_what_is_inside_the_gzip() -> None:
    assert path_kind("model.pkl.gz") is PathKind.PICKLE
    assert path_kind("weights.PT.GZ") is PathKind.PICKLE
    assert path_kind("data/train.csv.gz") is PathKind.INERT
    assert path_kind("blob.gz") is PathKind.SNIFF
    assert path_kind("model.safetensors.gz") is PathKind.SNIFF
    assert content_kind(gzip.compress(b"x")) is ContentKind.GZIP


def test_a_gzipped_malicious_pickle_is_unsafe(tmp_path: Path) -> None:
    path = _write(tmp_path, "evil.pkl.gz", gzip.compress(pickle.dumps(_Exploit())))
    result = scan_pickle_file(path, name="evil.pkl.gz")
    assert result.status == UNSAFE
    assert [(found.module, found.name) for found in result.imports] == [("posix", "system")]


def test_a_gzipped_harmless_pickle_is_safe(tmp_path: Path) -> None:
    path = _write(tmp_path, "ok.pkl.gz", gzip.compress(pickle.dumps({"a": [1, 2.0, "x"]})))
    assert scan_pickle_file(path, name="ok.pkl.gz").status == SAFE


def test_a_gzip_bomb_stops_at_the_bound(tmp_path: Path) -> None:
    path = _write(tmp_path, "bomb.pkl.gz", gzip.compress(bytes(8 * 1024 * 1024)))
    result = scan_pickle_file(path, name="bomb.pkl.gz", limits=ScanLimits(max_gzip_bytes=1024 * 1024))
    assert result.status == ERROR
    assert "decompresses to more than" in (result.message or "")


def test_a_corrupt_gzip_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.pkl.gz", gzip.compress(pickle.dumps(_Exploit()))[:-12] + b"garbage")
    assert scan_pickle_file(path, name="bad.pkl.gz").status in (ERROR, UNSAFE)
