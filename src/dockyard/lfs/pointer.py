"""Git LFS pointer files (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

SPEC_LINE = b"version https://git-lfs.github.com/spec/v1\n"
MAX_POINTER_SIZE = 1024
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class LfsPointer:
    oid: str
    size: int

    def encode(self) -> bytes:
        return SPEC_LINE + f"oid sha256:{self.oid}\nsize {self.size}\n".encode()


def is_sha256(text: str) -> bool:
    return bool(_SHA256_RE.match(text))


def parse_pointer(data: bytes) -> LfsPointer | None:
    """The pointer described by ``data``, or None when it is ordinary file content."""
    if len(data) > MAX_POINTER_SIZE or not data.startswith(SPEC_LINE):
        return None
    fields: dict[str, str] = {}
    for line in data[len(SPEC_LINE) :].decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        fields[key] = value
    oid = fields.get("oid", "").removeprefix("sha256:")
    size = fields.get("size", "")
    if not is_sha256(oid) or not size.isdigit():
        return None
    return LfsPointer(oid=oid, size=int(size))
