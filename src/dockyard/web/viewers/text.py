"""Text files with server-side highlighting (Pygments), or a download link for binary files."""

from __future__ import annotations

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name, get_lexer_for_filename
from pygments.util import ClassNotFound

from dockyard.web.viewers import Shown, Source, binary

TEXT_LIMIT = 256 * 1024  # shown at most; the rest is a download
HIGHLIGHT_LIMIT = 128 * 1024  # Pygments' time grows with the text: beyond this, plain text
_FORMATTER = HtmlFormatter(nowrap=True)


def decode_text(data: bytes) -> str | None:
    """The text of ``data``, or None for binary (a NUL byte, or not UTF-8). A cut at the limit
    may split a character: only the last three bytes may be an incomplete one."""
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(data) - 3:
            return data[: error.start].decode("utf-8")
        return None


def read_text(source: Source, limit: int = TEXT_LIMIT) -> tuple[str | None, list[str]]:
    """The first ``limit`` bytes as text (None for binary), with a note when cut."""
    text = decode_text(source.head(limit))
    notes = [f"Showing the first {limit // 1024} KB of {source.size:,} bytes."] if source.size > limit else []
    return text, notes


def highlighted(code: str, lexer: Lexer | None) -> Markup:
    """Pygments' escaped, classed HTML (or the escaped text when too long or no lexer fits)."""
    if lexer is None or len(code) > HIGHLIGHT_LIMIT:
        lexer = TextLexer()
    return Markup(f'<pre class="highlight file-code"><code>{highlight(code, lexer, _FORMATTER)}</code></pre>')


def lexer_for(name: str, code: str) -> Lexer | None:
    try:
        return get_lexer_for_filename(name, code[:4096])
    except ClassNotFound:
        return None


def lexer_named(alias: str) -> Lexer | None:
    try:
        return get_lexer_by_name(alias)
    except ClassNotFound:
        return None


def view(source: Source) -> Shown:
    text, notes = read_text(source)
    if text is None:
        return binary("This file is binary: download it to see it.")
    return Shown(kind="code", html=highlighted(text, lexer_for(source.name, text)), notes=notes)
