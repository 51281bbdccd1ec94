"""What a scan concludes about one content: the status vocabulary the Hub uses, and the imports found.

Kept apart from the scanners so the table, the service and every scanner share one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

QUEUED = "queued"
SAFE = "safe"
SUSPICIOUS = "suspicious"
UNSAFE = "unsafe"
ERROR = "error"
STATUSES = (QUEUED, SAFE, SUSPICIOUS, UNSAFE, ERROR)
FINAL_STATUSES = frozenset({SAFE, SUSPICIOUS, UNSAFE, ERROR})

# picklescan's safety levels, in increasing order of concern.
INNOCUOUS = "innocuous"
DANGEROUS = "dangerous"
SAFETY_ORDER = {INNOCUOUS: 0, SUSPICIOUS: 1, DANGEROUS: 2}


@dataclass(frozen=True, slots=True)
class ImportFinding:
    """One ``module.name`` a pickle would import when loaded, with picklescan's verdict on it."""

    module: str
    name: str
    safety: str

    def to_json(self) -> dict[str, str]:
        return {"module": self.module, "name": self.name, "safety": self.safety}


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The verdict on one file's content. ``message`` says why when the status is not ``safe``."""

    status: str
    scanner: str
    scanner_version: str
    imports: tuple[ImportFinding, ...] = field(default=())
    message: str | None = None

    @property
    def highest_safety_level(self) -> str | None:
        return highest_safety_level([finding.safety for finding in self.imports])

    def imports_json(self) -> list[dict[str, Any]]:
        return [finding.to_json() for finding in self.imports]


def highest_safety_level(levels: list[str]) -> str | None:
    """The most concerning of picklescan's levels, or None when nothing was imported."""
    if not levels:
        return None
    return max(levels, key=lambda level: SAFETY_ORDER.get(level, SAFETY_ORDER[DANGEROUS]))
