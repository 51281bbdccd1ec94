"""Fixtures for the Xet primitive tests: import path, isolated hf_xet caches, a capture CAS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.xet.capture_cas import CaptureCas


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
