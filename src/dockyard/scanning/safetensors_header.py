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


def read_header(read_range: Callable[[int, int], bytes], file_size: int) -> SafetensorsSummary:
    """Parse and validate the header, reading only what it needs through ``read_range(start, end)``."""
    if file_size < 8:
        raise SafetensorsHeaderError("file is shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", read_range(0, 7))
    if length > MAX_HEADER_BYTES or 8 + length > file_size:
        raise SafetensorsHeaderError(f"header length {length} is larger than allowed or than the file")
    raw = read_range(8, 8 + length - 1)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsHeaderError(f"header is not valid JSON: {error}") from None
    if not isinstance(header, dict):
        raise SafetensorsHeaderError("header is not a JSON object")
    data_size = file_size - 8 - length
    return SafetensorsSummary(header=header, parameters=_count_parameters(header, data_size))


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
    if not isinstance(info, dict):
        raise SafetensorsHeaderError(f"tensor {name!r}: entry is not an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in DTYPE_SIZES:
        raise SafetensorsHeaderError(f"tensor {name!r}: unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise SafetensorsHeaderError(f"tensor {name!r}: invalid shape")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        raise SafetensorsHeaderError(f"tensor {name!r}: data offsets out of the file")
    count = math.prod(shape)
    if dtype in ("F4",):
        expected = math.ceil(count / 2)
    elif dtype.startswith("F6"):
        expected = math.ceil(count * 6 / 8)
    else:
        expected = count * DTYPE_SIZES[dtype]
    if offsets[1] - offsets[0] != expected:
        raise SafetensorsHeaderError(f"tensor {name!r}: byte length does not match its shape")
    return dtype, count
