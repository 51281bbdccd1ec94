"""Fine-grained tokens: a token limited to chosen repos, organisations or the user's namespace.

A scope names an entity — ``user:<name>``, ``org:<name>``, ``model|dataset|space|kernel|bucket:<ns>/<name>`` —
and grants ``read`` or ``write`` (write implies read). Read and write role tokens have no scopes:
they carry everything their user may do. Public content is readable with any token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dockyard.errors import BadRequestError
from dockyard.identifiers import RepoType

# Buckets are not repos (no RepoType) but take fine-grained scopes the same way: ``bucket:NS/NAME:LEVEL``.
ENTITY_TYPES = ("user", "org", *(t.value for t in RepoType), "bucket")
LEVELS = ("read", "write")
_HUB_PERMISSIONS = {"read": ["repo.content.read"], "write": ["repo.content.read", "repo.write"]}


@dataclass(frozen=True, slots=True)
class Scope:
    entity_type: str
    name: str
    level: str

    def covers(self, repo_type: str, owner: str, full_id: str) -> bool:
        if self.entity_type in ("user", "org"):
            return self.name.lower() == owner.lower()
        return self.entity_type == repo_type and self.name.lower() == full_id.lower()

    def allows(self, level: str) -> bool:
        return level == "read" or self.level == "write"

    def as_hub_json(self) -> dict[str, object]:
        """The shape whoami-v2 reports for fine-grained tokens."""
        return {"entity": {"type": self.entity_type, "name": self.name}, "permissions": _HUB_PERMISSIONS[self.level]}


def parse_scope(text: str) -> Scope:
    """``TYPE:NAME:LEVEL``, e.g. ``model:acme/bert:write`` or ``org:acme:read``."""
    parts = text.split(":")
    if len(parts) != 3 or parts[0] not in ENTITY_TYPES or parts[2] not in LEVELS or not parts[1]:
        raise BadRequestError(
            f"Invalid scope {text!r}: expected TYPE:NAME:LEVEL with TYPE in {', '.join(ENTITY_TYPES)} "
            f"and LEVEL read or write"
        )
    return Scope(entity_type=parts[0], name=parts[1], level=parts[2])


def dump_scopes(scopes: list[Scope]) -> str:
    return json.dumps([{"type": s.entity_type, "name": s.name, "level": s.level} for s in scopes])


def load_scopes(text: str | None) -> list[Scope]:
    if not text:
        return []
    return [Scope(entity_type=s["type"], name=s["name"], level=s["level"]) for s in json.loads(text)]
