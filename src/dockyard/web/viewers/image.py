"""Images: an ``<img>`` on the file's /resolve/ URL (the template builds it); no bytes read here.

SVG is safe in an ``<img>`` (scripts never run there), and /resolve/ serves it as a sandboxed
attachment, so opening it directly does not run it on the hub's origin either."""

from __future__ import annotations

from dockyard.web.viewers import Shown, Source

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".bmp", ".ico", ".svg"})


def view(source: Source) -> Shown:
    return Shown(kind="image")
