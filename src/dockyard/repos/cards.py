"""Repo cards: the YAML metadata block at the top of README.md."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n?^---[ \t]*$", re.DOTALL | re.MULTILINE)
_STRING_LIST_FIELDS = ("tags", "language", "datasets", "license", "base_model", "task_categories", "metrics")


@dataclass
class ParsedCard:
    data: dict[str, Any]
    body: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_card(text: str) -> ParsedCard:
    """Split the YAML block from the Markdown body; YAML problems become ``errors``, not exceptions."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return ParsedCard(data={}, body=text)
    body = text[match.end() :].lstrip("\r\n")
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        return ParsedCard(data={}, body=body, errors=[f"Invalid YAML in README.md metadata: {error}"])
    if not isinstance(data, dict):
        return ParsedCard(data={}, body=body, errors=["README.md metadata must be a YAML mapping"])
    card = ParsedCard(data=_json_safe(data), body=body)
    for key in _STRING_LIST_FIELDS:
        value = data.get(key)
        if value is not None and not isinstance(value, str | list):
            card.warnings.append(f'"{key}" must be a string or a list of strings')
    return card


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, str | int | float)]
    return []


def _json_safe(value: Any) -> Any:
    """YAML dates and other non-JSON scalars become strings, so cardData can be stored as JSON."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
