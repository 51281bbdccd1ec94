"""Which files need which scan, decided from their path and first bytes. Pure functions.

Loaders choose their deserialiser by file name (``torch.load`` on ``*.bin``, ``pickle`` on ``*.pkl``,
``np.load`` on ``*.npy``), so the extension is the first signal. Names that say nothing (no extension,
an unknown one) are decided by magic bytes, so a pickle or a torch zip under an odd name is still
scanned. Formats that no loader unpickles (JSON, text, images, parquet…) are never read.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import PurePosixPath

from dockyard.repos.git_repo import FileEntry


class PathKind(StrEnum):
    PICKLE = "pickle"  # may hold a pickle: raw, legacy torch, torch zip, joblib, dill, npy, archives of those
    SAFETENSORS = "safetensors"  # header validated, never trusted
    SNIFF = "sniff"  # the name says nothing: the first bytes decide
    INERT = "inert"  # a format no loader unpickles


class ContentKind(StrEnum):
    ZIP = "zip"
    GZIP = "gzip"  # ``*.pkl.gz``: joblib and pandas unpickle what it decompresses to
    NUMPY = "numpy"
    PICKLE = "pickle"
    OTHER = "other"


PICKLE_EXTENSIONS = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".dill"})
# Zip containers that loaders open and unpickle members of (np.load on .npz with allow_pickle).
ARCHIVE_EXTENSIONS = frozenset({".zip", ".npz"})
# Inside an archive picklescan also treats these as pickles; keep them so members named that way are scanned.
MEMBER_PICKLE_EXTENSIONS = PICKLE_EXTENSIONS | {".dat", ".data"}
INERT_EXTENSIONS = frozenset(
    {
        # text, configuration, code, documents
        ".json", ".jsonl", ".md", ".txt", ".csv", ".tsv", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".xml",
        ".html", ".css", ".js", ".ts", ".py", ".ipynb", ".sh", ".rst", ".tex", ".pdf", ".svg", ".license",
        # columnar data
        ".parquet", ".arrow", ".avro", ".orc",
        # media
        ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".ico",
        ".wav", ".mp3", ".flac", ".ogg", ".opus", ".m4a", ".mp4", ".webm", ".avi", ".mov", ".mkv",
        # weight formats without pickles, and tokenizer files
        ".onnx", ".gguf", ".tflite", ".msgpack", ".model", ".spm", ".tiktoken", ".vocab", ".merges",
    }
)  # fmt: skip
INERT_NAMES = frozenset({".gitattributes", ".gitignore"})

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # an archive, an empty archive
NUMPY_MAGIC = b"\x93NUMPY"
GZIP_MAGIC = b"\x1f\x8b"
COMPRESSED_EXTENSIONS = frozenset({".gz"})
# Protocol 2+ pickles open with PROTO; 0 and 1 are accepted by pickle too when written by hand.
PICKLE_PROTO_MAGICS = tuple(bytes([0x80, protocol]) for protocol in range(6))
# Protocol 0/1 pickles have no header; one that opens (after MARKs) with GLOBAL or INST of a dotted
# name, followed by a MARK, an empty tuple or a memo PUT, is what payloads look like
# (``cos\nsystem\n(S'id'``, ``ccopy_reg\n_reconstructor\np0\n``). The follower keeps word lists
# that happen to start with "c" (``cat\ndog\n``) from being taken for pickles.
_TEXT_PICKLE = re.compile(rb"\(*[ci][A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n(?:[()]|p\d+\n|q[\x00-\x1f])")
HEAD_BYTES = 64  # enough for every check above


def path_kind(path: str) -> PathKind:
    """What a file's name says about the scan it needs."""
    name = PurePosixPath(path).name
    suffix = PurePosixPath(name.lower()).suffix
    if suffix in COMPRESSED_EXTENSIONS:
        return _compressed_path_kind(name[: -len(suffix)])
    if name in INERT_NAMES or suffix in INERT_EXTENSIONS:
        return PathKind.INERT
    if suffix == ".safetensors":
        return PathKind.SAFETENSORS
    if suffix in PICKLE_EXTENSIONS or suffix in ARCHIVE_EXTENSIONS:
        return PathKind.PICKLE
    return PathKind.SNIFF


def _compressed_path_kind(inner: str) -> PathKind:
    """``x.pkl.gz`` is a pickle and ``x.csv.gz`` is inert, by the name inside; ``x.gz`` is sniffed."""
    kind = path_kind(inner) if PurePosixPath(inner).suffix else PathKind.SNIFF
    return PathKind.SNIFF if kind is PathKind.SAFETENSORS else kind


def content_kind(head: bytes) -> ContentKind:
    """What the first bytes of a content are; ``head`` should hold at least :data:`HEAD_BYTES`."""
    if head.startswith(ZIP_MAGICS):
        return ContentKind.ZIP
    if head.startswith(NUMPY_MAGIC):
        return ContentKind.NUMPY
    if head.startswith(GZIP_MAGIC):
        return ContentKind.GZIP
    if head.startswith(PICKLE_PROTO_MAGICS) or _TEXT_PICKLE.match(head):
        return ContentKind.PICKLE
    return ContentKind.OTHER


def member_kind(name: str, head: bytes) -> ContentKind:
    """What an archive member is, by its magic bytes first and then its name (as picklescan decides)."""
    kind = content_kind(head)
    if kind is not ContentKind.OTHER:
        return kind
    suffix = PurePosixPath(name.lower()).suffix
    if suffix in ARCHIVE_EXTENSIONS:
        return ContentKind.ZIP
    if suffix == ".npy":
        return ContentKind.NUMPY
    if suffix in MEMBER_PICKLE_EXTENSIONS:
        return ContentKind.PICKLE
    return ContentKind.OTHER


def is_torch_storage(name: str, pickle_names: frozenset[str]) -> bool:
    """``<prefix>/data/<n>`` next to ``<prefix>/data.pkl``: raw tensor bytes that torch never unpickles.

    Skipping them avoids reading gigabytes of weights and false alarms on weights that happen to
    begin with pickle's magic bytes.
    """
    prefix, _, leaf = name.rpartition("/data/")
    return bool(prefix) and leaf.isdigit() and f"{prefix}/data.pkl" in pickle_names


def content_key(entry: FileEntry) -> str:
    """The key scan results are stored under: identical content is scanned once, hub-wide."""
    if entry.lfs is not None:
        return f"sha256:{entry.lfs.oid}"
    return f"git:{entry.blob_id}"
