"""URL details the Hub's clients depend on.

* Revisions and tree paths arrive with ``/`` encoded as ``%2F`` inside one segment
  (``refs%2Fpr%2F1``). ASGI servers decode the path before routing, which would split them, so
  the front door routes on :func:`routing_path`: the raw path with ``%2F`` (and ``%25``) still encoded;
  handlers decode their parameters with :func:`unquote_param`.
* Repo ids are ``namespace/name`` or a single canonical segment (``gpt2``): the ``repo``
  convertor matches both and the regex engine picks the two-segment reading first.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.types import Scope

from dockyard.errors import BadRequestError
from dockyard.identifiers import RepoId, RepoType
from dockyard.repos.service import RepoRef
from dockyard.url_convertors import RepoIdConvertor, RepoTypeConvertor  # noqa: F401 (registers them)


def unquote_param(value: str) -> str:
    return unquote(value)


def repo_ref(repo_type: RepoType | str, repo_id: str) -> RepoRef:
    kind = repo_type if isinstance(repo_type, RepoType) else RepoType.from_plural(repo_type)
    return RepoRef(kind, RepoId.parse(repo_id))


def routing_path(scope: Scope) -> str:
    """The path to route on: decoded, except ``%2F`` and ``%25``, which stay inside their segment."""
    raw: bytes | None = scope.get("raw_path")
    if raw and b"%" in raw:
        return _decode_keeping_slashes(raw.split(b"?", 1)[0])
    path: str = scope["path"]
    return path


def _decode_keeping_slashes(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").replace("\x00", "")
    protected = text.replace("%2F", "\x00F").replace("%2f", "\x00F").replace("%25", "\x00P")
    decoded = unquote(protected, encoding="utf-8", errors="replace")
    return decoded.replace("\x00F", "%2F").replace("\x00P", "%25")


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise BadRequestError(f"Invalid boolean for {name}: {value!r}")
