"""The safetensors header parser is total: hostile headers are ``SafetensorsHeaderError``, never an
exception of another kind (which once made a commit answer 500 and the scan stop at that file)."""

from __future__ import annotations

import contextlib
import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.scanning.results import ERROR
from dockyard.scanning.safetensors_check import scan_safetensors
from dockyard.scanning.safetensors_header import SafetensorsHeaderError, parse_header_json, read_header


def with_header(raw: bytes, data: bytes = bytes(16)) -> bytes:
    return struct.pack("<Q", len(raw)) + raw + data


def parse(blob: bytes) -> object:
    return read_header(lambda start, end: blob[start : end + 1], len(blob))


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"w": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 4]}}', "5000 digits"),
        (b'{"__metadata__": {"n": ' + b"1" * 30 + b"}}", "30 digits"),
        (b'{"w": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}', "NaN is not JSON"),
        (b'{"w": {"dtype": "F32", "shape": [1e999], "data_offsets": [0, 4]}}', "out of range"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}', "unknown dtype"),
        (b'{"w": {"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}}', "invalid shape"),
        (b'{"w": {"dtype": "F32", "shape": [' + b"2," * 100 + b'2], "data_offsets": [0, 4]}}', "invalid shape"),
        (b'{"w": {"dtype": "F4", "shape": [' + b"99999999999999999999," * 60 + b'1], "data_offsets": [0, 4]}}', "byte"),
        (b"{}\xff", "not valid JSON"),
        (b"{", "too short"),
    ],
)
def test_hostile_headers_are_header_errors(raw: bytes, words: str) -> None:
    with pytest.raises(SafetensorsHeaderError, match=words):
        parse(with_header(raw))


def test_the_scan_reports_a_huge_integer_as_an_error_result() -> None:
    blob = with_header(b'{"w": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 4]}}')
    result = scan_safetensors(lambda start, end: blob[start : end + 1], len(blob))
    assert result.status == ERROR


def test_config_like_json_keeps_ordinary_numbers() -> None:
    assert parse_header_json(b'{"a": 1, "b": -2.5e3, "c": [12345678901234567890]}') == {
        "a": 1,
        "b": -2500.0,
        "c": [12345678901234567890],
    }


# -- properties -----------------------------------------------------------------------------------
_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False),
        st.text(max_size=8),
        st.sampled_from(["F32", "BF16", "F4", "F6_E2M3", "I64", "U8"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
_TENSOR = st.fixed_dictionaries(
    {
        "dtype": st.one_of(st.sampled_from(["F32", "BF16", "F4", "F6_E3M2", "U8"]), _JSON),
        "shape": st.one_of(st.lists(st.integers(min_value=-2, max_value=10**25), max_size=6), _JSON),
        "data_offsets": st.one_of(st.lists(st.integers(min_value=-2, max_value=64), min_size=2, max_size=2), _JSON),
    }
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.one_of(_TENSOR, _JSON), max_size=5), st.integers(0, 64))
def test_any_json_header_is_a_summary_or_a_header_error(header: dict[str, object], data_size: int) -> None:
    blob = with_header(json.dumps(header).encode(), bytes(data_size))
    try:
        summary = parse(blob)
    except SafetensorsHeaderError:
        return
    assert all(isinstance(count, int) and count >= 0 for count in summary.parameters.values())  # type: ignore[attr-defined]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_a_summary_or_a_header_error(blob: bytes) -> None:
    with contextlib.suppress(SafetensorsHeaderError):
        parse(blob)
    assert scan_safetensors(lambda start, end: blob[start : end + 1], len(blob)).status in ("safe", "error", "unsafe")
