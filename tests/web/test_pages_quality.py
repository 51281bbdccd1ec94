"""The pages every visitor meets first, checked in the browser: accessible (axe-core), kept as
screenshots at desktop and phone width, and the JavaScript they ship stays small."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import screenshots, serious_accessibility_violations

JS_BUDGET = 100 * 1024


@pytest.mark.parametrize(("name", "url"), [("home", "/"), ("login", "/login")])
def test_page_is_accessible_and_pictured(page: Any, name: str, url: str) -> None:
    page.goto(url)
    assert serious_accessibility_violations(page) == []
    assert all(path.stat().st_size > 0 for path in screenshots(page, name))


def test_a_page_ships_less_than_100_kb_of_javascript(page: Any) -> None:
    scripts: list[int] = []
    page.on("response", lambda r: scripts.append(len(r.body())) if r.request.resource_type == "script" else None)
    page.goto("/", wait_until="networkidle")
    assert scripts, "the page loads its script"
    assert sum(scripts) < JS_BUDGET
