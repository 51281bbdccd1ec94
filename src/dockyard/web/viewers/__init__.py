"""File viewers: how the blob page shows a file, picked by its name and first bytes.

Each viewer reads through a :class:`Source` (a git blob or a large file stored whole or as Xet
chunks, behind one ``read_range``) and reads only what it shows: the first KBs of a text, the
header of a safetensors file, the first rows of a table. A page never loads a whole large file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from markupsafe import Markup


@dataclass(frozen=True, slots=True)
class Source:
    """A file's bytes, read by inclusive ranges (``read_range(0, 99)`` is the first 100 bytes)."""

    path: str
    size: int
    read_range: Callable[[int, int], bytes]

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name.lower()).suffix

    def head(self, limit: int) -> bytes:
        """The first ``limit`` bytes at most."""
        if self.size == 0:
            return b""
        return self.read_range(0, min(limit, self.size) - 1)


@dataclass(frozen=True, slots=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    total_rows: int | None = None  # when the format says (Parquet); None when unknown (CSV)


@dataclass(frozen=True, slots=True)
class Tensor:
    name: str
    dtype: str
    shape: list[int]


@dataclass(frozen=True, slots=True)
class Shown:
    """What the blob page shows. ``kind`` picks the template part: ``code``, ``markdown``,
    ``image``, ``table``, ``tensors`` or ``binary`` (a download link only)."""

    kind: str
    html: Markup | None = None
    table: Table | None = None
    tensors: list[Tensor] = field(default_factory=list)
    parameters: int | None = None
    notes: list[str] = field(default_factory=list)


Viewer = Callable[[Source], Shown]


def binary(reason: str) -> Shown:
    return Shown(kind="binary", notes=[reason])
