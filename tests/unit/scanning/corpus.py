"""Malicious and benign pickle-bearing files, generated here and never loaded.

Every malicious payload would create ``marker`` if it ever ran, so a test can prove that scanning
executed nothing. Pickles are produced with ``pickle.dumps`` of objects whose ``__reduce__`` names
the dangerous callable (pickling only records the name), or written opcode by opcode.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
import runpy
import socket
import struct
import subprocess
import webbrowser
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

TORCH_VERSION_RECORD = b"3\n"


class Reduce:
    """An object that pickles as ``func(*args)``."""

    def __init__(self, func: Any, args: tuple[Any, ...]) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args


class CallableReduce(Reduce):
    """A callable stand-in, so the result of one reduce can be what another one calls."""

    def __call__(self, *args: Any) -> None:  # pragma: no cover - never called, only pickled
        raise AssertionError("payloads are never called")


def _command(marker: Path) -> str:
    return f"touch {marker}"


def payloads(marker: Path) -> dict[str, Callable[[int], bytes]]:
    """Malicious pickles by name; each takes the protocol to write."""
    command = _command(marker)
    python = f"open({str(marker)!r}, 'w').close()"
    os_module = CallableReduce(builtins.__import__, ("os",))
    system = CallableReduce(builtins.getattr, (os_module, "system"))
    objects: dict[str, Any] = {
        "posix.system": Reduce(os.system, (command,)),
        "subprocess.Popen": Reduce(subprocess.Popen, (["touch", str(marker)],)),
        "subprocess.check_output": Reduce(subprocess.check_output, (["touch", str(marker)],)),
        "builtins.eval": Reduce(builtins.eval, (python,)),
        "builtins.exec": Reduce(builtins.exec, (python,)),
        "builtins.__import__": {"weights": [1, 2], "module": Reduce(builtins.__import__, ("os",))},
        "getattr(os, 'system')": Reduce(system, (command,)),
        "runpy._run_code": Reduce(runpy._run_code, (python, {})),
        "webbrowser.open": Reduce(webbrowser.open, (f"file://{marker}",)),
        "socket.create_connection": Reduce(socket.create_connection, (("127.0.0.1", 9),)),
    }
    built: dict[str, Callable[[int], bytes]] = {
        name: (lambda protocol, obj=obj: pickle.dumps(obj, protocol=protocol)) for name, obj in objects.items()
    }
    built["os.system (hand-written GLOBAL)"] = lambda protocol: _global_call("os", "system", command, protocol)
    built["posix.system after benign data"] = lambda protocol: pickle.dumps(
        [OrderedDict(a=1), Reduce(os.system, (command,))], protocol=protocol
    )
    return built


def _global_call(module: str, name: str, argument: str, protocol: int) -> bytes:
    """``module.name(argument)`` written opcode by opcode (GLOBAL, MARK, STRING, TUPLE, REDUCE)."""
    head = bytes([0x80, protocol]) if protocol >= 2 else b""
    return head + f"c{module}\n{name}\n(V{argument}\ntR.".encode()


def injected_call(pickle_bytes: bytes, module: str, name: str, argument: str) -> bytes:
    """A protocol-2+ pickle with ``module.name(argument)`` run and discarded right after PROTO.

    GLOBAL, BINUNICODE, TUPLE1, REDUCE, POP leave the stack as it was, so the original pickle still
    loads: this is how a real checkpoint gets a payload without losing its weights.
    """
    assert pickle_bytes[0] == 0x80, "expected a PROTO opcode first"
    encoded = argument.encode()
    call = f"c{module}\n{name}\n".encode() + b"X" + struct.pack("<I", len(encoded)) + encoded + b"\x85R0"
    return pickle_bytes[:2] + call + pickle_bytes[2:]


def torch_zip(data_pkl: bytes, *, prefix: str = "archive", storages: dict[str, bytes] | None = None) -> bytes:
    """torch's zip checkpoint layout, written with zipfile."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{prefix}/data.pkl", data_pkl)
        archive.writestr(f"{prefix}/byteorder", b"little")
        for key, data in (storages or {"0": b"\x00" * 16}).items():
            archive.writestr(f"{prefix}/data/{key}", data)
        archive.writestr(f"{prefix}/version", TORCH_VERSION_RECORD)
    return buffer.getvalue()


def zip_of(members: dict[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def rewrite_zip(archive_bytes: bytes, change: Callable[[str, bytes], bytes]) -> bytes:
    """The same archive with each member passed through ``change(name, data)``."""
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as source:
        members = {info.filename: change(info.filename, source.read(info)) for info in source.infolist()}
    return zip_of(members)


def torch_save(obj: Any, *, legacy: bool = False) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=not legacy)
    return buffer.getvalue()


def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))


def torch_checkpoint_with_payload(marker: Path) -> bytes:
    """A real ``torch.save`` of a model whose data.pkl is rewritten to call ``os.system`` first."""

    def change(name: str, data: bytes) -> bytes:
        if name.endswith("/data.pkl"):
            return injected_call(data, "posix", "system", _command(marker))
        return data

    return rewrite_zip(torch_save(tiny_model().state_dict()), change)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def npy_with_payload(marker: Path) -> bytes:
    array = np.empty(2, dtype=object)
    array[0] = {"fine": 1}
    array[1] = Reduce(os.system, (_command(marker),))
    return npy(array)
