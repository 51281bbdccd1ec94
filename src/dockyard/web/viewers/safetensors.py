"""safetensors files as their tensor list (names, dtypes, shapes), read from the header alone."""

from __future__ import annotations

from dockyard.scanning.safetensors_header import SafetensorsHeaderError, read_header
from dockyard.web.viewers import Shown, Source, Tensor, binary

MAX_HEADER = 16 * 1024 * 1024  # a page reads at most this much header (the format allows 100 MB)
MAX_TENSORS = 2000


def view(source: Source) -> Shown:
    try:
        summary = read_header(source.read_range, source.size, max_header_bytes=MAX_HEADER)
    except SafetensorsHeaderError as error:
        return binary(f"This safetensors file has an invalid header: {error}")
    tensors = [
        Tensor(name=name, dtype=str(info.get("dtype")), shape=[int(n) for n in info.get("shape", [])])
        for name, info in summary.header.items()
        if name != "__metadata__" and isinstance(info, dict)
    ]
    notes = [f"The first {MAX_TENSORS} of {len(tensors):,} tensors."] if len(tensors) > MAX_TENSORS else []
    return Shown(kind="tensors", tensors=tensors[:MAX_TENSORS], parameters=summary.total, notes=notes)
