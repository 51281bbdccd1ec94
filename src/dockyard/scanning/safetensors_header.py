"""Reading safetensors headers defensively: sizes are checked before anything is trusted.

A safetensors file is ``u64 little-endian header length`` + a JSON header + raw tensor bytes.
The header is untrusted input: its length, its JSON, dtypes, shapes and offsets are validated,
so a malformed or oversized header is reported, never used.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the format's own limit
MAX_RANK = 64  # dimensions of one tensor; bounds the cost of multiplying a shape out
MAX_INT_DIGITS = 20  # a u64 has 20 digits; a longer integer is no shape or offset (and Python refuses > 4,300)
DTYPE_SIZES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "F8_E8M0": 1,
    "F4": 1,
    "F6_E2M3": 1,
    "F6_E3M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "C64": 8,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}


class SafetensorsHeaderError(ValueError):
    """The header is malformed, inconsistent or oversized."""


@dataclass(frozen=True, slots=True)
class SafetensorsSummary:
    header: dict[str, object]
    parameters: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.parameters.values())


def read_header(
    read_range: Callable[[int, int], bytes], file_size: int, *, max_header_bytes: int = MAX_HEADER_BYTES
) -> SafetensorsSummary:
    """Parse and validate the header, reading only what it needs through ``read_range(start, end)``."""
    if file_size < 8:
        raise SafetensorsHeaderError("file is shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", read_range(0, 7))
    if length > max_header_bytes or 8 + length > file_size:
        raise SafetensorsHeaderError(f"header length {length} is larger than allowed or than the file")
    if length < 2:
        raise SafetensorsHeaderError(f"header length {length} is too short for a JSON object")
    header = parse_header_json(read_range(8, 8 + length - 1))
    data_size = file_size - 8 - length
    return SafetensorsSummary(header=header, parameters=_count_parameters(header, data_size))


def parse_header_json(raw: bytes, *, what: str = "header") -> dict[str, object]:
    """The header's JSON as an object; anything else (bad UTF-8 or JSON, NaN, 1e999, integers longer than
    :data:`MAX_INT_DIGITS`, nesting deeper than the parser goes) is a :class:`SafetensorsHeaderError`."""
    try:
        header = json.loads(raw, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise SafetensorsHeaderError(f"{what} is not valid JSON: {_short(error)}") from None
    if not isinstance(header, dict):
        raise SafetensorsHeaderError(f"{what} is not a JSON object")
    return header


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(digits)} digits")
    return int(digits)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: JSON that no JSON writer may write back
        raise ValueError(f"a number out of range ({text[:20]})")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _short(error: BaseException) -> str:
    return str(error)[:200]


def _count_parameters(header: dict[str, object], data_size: int) -> dict[str, int]:
    parameters: dict[str, int] = {}
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict):
                raise SafetensorsHeaderError("__metadata__ must be an object")
            continue
        dtype, count = _check_tensor(name, info, data_size)
        parameters[dtype] = parameters.get(dtype, 0) + count
    return parameters


def _check_tensor(name: str, info: object, data_size: int) -> tuple[str, int]:
    name = name[:100]  # names and values go into messages: keep them short
    if not isinstance(info, dict):
        raise SafetensorsHeaderError(f"tensor {name!r}: entry is not an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_SIZES:
        raise SafetensorsHeaderError(f"tensor {name!r}: unknown dtype {str(dtype)[:40]!r}")
    if not isinstance(shape, list) or len(shape) > MAX_RANK or not all(type(d) is int and d >= 0 for d in shape):
        raise SafetensorsHeaderError(f"tensor {name!r}: invalid shape")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(type(o) is int for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        raise SafetensorsHeaderError(f"tensor {name!r}: data offsets out of the file")
    count = math.prod(shape)
    if dtype in ("F4",):
        expected = (count + 1) // 2  # integer arithmetic: a float would overflow on huge shapes
    elif dtype.startswith("F6"):
        expected = (count * 6 + 7) // 8
    else:
        expected = count * DTYPE_SIZES[dtype]
    if offsets[1] - offsets[0] != expected:
        raise SafetensorsHeaderError(f"tensor {name!r}: byte length does not match its shape")
    return dtype, count
