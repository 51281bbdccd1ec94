"""The browser's fallback SHA-256 (for plain-HTTP hubs, where crypto.subtle is withheld) agrees
with hashlib on the lengths where padding changes shape, and on a larger random file."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest


@pytest.mark.parametrize("length", [0, 1, 55, 56, 63, 64, 65, 1000, 200_003])
def test_fallback_sha256_matches_hashlib(page: Any, length: int) -> None:
    data = os.urandom(length)
    page.goto("/")
    digest = page.evaluate(
        """async (values) => {
            const { sha256 } = await import("/-/static/js/sha256.js");
            const bytes = new Uint8Array(sha256(new Uint8Array(values)));
            return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
        }""",
        list(data),
    )
    assert digest == hashlib.sha256(data).hexdigest()
