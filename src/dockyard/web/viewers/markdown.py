"""Markdown files, rendered and sanitised like cards, with links resolved next to the file."""

from __future__ import annotations

from dockyard.web.markdown import LinkBase, render_markdown
from dockyard.web.viewers import Shown, Source, Viewer, text


def viewer(links: LinkBase) -> Viewer:
    """A viewer bound to where the file's relative links lead (its repo, revision and folder)."""

    def view(source: Source) -> Shown:
        body, notes = text.read_text(source, text.TEXT_LIMIT)
        if body is None:
            return text.view(source)
        return Shown(kind="markdown", html=render_markdown(body, links=links), notes=notes)

    return view
