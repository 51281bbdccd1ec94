"""Every background job the source tree declares, found by scanning ``src/`` for ``@job(``, so a
job added anywhere is checked against the composition root without editing any list."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import dockyard
from dockyard.jobs.registry import JobKind, declared_in

SOURCE_ROOT = Path(dockyard.__file__).parent
_DECORATOR = re.compile(r"^\s*@job\(", re.MULTILINE)


def declared_jobs() -> dict[str, JobKind]:
    """Job name -> declaration, for every ``@job``-decorated function under ``src/dockyard``."""
    found: dict[str, JobKind] = {}
    for path in sorted(SOURCE_ROOT.rglob("*.py")):
        if not _DECORATOR.search(path.read_text(encoding="utf-8")):
            continue
        relative = path.relative_to(SOURCE_ROOT.parent).with_suffix("")
        module = importlib.import_module(".".join(relative.parts))
        kinds = declared_in(module)
        assert kinds, f"{path} uses @job( but declares no job"
        found.update({kind.name: kind for kind in kinds})
    return found
