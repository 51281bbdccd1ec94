"""Signed, expiring URLs to the bytes of one image or audio cell. The viewer API and the dataset
page hand them out to callers that may download the dataset; the URL carries the grant (browsers
load ``<img>`` and ``<audio>`` without the API's credentials), like LFS and Xet URLs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.signing import Signer

PURPOSE = "viewer-asset"
TTL = 3600
PATH = "/api/viewer/assets/"


@dataclass(frozen=True, slots=True)
class CellRef:
    """Which cell a grant opens: a dataset revision's (config, split), a row and a column."""

    repo_id: int
    revision: str
    config: str
    split: str
    row_idx: int
    column: str
    mime: str


def sign(signer: Signer, cell: CellRef) -> str:
    claims = {
        "r": cell.repo_id,
        "v": cell.revision,
        "c": cell.config,
        "s": cell.split,
        "i": cell.row_idx,
        "k": cell.column,
        "m": cell.mime,
    }
    return signer.sign(PURPOSE, claims, ttl=TTL)


def verify(signer: Signer, token: str) -> CellRef:
    """The cell a token grants (401 for a forged, foreign or expired one)."""
    claims: dict[str, Any] = signer.verify(PURPOSE, token)
    return CellRef(
        int(claims["r"]), str(claims["v"]), str(claims["c"]), str(claims["s"]), int(claims["i"]), str(claims["k"]),
        str(claims["m"]),
    )  # fmt: skip


def url_maker(signer: Signer, base: str, repo_id: int, revision: str, config: str, split: str) -> Any:
    """A ``rows.AssetUrl`` for one split: (row_idx, column, mime) -> absolute signed URL."""

    def url(row_idx: int, column: str, mime: str) -> str:
        token = sign(signer, CellRef(repo_id, revision, config, split, row_idx, column, mime))
        return f"{base}{PATH}{token}"

    return url
