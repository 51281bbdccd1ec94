"""JSON files, pretty-printed and highlighted; as text when they do not parse or are long."""

from __future__ import annotations

import json

from dockyard.web.viewers import Shown, Source, text

PRETTY_LIMIT = 1024 * 1024  # parsed and re-indented up to this size; larger ones as their first KBs


def view(source: Source) -> Shown:
    if source.size > PRETTY_LIMIT:
        return text.view(source)
    raw = text.decode_text(source.head(PRETTY_LIMIT))
    if raw is None:
        return text.view(source)
    try:
        pretty = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text.view(source)
    return Shown(kind="code", html=text.highlighted(pretty, text.lexer_named("json")))
