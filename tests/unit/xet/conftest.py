"""Fixtures for the Xet primitive tests: import path, isolated hf_xet caches, a capture CAS."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The package may not be installed in the venv yet; fall back to the source tree.
if importlib.util.find_spec("dockyard") is None:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "src"))

from capture_cas import CaptureCas


@pytest.fixture(autouse=True)
def _isolated_hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give hf_xet a private cache so no test dedupes against another test's uploads."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_XET_CACHE", str(tmp_path / "hf" / "xet"))


@pytest.fixture
def cas() -> Iterator[CaptureCas]:
    """A running capture CAS server on a random local port."""
    with CaptureCas() as server:
        yield server
