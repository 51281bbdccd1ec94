"""Cards, comments and Markdown files are rendered safely: what markup survives and what not."""

from __future__ import annotations

import pytest

from dockyard.web.markdown import LinkBase, render_markdown

REPO = LinkBase("/alice/model", "main", "docs")


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[x](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=/></iframe>",
        '<svg onload="alert(1)"></svg>',
        '<p style="background:url(javascript:alert(1))">x</p>',
        "<form action=/logout><button>x</button></form>",
        '<math><mtext><table><mglyph><style><img src=x onerror="alert(1)">',
    ],
)
def test_hostile_markup_loses_everything_that_could_run(hostile: str) -> None:
    html = render_markdown(hostile).lower()
    for dangerous in ("<script", "onerror=", "onload=", 'href="javascript:', "<iframe", "style=", "<form", "<svg"):
        assert dangerous not in html


def test_relative_links_and_images_resolve_inside_the_repo() -> None:
    html = render_markdown("[guide](../README.md#usage) ![plot](img/loss.png) [ext](https://example.org)", links=REPO)
    assert 'href="/alice/model/blob/main/README.md#usage"' in html
    assert 'src="/alice/model/resolve/main/docs/img/loss.png"' in html
    assert 'href="https://example.org"' in html


def test_a_revision_with_a_slash_stays_one_segment() -> None:
    html = render_markdown("![x](a.png)", links=LinkBase("/alice/model", "refs/pr/1"))
    assert 'src="/alice/model/resolve/refs%2Fpr%2F1/a.png"' in html


def test_math_becomes_mathml_and_code_is_highlighted() -> None:
    html = render_markdown("Loss $\\frac{a}{b}$\n\n```python\nimport torch\n```\n")
    assert 'xmlns="http://www.w3.org/1998/Math/MathML"' in html
    assert "<mfrac>" in html
    assert '<span class="kn">import</span>' in html


@pytest.mark.parametrize("tex", ["\\text{<img src=x onerror=alert(1)>}", "\\text{<img/src=x/onerror=alert(1)>}"])
def test_a_formula_cannot_smuggle_markup_through_mathml(tex: str) -> None:
    html = render_markdown(f"${tex}$")
    assert "<img" not in html


def test_front_matter_is_not_part_of_the_body() -> None:
    assert "license" not in render_markdown("---\nlicense: mit\n---\n# Title\n")
