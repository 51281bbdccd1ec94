"""A real browser: Debian's Chromium driven by Playwright (its driver ships in the wheel)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("DOCKYARD_CHROMIUM", "/usr/bin/chromium")
# The machine has no network beyond loopback: without these flags Chromium keeps trying to reach
# its update, sync and safe-browsing services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(os.environ.get("DOCKYARD_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "artifacts"))


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    """Keep a picture of the page as a test artefact (``build/artifacts/screenshots``)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def screenshots(page: Any, name: str) -> list[Path]:
    """The current page at desktop and at phone width, both kept as artefacts."""
    taken = []
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        taken.append(screenshot(page, f"{name}-{label}"))
    page.set_viewport_size(DESKTOP)
    return taken


def serious_accessibility_violations(page: Any) -> list[str]:
    """axe-core, run in the page: the violations rated serious or critical, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response.get("violations", [])
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
        if v.get("impact") in ("serious", "critical")
    ]


# Markup that runs script when it is not neutralised. Each payload calls ``alert`` or sets
# ``window.__xss``: :class:`ScriptWatch` notices either.
XSS_PAYLOADS = (
    "<script>window.__xss=1;alert('xss-script')</script>",
    "<img src=x onerror=\"window.__xss=1;alert('xss-img')\">",
    "<svg onload=\"window.__xss=1;alert('xss-svg')\"></svg>",
    "<a href=\"javascript:window.__xss=1;alert('xss-href')\">click me</a>",
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    '"><script>window.__xss=1</script>',
    '<details open ontoggle="window.__xss=1">',
    "[link](javascript:window.__xss=1)",
    '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=1">',
    "{{7*7}}${7*7}<%= 7*7 %>",
)


class ScriptWatch:
    """Attach before loading a page with hostile content; ``ran()`` says whether any script of
    the payloads executed (a dialog opened, ``window.__xss`` set, or a CSP report of an attempt
    does not count: blocked is inert)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def ran(self) -> bool:
        flagged = bool(self.page.evaluate("() => Boolean(window.__xss)"))
        return flagged or bool(self.dialogs)
