"""The scan of a ``.safetensors`` file: its header validated, nothing else read.

safetensors holds no code, so the only risk is a reader trusting a hostile header: a declared
length of gigabytes, offsets outside the file, JSON that is not an object. ``read_header`` checks all
of that; here its verdict becomes a scan result. An oversized header is ``unsafe`` (it exists to
exhaust a reader), any other malformation is ``error`` (the file cannot be loaded as it claims).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from dockyard.scanning.results import ERROR, SAFE, UNSAFE, ScanResult
from dockyard.scanning.safetensors_header import MAX_HEADER_BYTES, SafetensorsHeaderError, read_header

SCANNER = "safetensors-header"
SCANNER_VERSION = "1"


def scan_safetensors(read_range: Callable[[int, int], bytes], file_size: int) -> ScanResult:
    """Validate the header through ``read_range(start, end)`` (inclusive), reading only the header."""
    if file_size >= 8:
        (length,) = struct.unpack("<Q", read_range(0, 7))
        if length > MAX_HEADER_BYTES:
            return _result(UNSAFE, f"header length {length} is beyond the format's {MAX_HEADER_BYTES}-byte limit")
    try:
        read_header(read_range, file_size)
    except SafetensorsHeaderError as error:
        return _result(ERROR, f"invalid safetensors header: {error}")
    return _result(SAFE, None)


def _result(status: str, message: str | None) -> ScanResult:
    return ScanResult(status=status, scanner=SCANNER, scanner_version=SCANNER_VERSION, message=message)
