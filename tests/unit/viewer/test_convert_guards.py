"""The conversion's limits: archives and compressed files that expand too much are refused before
any reader opens them, and a row with an over-large cell fails its split."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
import zstandard

from dockyard.settings import Settings
from dockyard.viewer.errors import FileFormatError, TooBigContentError
from dockyard.viewer.steps import guards

SETTINGS = Settings(viewer_max_decompression_ratio=50, viewer_max_row_bytes=4096)
EXPANDING = b"text\n" + b"a" * (2 * guards.ALWAYS_ALLOWED)  # compresses over a thousand times
REPETITIVE = b"text\n" + b"b" * (guards.ALWAYS_ALLOWED // 2)  # as compressible, but small
ORDINARY = b"".join(f"row {i},{i * 7919 % 1000}\n".encode() for i in range(2000))


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


ENCODERS = {
    "data.csv.gz": gzip.compress,
    "data.csv.zst": lambda data: zstandard.ZstdCompressor().compress(data),
    "data.zip": lambda data: _zip({"data.csv": data}),
}


@pytest.mark.parametrize("name", list(ENCODERS))
def test_bombs_are_refused_and_ordinary_files_pass(tmp_path: Path, name: str) -> None:
    bomb = tmp_path / f"bomb-{name}"
    bomb.write_bytes(ENCODERS[name](EXPANDING))
    assert len(EXPANDING) > bomb.stat().st_size * SETTINGS.viewer_max_decompression_ratio
    with pytest.raises(TooBigContentError, match="decompression limits"):
        guards.check_file(SETTINGS, bomb, name)

    for kind, data in (("ordinary", ORDINARY), ("repetitive", REPETITIVE)):
        fine = tmp_path / f"{kind}-{name}"
        fine.write_bytes(ENCODERS[name](data))
        guards.check_file(SETTINGS, fine, name)  # no error


def test_a_zip_that_lies_about_its_sizes_is_measured(tmp_path: Path) -> None:
    """The central directory's declared sizes are checked first, but what comes out counts."""
    archive = tmp_path / "liar.zip"
    archive.write_bytes(_zip({"a.csv": EXPANDING}))
    data = bytearray(archive.read_bytes())
    # Patch the declared uncompressed size in the central directory to a tiny number.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises((TooBigContentError, FileFormatError)):
        guards.check_file(SETTINGS, archive, "liar.zip")


def test_a_corrupt_archive_is_a_format_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    with pytest.raises(FileFormatError):
        guards.check_file(SETTINGS, broken, "broken.csv.gz")


def test_an_over_large_cell_fails_and_ordinary_rows_pass() -> None:
    ordinary = pa.table({"text": ["short"] * 3, "image": [{"bytes": b"x" * 100, "path": "a.png"}] * 3})
    guards.check_rows(SETTINGS, ordinary)
    huge_text = pa.table({"text": ["short", "y" * 5000]})
    with pytest.raises(TooBigContentError, match="'text'"):
        guards.check_rows(SETTINGS, huge_text)
    huge_image = pa.table({"image": [{"bytes": b"x" * 5000, "path": "b.png"}]})
    with pytest.raises(TooBigContentError, match="'image'"):
        guards.check_rows(SETTINGS, huge_image)
