"""Markdown to safe HTML, for cards, comments and Markdown files.

markdown-it-py parses (CommonMark, tables, strikethrough, task lists, footnotes, ``$math$``);
Pygments highlights fenced code; nh3 sanitises the result against an allow-list, so raw HTML in
a card cannot script, style or frame anything. Math is converted to MathML on the server
(latex2mathml) *after* sanitising, from the TeX source alone, so the browser needs no script or
font for it. Relative links and images are resolved inside the repo at the viewed revision.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import nh3
from latex2mathml.converter import convert as tex_to_mathml
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

MAX_MARKDOWN = 2 * 1024 * 1024  # longer text is shown as plain text: parsing time grows with it

_TAGS = set(nh3.ALLOWED_TAGS) | {"input", "section"}
_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "title", "align"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "input": {"type", "checked", "disabled"},
    "td": {"colspan", "rowspan", "style"},
    "th": {"colspan", "rowspan", "style"},
    "ol": {"start"},
    "code": {"class"},
}
_FORMATTER = HtmlFormatter(nowrap=True)
_MATHML_TAGS = frozenset(
    [
        "math",
        "mrow",
        "mi",
        "mn",
        "mo",
        "mtext",
        "mspace",
        "ms",
        "mfrac",
        "msqrt",
        "mroot",
        "msub",
        "msup",
        "msubsup",
        "munder",
        "mover",
        "munderover",
        "mtable",
        "mtr",
        "mtd",
        "mstyle",
        "mpadded",
        "mphantom",
        "menclose",
        "merror",
        "semantics",
        "annotation",
        "mmultiscripts",
        "mprescripts",
        "none",
    ]
)
_MATHML_ATTRIBUTES = frozenset(
    [
        "display",
        "displaystyle",
        "mathvariant",
        "stretchy",
        "fence",
        "separator",
        "lspace",
        "rspace",
        "accent",
        "accentunder",
        "columnalign",
        "columnlines",
        "columnspacing",
        "rowspacing",
        "rowlines",
        "frame",
        "linethickness",
        "scriptlevel",
        "width",
        "height",
        "depth",
        "notation",
        "minsize",
        "maxsize",
        "movablelimits",
        "form",
        "largeop",
        "symmetric",
        "encoding",
        "xmlns",
    ]
)


@dataclass(frozen=True, slots=True)
class LinkBase:
    """Where relative links in a repo's Markdown lead: ``blob`` pages for links, ``resolve`` for
    images, both at ``revision`` and relative to the directory of the rendered file."""

    repo_url: str  # "/alice/model", "/datasets/alice/data"
    revision: str
    directory: str = ""

    def resolve(self, target: str, *, image: bool) -> str:
        if not target or target.startswith(("#", "/", "mailto:")) or urlsplit(target).scheme:
            return target
        path = target.split("#", 1)[0].split("?", 1)[0]
        fragment = target[len(path) :]
        joined = _normalise(f"{self.directory}/{path}" if self.directory else path)
        kind = "resolve" if image else "blob"
        return f"{self.repo_url}/{kind}/{quote(self.revision, safe='')}/{quote(joined)}{fragment}"


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _highlight(code: str, language: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(language.strip().split()[0]) if language.strip() else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes it as plain code
    highlighted = highlight(code, lexer, _FORMATTER)
    return f'<pre class="highlight"><code class="language-{escape(language)}">{highlighted}</code></pre>'


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False, "highlight": _highlight})
    md.enable(["table", "strikethrough"])
    md.use(front_matter_plugin).use(footnote_plugin).use(tasklists_plugin).use(dollarmath_plugin, double_inline=True)
    return md


_MD = _parser()


def render_markdown(text: str, *, links: LinkBase | None = None) -> Markup:
    """Sanitised HTML for ``text``; YAML front matter is left out (pages show it as data)."""
    if len(text) > MAX_MARKDOWN:
        return Markup(f"<pre>{escape(text[:MAX_MARKDOWN])}</pre>")
    nonce = secrets.token_hex(8)
    formulas: list[str] = []
    env: dict[str, Any] = {}
    renderer = _Renderer(links, nonce, formulas)
    html = renderer.render(_MD.parse(text, env), _MD.options, env)
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    for index, formula in enumerate(formulas):
        clean = clean.replace(_placeholder(nonce, index), formula, 1)
    return Markup(clean)


def safe_mathml(tex: str, *, display: str) -> str | None:
    """MathML for ``tex``, or None. latex2mathml copies ``\\text{...}`` verbatim into its output,
    markup included, so its output is parsed as XML and rebuilt from MathML elements and plain
    attributes only: text is re-escaped, anything else makes the formula fall back to code."""
    try:
        root = ElementTree.fromstring(tex_to_mathml(tex, display=display))
    except Exception:  # latex2mathml raises many types on bad TeX; ParseError on smuggled markup
        return None
    for element in root.iter():
        element.tag = element.tag.rsplit("}", 1)[-1]  # HTML parsers want plain names, no prefix
        if element.tag not in _MATHML_TAGS or any(name not in _MATHML_ATTRIBUTES for name in element.attrib):
            return None
    root.set("xmlns", "http://www.w3.org/1998/Math/MathML")
    return ElementTree.tostring(root, encoding="unicode", short_empty_elements=False)


def _placeholder(nonce: str, index: int) -> str:
    return f"MATH{nonce}X{index}X"


class _Renderer(RendererHTML):
    """markdown-it's HTML renderer with repo-relative links and math held aside for MathML."""

    def __init__(self, links: LinkBase | None, nonce: str, formulas: list[str]) -> None:
        super().__init__()
        self.links, self.nonce, self.formulas = links, nonce, formulas

    def math_inline(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return self._math(tokens[idx].content, display="inline")

    def math_inline_double(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return self._math(tokens[idx].content, display="block")

    def math_block(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return self._math(tokens[idx].content, display="block")

    def math_block_label(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return self._math(tokens[idx].content, display="block")

    def _math(self, tex: str, *, display: str) -> str:
        mathml = safe_mathml(tex, display=display)
        if mathml is None:
            return f'<code class="math-error">{escape(tex)}</code>'
        self.formulas.append(mathml)
        wrapper = "div" if display == "block" else "span"
        return f'<{wrapper} class="math">{_placeholder(self.nonce, len(self.formulas) - 1)}</{wrapper}>'

    def link_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        self._rebase(tokens[idx], "href", image=False)
        return self.renderToken(tokens, idx, options, env)

    def image(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        self._rebase(tokens[idx], "src", image=True)
        return super().image(tokens, idx, options, env)

    def _rebase(self, token: Token, attribute: str, *, image: bool) -> None:
        target = token.attrGet(attribute)
        if self.links is not None and isinstance(target, str):
            token.attrSet(attribute, self.links.resolve(target, image=image))
