"""The bounded YAML loader behind repo cards and ``/api/validate-yaml``: every input ends as data or
as an error message, quickly, whatever its aliases, nesting or numbers say."""

from __future__ import annotations

import json
import string
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.repos.cards import MAX_DEPTH, MAX_NODES, MAX_YAML_CHARS, CardError, load_yaml, parse_card


def card(yaml_text: str) -> str:
    return f"---\n{yaml_text}\n---\n# body\n"


def alias_bomb(levels: int, width: int = 9) -> str:
    lines = ["a0: &a0 [" + ",".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines)


def test_a_real_card_is_read_as_json_data() -> None:
    parsed = parse_card(card("license: mit\ntags: [a, b]\ndate: 2024-01-02\nscore: .inf\nbase: &b {x: 1}\nmore: *b"))
    assert parsed.errors == []
    assert parsed.body == "# body\n"
    assert parsed.data == {
        "license": "mit",
        "tags": ["a", "b"],
        "date": "2024-01-02",
        "score": "inf",
        "base": {"x": 1},
        "more": {"x": 1},
    }


@pytest.mark.parametrize(
    ("yaml_text", "words"),
    [
        (alias_bomb(10), f"aliases expand to more than {MAX_NODES} values"),
        ("x: &a [*a]", "refers to a value that contains it"),
        ("x: &a {y: *a}", "refers to a value that contains it"),
        ("a: &a {<<: *a}", "refers to a value that contains it"),
        ("x: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"nested more than {MAX_DEPTH} levels"),
        ("x: " + "[" * 5000 + "]" * 5000, "nesting depth"),
        ("n: " + "9" * 5000, "a number longer than"),
        ("n: 0x" + "f" * 5000, "a number longer than"),
        ("n: " + "1:" * 5000 + "1", "a number longer than"),
        ("n: 0x" + "f" * 90, "too large to be stored"),
        ("d: 2020-13-45", "month must be in 1..12"),
        ("x: !!python/object/apply:os.system [id]", "could not determine a constructor"),
        ("? [1, 2]\n: x", "unhashable key"),
        ("x: " + "y" * MAX_YAML_CHARS, "longer than"),
    ],
)
def test_hostile_yaml_is_an_error_quickly(yaml_text: str, words: str) -> None:
    started = time.monotonic()
    parsed = parse_card(card(yaml_text))
    assert time.monotonic() - started < 1.0
    assert parsed.data == {}
    assert len(parsed.errors) == 1
    assert words in parsed.errors[0]


def test_aliases_that_stay_small_are_fine() -> None:
    parsed = parse_card(card(alias_bomb(4)))  # 9**4 values: within the bound
    assert parsed.errors == []
    assert len(json.dumps(parsed.data)) > 9**4


def test_load_yaml_raises_only_card_errors() -> None:
    with pytest.raises(CardError):
        load_yaml("x: &a [*a]")
    assert load_yaml("") is None


# -- properties -----------------------------------------------------------------------------------
_SCALARS = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + " .:-_+", max_size=12),
    st.sampled_from(["0x" + "f" * 80, "1:" * 60 + "1", "9" * 200, ".nan", "-.inf", "2020-02-31", "~", "!!binary x"]),
)


@st.composite
def yaml_with_aliases(draw: st.DrawFn) -> str:
    """A mapping of anchored flow lists whose items are scalars or aliases of any anchor (even later
    ones, even their own), so bombs, cycles and undefined aliases all come up."""
    count = draw(st.integers(min_value=1, max_value=8))
    lines = []
    for index in range(count):
        items = draw(
            st.lists(
                st.one_of(_SCALARS.map(lambda text: json.dumps(text)), st.integers(0, count).map(lambda i: f"*a{i}")),
                max_size=12,
            )
        )
        lines.append(f"k{index}: &a{index} [{', '.join(items)}]")
    return "\n".join(lines)


@settings(max_examples=300, deadline=None)
@given(yaml_with_aliases())
def test_any_aliased_card_ends_as_json_or_an_error(yaml_text: str) -> None:
    started = time.monotonic()
    parsed = parse_card(card(yaml_text))
    assert time.monotonic() - started < 1.0
    json.dumps(parsed.data, allow_nan=False)  # storable as cardData, and renderable by model_info
    assert parsed.errors or parsed.data


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "&*[]{}!|>'\"\u00e9\u200c", max_size=400))
def test_any_text_ends_as_json_or_an_error(text: str) -> None:
    parsed = parse_card(card(text))
    json.dumps(parsed.data, allow_nan=False)
    assert isinstance(parsed.errors, list)
