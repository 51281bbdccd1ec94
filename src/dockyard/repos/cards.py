"""Repo cards: the YAML metadata block at the top of README.md.

The YAML is untrusted (anyone may post it to ``/api/validate-yaml``, and any branch may hold a
README), so it is loaded with bounds that hold whatever it says: the block's size, the size and
depth of the data once every alias is expanded (an alias bomb is a few hundred bytes that expand
to billions of nodes), no alias that contains itself, and no scalar that takes quadratic time to
become a number. ``parse_card`` is total: every problem becomes an ``errors`` entry. It is still
CPU work, so async callers run it in a thread, never on the event loop.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

try:
    from yaml._yaml import CParser as _Parser  # the libyaml parser yaml.cyaml re-exports
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


# The metadata block opens the file, after blank lines at most (as the Hub accepts it).
_FRONT_MATTER = re.compile(r"\A\ufeff?(?:[ \t]*\r?\n)*---[ \t]*\r?\n(.*?)\r?\n?^---[ \t]*$", re.DOTALL | re.MULTILINE)
_STRING_LIST_FIELDS = ("tags", "language", "datasets", "license", "base_model", "task_categories", "metrics")

MAX_YAML_CHARS = 256 * 1024  # the largest real cards (dataset_info for many configs) are well below
MAX_NODES = 100_000  # nodes once every alias is expanded: what cardData would hold as JSON
MAX_DEPTH = 100  # nesting once aliases are expanded (libyaml itself stops at 1,000 while parsing)
MAX_NUMBER_CHARS = 100  # a YAML integer longer than this is not metadata (and ``1:2:3:…`` is quadratic)
MAX_JSON_INT = 2**63  # cardData is stored as JSON; a bigger integer is refused, not rounded


class CardError(ValueError):
    """The card's YAML is malformed or beyond a bound; the message says which, for the user."""


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
        data = load_yaml(match.group(1))
    except CardError as error:
        return ParsedCard(data={}, body=body, errors=[f"Invalid YAML in README.md metadata: {error}"])
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return ParsedCard(data={}, body=body, errors=["README.md metadata must be a YAML mapping"])
    card = ParsedCard(data=data, body=body)
    for key in _STRING_LIST_FIELDS:
        value = data.get(key)
        if value is not None and not isinstance(value, str | list):
            card.warnings.append(f'"{key}" must be a string or a list of strings')
    return card


def load_yaml(text: str) -> Any:
    """One YAML document as JSON-safe data, within the module's bounds; :class:`CardError` otherwise."""
    if len(text) > MAX_YAML_CHARS:
        raise CardError(f"the metadata block is longer than {MAX_YAML_CHARS} characters")
    loader = _CardLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_expansion(node)
        return _json_safe(loader.construct_document(node))
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as error:
        # ValueError: dates like 2020-13-45; TypeError: odd merges; RecursionError: the pure-Python
        # parser (used only where PyYAML lacks libyaml) on deep nesting.
        raise CardError(_one_line(error)) from None
    finally:
        loader.dispose()


class _CardConstructor(SafeConstructor):
    """``SafeConstructor`` that refuses numbers too long to be metadata before converting them."""

    def construct_yaml_int(self, node: ScalarNode) -> int:
        _check_number_length(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: ScalarNode) -> float:
        _check_number_length(node)
        return super().construct_yaml_float(node)


# types-PyYAML bounds a constructor's first argument to PyYAML's own loader classes.
_CardConstructor.add_constructor("tag:yaml.org,2002:int", _CardConstructor.construct_yaml_int)  # type: ignore[type-var]
_CardConstructor.add_constructor("tag:yaml.org,2002:float", _CardConstructor.construct_yaml_float)  # type: ignore[type-var]


class _CardLoader(_Parser, _CardConstructor, Resolver):
    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _CardConstructor.__init__(self)
        Resolver.__init__(self)


def _check_number_length(node: Node) -> None:
    if len(str(node.value)) > MAX_NUMBER_CHARS:
        raise ConstructorError(None, None, f"a number longer than {MAX_NUMBER_CHARS} characters", node.start_mark)


def check_expansion(root: Node) -> None:
    """Refuse a node graph that contains itself or that expands past :data:`MAX_NODES` / :data:`MAX_DEPTH`.

    Aliases make the composed graph a DAG that may be exponentially smaller than the data it stands
    for; sizes and depths are computed per node once (memoised), without recursion, so the check
    costs the size of the text, not of the expansion.
    """
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            depths[key] = 1 + max((depths[id(child)] for child in children), default=0)
            if sizes[key] > MAX_NODES:
                raise CardError(f"aliases expand to more than {MAX_NODES} values")
            if depths[key] > MAX_DEPTH:
                raise CardError(f"values are nested more than {MAX_DEPTH} levels deep")
        elif key in on_path:
            raise CardError("an alias refers to a value that contains it")
        elif key not in sizes:
            on_path.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, str | int | float)]
    return []


def _json_safe(value: Any) -> Any:
    """YAML dates and other non-JSON scalars become strings, so cardData can be stored as JSON.

    Recursion is bounded by :data:`MAX_DEPTH` and the work by :data:`MAX_NODES` (checked before).
    """
    if isinstance(value, dict):
        return {_json_key(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if not -MAX_JSON_INT < value < MAX_JSON_INT:
            raise CardError("an integer is too large to be stored")
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def _json_key(key: Any) -> str:
    safe = _json_safe(key)
    return safe if isinstance(safe, str) else str(safe)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:500]
