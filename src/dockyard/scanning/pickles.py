"""Scanning files that can hold pickles, by disassembling them. Nothing is ever unpickled.

A pickle runs code when loaded: any ``module.name`` it imports (GLOBAL, STACK_GLOBAL, INST) can be
called. picklescan lists those imports from the opcodes (``pickletools.genops``) and rates each one
``innocuous`` (its allowlist), ``dangerous`` (its blocklist) or ``suspicious`` (anything else).

This module decides which bytes are pickles — raw pickle streams, legacy torch files (several pickles
followed by raw storage), ``.npy`` object arrays, and zip archives (torch checkpoints, ``.npz``, nested
zips) whose members are any of those — and hands each stream to picklescan. It also bounds the work:
sizes, opcode counts, archive entries, nesting and decompressed bytes are limited, so a crafted file
ends as status ``error`` with a message instead of exhausting the worker.

picklescan's own ``scan_bytes``/``scan_zip_bytes`` are not used as entry points because they decide
"zip" with ``zipfile.is_zipfile`` (which finds an end record anywhere, so a pickle with a fake zip tail
would be read as an empty archive), do not recurse into nested archives, and skip members they cannot
decompress; here the first bytes decide, archives recurse, and an unreadable member is an error.
"""

from __future__ import annotations

import gzip
import io
import lzma
import pickletools
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path, PurePosixPath
from typing import IO, cast

import numpy as np
from picklescan import scanner as picklescan
from picklescan.relaxed_zipfile import RelaxedZipFile
from picklescan.torch import InvalidMagicError

from dockyard.scanning.detect import (
    PICKLE_PROTO_MAGICS,
    ContentKind,
    content_kind,
    is_torch_storage,
    member_kind,
)
from dockyard.scanning.results import (
    DANGEROUS,
    ERROR,
    INNOCUOUS,
    SAFE,
    SAFETY_ORDER,
    SUSPICIOUS,
    UNSAFE,
    ImportFinding,
    ScanResult,
)

GIB = 1024**3
MIB = 1024**2
SCANNER = "picklescan"
# Bump RULES_VERSION when this module's decisions change: stored results of older versions are redone.
RULES_VERSION = 2  # 2: gzip-compressed pickles (``*.pkl.gz``) are decompressed and scanned
SCANNER_VERSION = f"{version('picklescan')}+dockyard.{RULES_VERSION}"
TORCH_EXTENSIONS = frozenset({".bin", ".pt", ".pth", ".ckpt"})
# torch's legacy layout: magic number, protocol, system info, the objects, the storage keys; then raw bytes.
LEGACY_TORCH_PICKLES = 6

# Imports picklescan leaves "suspicious" that give a pickle arbitrary code execution on their own,
# so Dockyard rates them dangerous too. "*" covers the module and its submodules.
EXTRA_DANGEROUS: dict[str, frozenset[str] | str] = {
    "builtins": frozenset({"__import__", "globals", "locals", "vars", "setattr", "delattr", "input"}),
    "__builtin__": frozenset({"__import__", "globals", "locals", "vars", "setattr", "delattr", "input"}),
    "importlib": "*",
    "marshal": "*",
    "types": frozenset({"FunctionType", "LambdaType", "MethodType", "CodeType"}),
    "code": "*",
    "codeop": "*",
    "multiprocessing": "*",
    "_posixsubprocess": "*",
}
# Imports picklescan leaves "suspicious" that plain data needs and that cannot run code by themselves
# (what they build is decided by other imports, which are rated on their own): containers, and how
# protocols 0-2 write bytes (``_codecs.encode``) and objects (``copyreg._reconstructor``).
EXTRA_INNOCUOUS: dict[str, frozenset[str]] = {
    "builtins": frozenset({"set", "frozenset", "bytearray", "complex", "slice", "range"}),
    "__builtin__": frozenset({"set", "frozenset", "bytearray", "complex", "slice", "xrange"}),
    "_codecs": frozenset({"encode"}),
    "copyreg": frozenset({"_reconstructor"}),
    "copy_reg": frozenset({"_reconstructor"}),
    "collections": frozenset({"defaultdict", "Counter", "deque"}),
    "numpy.core.multiarray": frozenset({"scalar"}),
    "numpy._core.multiarray": frozenset({"scalar"}),
}


@dataclass(frozen=True, slots=True)
class ScanLimits:
    """Bounds on the work one file may cause. Defaults suit real checkpoints with room to spare."""

    max_file_bytes: int = 64 * GIB
    max_pickle_bytes: int = 2 * GIB  # bytes walked in one pickle stream (a file, a member), and so its largest argument
    max_text_line: int = 64 * MIB  # one line of a text opcode (protocol 0 strings, GLOBAL names)
    max_pickle_ops: int = 10_000_000  # picklescan keeps every opcode of a pickle in memory (~100 B each)
    max_archive_entries: int = 100_000
    max_archive_depth: int = 3  # zips inside zips inside zips
    max_archive_bytes: int = 16 * GIB  # decompressed bytes read from all scanned members together
    max_nested_archive_bytes: int = 2 * GIB  # one nested archive, copied out to be opened
    max_gzip_bytes: int = 4 * GIB  # what one gzip stream may decompress to (a gzip bomb ends here)
    spool_bytes: int = 64 * MIB  # nested archives smaller than this stay in memory


DEFAULT_LIMITS = ScanLimits()


class ScanRefused(Exception):
    """The file is beyond a limit or cannot be read as what it claims to be; the message says which."""


# What malformed input makes the readers raise. Anything else is a bug or an I/O failure and propagates.
_MALFORMED = (
    ValueError,
    EOFError,
    OverflowError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    InvalidMagicError,
)


@dataclass
class _Scan:
    """What one file's scan accumulates across its pickles and archive members."""

    limits: ScanLimits
    name: str
    imports: dict[tuple[str, str], str] = field(default_factory=dict)
    partial: list[str] = field(default_factory=list)  # pickles picklescan could only partly parse
    archive_bytes: int = 0

    def add(self, result: picklescan.ScanResult, file_id: str) -> None:
        for found in result.globals:
            key = (found.module, found.name)
            safety = _rate(found.module, found.name, found.safety.value)
            if SAFETY_ORDER[safety] >= SAFETY_ORDER.get(self.imports.get(key, ""), -1):
                self.imports[key] = safety
        if result.scan_err:
            self.partial.append(file_id)

    def charge(self, size: int, file_id: str) -> None:
        """Count decompressed bytes read from archive members against the file's budget."""
        self.archive_bytes += size
        if self.archive_bytes > self.limits.max_archive_bytes:
            raise ScanRefused(
                f"{file_id}: archive members exceed {self.limits.max_archive_bytes} bytes once decompressed"
            )


def scan_pickle_file(path: Path, *, name: str | None = None, limits: ScanLimits = DEFAULT_LIMITS) -> ScanResult:
    """Scan a local file that may hold pickles; ``name`` is its path in the repo (extensions matter)."""
    scan = _Scan(limits=limits, name=name or path.name)
    size = path.stat().st_size
    try:
        if size > limits.max_file_bytes:
            raise ScanRefused(f"{scan.name}: {size} bytes is more than the {limits.max_file_bytes} scanned")
        with path.open("rb") as file:
            _scan_file(scan, file, size)
    except ScanRefused as refused:
        return _stopped(scan, str(refused))
    except _MALFORMED as error:
        return _stopped(scan, f"{scan.name}: cannot be parsed ({type(error).__name__}: {error})")
    return _verdict(scan)


def _stopped(scan: _Scan, reason: str) -> ScanResult:
    """A scan that could not finish is an error, unless what it already found is enough to be unsafe."""
    if DANGEROUS in scan.imports.values():
        return _result(scan, UNSAFE, f"imports that can run code when loaded; the scan then stopped: {reason}")
    return _result(scan, ERROR, reason)


def _scan_file(scan: _Scan, file: IO[bytes], size: int) -> None:
    """A file chosen for scanning is a pickle stream unless it opens as a zip archive or an npy array."""
    _scan_stream(scan, file, size, scan.name, depth=1)


def _scan_stream(scan: _Scan, file: IO[bytes], size: int, name: str, *, depth: int) -> None:
    """A seekable stream named ``name``: an archive, a gzip stream, an npy array, or pickles."""
    head = file.read(64)
    file.seek(0)
    kind = content_kind(head)
    if kind is ContentKind.ZIP:
        _scan_archive(scan, file, name, depth=depth)
    elif kind is ContentKind.GZIP:
        _scan_gzip(scan, file, name, depth=depth)
    elif kind is ContentKind.NUMPY:
        _scan_numpy(scan, _ClampedReader(file, size, scan.limits), size, name)
    else:
        reader = _ClampedReader(file, size, scan.limits)
        legacy = _is_legacy_torch(name, head)
        _scan_pickles(scan, reader, size, name, legacy_torch=legacy, flag_unparsable=True)


def _scan_gzip(scan: _Scan, stream: IO[bytes], file_id: str, *, depth: int) -> None:
    """Decompress (within ``max_gzip_bytes``) to a spooled copy and scan what it holds.

    ``joblib.load`` and ``pandas.read_pickle`` open ``*.pkl.gz`` transparently, so its pickles are
    as live as an uncompressed one's. The inner name drops ``.gz``, so torch's rules still apply.
    """
    if depth > scan.limits.max_archive_depth:
        raise ScanRefused(f"{file_id}: compressed streams nested more than {scan.limits.max_archive_depth} deep")
    inner = file_id[:-3] if file_id.lower().endswith(".gz") else file_id
    with tempfile.SpooledTemporaryFile(max_size=scan.limits.spool_bytes) as copy:
        size = _gunzip(scan, stream, copy, file_id)
        copy.seek(0)
        _scan_stream(scan, copy, size, inner, depth=depth + 1)


def _gunzip(scan: _Scan, source: IO[bytes], target: IO[bytes], file_id: str) -> int:
    limit = scan.limits.max_gzip_bytes
    written = 0
    try:
        with gzip.GzipFile(fileobj=source, mode="rb") as compressed:
            while block := compressed.read(1024 * 1024):
                written += len(block)
                if written > limit:
                    raise ScanRefused(f"{file_id}: decompresses to more than {limit} bytes")
                scan.charge(len(block), file_id)
                target.write(block)
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise ScanRefused(f"{file_id}: cannot be decompressed ({error})") from None
    return written


def _is_legacy_torch(name: str, head: bytes) -> bool:
    """torch's pre-1.6 layout: several pickles (magic number, protocol, sys info, objects, keys), then raw bytes."""
    return PurePosixPath(name.lower()).suffix in TORCH_EXTENSIONS and head.startswith(PICKLE_PROTO_MAGICS)


def _verdict(scan: _Scan) -> ScanResult:
    levels = set(scan.imports.values())
    if DANGEROUS in levels:
        return _result(scan, UNSAFE, "imports that can run code when loaded")
    if SUSPICIOUS in levels:
        return _result(scan, SUSPICIOUS, "imports outside the known-safe list")
    if scan.partial:
        return _result(scan, ERROR, f"pickle stream not fully parsed: {', '.join(scan.partial[:5])}")
    return _result(scan, SAFE, None)


def _result(scan: _Scan, status: str, message: str | None) -> ScanResult:
    imports = tuple(
        ImportFinding(module, name, safety)
        for (module, name), safety in sorted(scan.imports.items(), key=lambda item: (-SAFETY_ORDER[item[1]], item[0]))
    )
    return ScanResult(status=status, scanner=SCANNER, scanner_version=SCANNER_VERSION, imports=imports, message=message)


def _rate(module: str, name: str, safety: str) -> str:
    """picklescan's level, adjusted by Dockyard's lists; a dangerous verdict is never lowered."""
    if safety == DANGEROUS:
        return safety
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        listed = EXTRA_DANGEROUS.get(".".join(parts[:depth]))
        if listed == "*" or (depth == len(parts) and isinstance(listed, frozenset) and name in listed):
            return DANGEROUS
    if safety == SUSPICIOUS and name in EXTRA_INNOCUOUS.get(module, frozenset()):
        return INNOCUOUS
    return safety


# -- pickle streams -------------------------------------------------------------------------------
def _scan_pickles(
    scan: _Scan, stream: _ClampedReader, size: int, file_id: str, *, legacy_torch: bool, flag_unparsable: bool
) -> None:
    """Scan the pickle stream(s) from the stream's current position."""
    start = stream.tell()
    if legacy_torch and start == 0:
        result, first_complete = _scan_legacy_torch(scan, stream, size, file_id)
    else:
        result, first_complete = _scan_pickle_stream(scan, stream, size, start, file_id)
    scan.add(result, file_id)
    if flag_unparsable and not first_complete and not result.globals and _opens_with_proto(stream, start):
        # picklescan reports a stream it cannot parse at all as clean; a file that opens like a
        # pickle but cannot be disassembled is refused rather than vouched for.
        scan.partial.append(f"{file_id} (opens like a pickle but cannot be disassembled)")


def _scan_pickle_stream(
    scan: _Scan, stream: _ClampedReader, size: int, start: int, file_id: str
) -> tuple[picklescan.ScanResult, bool]:
    """Every pickle from ``start`` on, as ``pickle.load`` called repeatedly would read them.

    There is no limit on the stream's size, only on what the walk reads: a multi-gigabyte ``.bin``
    that is no pickle at all (ggml, fastText) stops parsing within a few bytes and is cheap.
    """
    first_complete = _walk_opcodes(scan.limits, stream, start, file_id, max_pickles=None)
    stream.seek(start)
    return picklescan.scan_pickle_bytes(stream, file_id), first_complete


def _scan_legacy_torch(
    scan: _Scan, stream: _ClampedReader, size: int, file_id: str
) -> tuple[picklescan.ScanResult, bool]:
    """Only the leading pickles: what follows them is raw tensor storage, possibly gigabytes of it."""
    first_complete = _walk_opcodes(scan.limits, stream, 0, file_id, max_pickles=LEGACY_TORCH_PICKLES)
    stream.seek(0)
    try:
        return picklescan.scan_pytorch(stream, file_id), first_complete
    except InvalidMagicError:  # not torch's layout after all: a plain pickle named .bin
        return _scan_pickle_stream(scan, stream, size, 0, file_id)


def _opens_with_proto(stream: _ClampedReader, start: int) -> bool:
    stream.seek(start)
    return stream.read(2).startswith(PICKLE_PROTO_MAGICS)


def _walk_opcodes(
    limits: ScanLimits, stream: _ClampedReader, start: int, file_id: str, *, max_pickles: int | None
) -> bool:
    """Walk consecutive pickles as picklescan will, within the opcode and byte budgets.

    picklescan keeps every opcode of a pickle (and its argument) in memory, so a file of a billion
    one-byte opcodes would need ~100 GB; this pass streams, and stops as soon as a budget is spent.
    Returns whether the first pickle reached STOP (it does not when the bytes are no pickle at all).
    """
    count = 0
    first_complete = False
    pickles = 0
    while max_pickles is None or pickles < max_pickles:
        try:
            # genops only calls read, readline and tell; typeshed asks for a whole IO[bytes]
            for opcode, _arg, position in pickletools.genops(cast(IO[bytes], stream)):
                count += 1
                if count > limits.max_pickle_ops:
                    raise ScanRefused(f"{file_id}: more than {limits.max_pickle_ops} pickle opcodes")
                if position is not None and position - start > limits.max_pickle_bytes:
                    raise ScanRefused(f"{file_id}: pickles longer than {limits.max_pickle_bytes} bytes")
                first_complete = first_complete or (pickles == 0 and opcode.name == "STOP")
        except (ValueError, EOFError, OverflowError):
            return first_complete
        pickles += 1
        if not stream.read(1):
            break
        stream.seek(-1, io.SEEK_CUR)
    return first_complete


def _scan_numpy(scan: _Scan, stream: _ClampedReader, size: int, file_id: str) -> None:
    """An ``.npy`` array holds a pickle after its header only when its dtype has objects."""
    major, minor = np.lib.format.read_magic(stream)
    if (major, minor) == (1, 0):
        _, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif (major, minor) in ((2, 0), (3, 0)):
        _, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ScanRefused(f"{file_id}: unsupported npy format version {major}.{minor}")
    if dtype.hasobject:
        _scan_pickles(scan, stream, size, file_id, legacy_torch=False, flag_unparsable=False)


# -- archives -------------------------------------------------------------------------------------
def _scan_archive(scan: _Scan, stream: IO[bytes], file_id: str, *, depth: int) -> None:
    """Scan every member that is a pickle, an npy array or another archive.

    RelaxedZipFile reads archives the way torch does (no CRC or flag checks), so what torch would
    load is what gets scanned.
    """
    if depth > scan.limits.max_archive_depth:
        raise ScanRefused(f"{file_id}: archives nested more than {scan.limits.max_archive_depth} deep")
    try:
        archive = RelaxedZipFile(stream, "r")
    except zipfile.BadZipFile as error:
        raise ScanRefused(f"{file_id}: not a readable zip archive ({error})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > scan.limits.max_archive_entries:
            raise ScanRefused(f"{file_id}: more than {scan.limits.max_archive_entries} archive entries")
        pickle_names = frozenset(info.filename for info in infos if info.filename.endswith("/data.pkl"))
        for info in infos:
            if info.is_dir() or is_torch_storage(info.filename, pickle_names):
                continue
            _scan_member(scan, archive, info, f"{file_id}:{info.filename}", depth=depth)


def _scan_member(scan: _Scan, archive: zipfile.ZipFile, info: zipfile.ZipInfo, file_id: str, *, depth: int) -> None:
    opener = _member_opener(archive, info, file_id)
    with opener() as member:
        head = member.read(64)
    kind = member_kind(info.filename, head)
    if kind is ContentKind.OTHER:
        return
    if kind in (ContentKind.ZIP, ContentKind.GZIP):
        scan.charge(info.file_size, file_id)  # copied out whole
        with _spooled_copy(scan, opener, info.file_size, file_id) as copy:
            if kind is ContentKind.ZIP:
                _scan_archive(scan, copy, file_id, depth=depth + 1)
            else:
                _scan_gzip(scan, copy, file_id, depth=depth + 1)
        return
    # ZipExtFile never yields more than the declared size, and the walk never reads past its budget.
    scan.charge(min(info.file_size, scan.limits.max_pickle_bytes), file_id)
    with opener() as member:
        reader = _ClampedReader(member, info.file_size, scan.limits)
        if kind is ContentKind.NUMPY:
            _scan_numpy(scan, reader, info.file_size, file_id)
        else:
            legacy = _is_legacy_torch(info.filename, head)
            _scan_pickles(scan, reader, info.file_size, file_id, legacy_torch=legacy, flag_unparsable=False)


def _member_opener(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, file_id: str
) -> Callable[[], AbstractContextManager[IO[bytes]]]:
    @contextmanager
    def opened() -> Iterator[IO[bytes]]:
        try:
            with archive.open(info) as member:
                yield member
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error, lzma.LZMAError) as error:
            raise ScanRefused(f"{file_id}: member cannot be decompressed ({error})") from None
        except OSError as error:  # bz2 reports corrupt data as OSError; the source is a local temp file
            raise ScanRefused(f"{file_id}: member cannot be decompressed ({error})") from None

    return opened


@contextmanager
def _spooled_copy(
    scan: _Scan, opener: Callable[[], AbstractContextManager[IO[bytes]]], size: int, file_id: str
) -> Iterator[IO[bytes]]:
    """A seekable copy of a nested archive (zipfile needs to seek to its end)."""
    if size > scan.limits.max_nested_archive_bytes:
        limit = scan.limits.max_nested_archive_bytes
        raise ScanRefused(f"{file_id}: nested archive of {size} bytes is more than {limit}")
    with tempfile.SpooledTemporaryFile(max_size=scan.limits.spool_bytes) as copy:
        with opener() as member:
            shutil.copyfileobj(member, copy, 1024 * 1024)
        copy.seek(0)
        yield copy


class _ClampedReader:
    """A stream whose reads never ask for more than what is left, nor for more than the limits allow.

    pickletools reads a BINBYTES8 argument with ``read(n)`` for whatever length the pickle declares;
    a buffered file allocates ``n`` bytes up front, so a forged 2**60 would raise MemoryError and a
    forged 30 GB would fill memory. Text opcodes read a line, which in a binary file could be the
    whole file. Past the limits the scan is refused; the refusal is raised by the walk, outside
    picklescan, which would take any exception for a parse error and report the file clean.
    """

    def __init__(self, file: IO[bytes], size: int, limits: ScanLimits) -> None:
        self._file = file
        self._size = size
        self._max_read = limits.max_pickle_bytes
        self._max_line = limits.max_text_line

    def read(self, n: int | None = -1) -> bytes:
        left = max(self._size - self._file.tell(), 0)
        wanted = left if n is None or n < 0 or n > left else n
        if wanted > self._max_read:
            raise ScanRefused(f"a pickle argument of more than {self._max_read} bytes")
        return self._file.read(wanted)

    def readline(self, limit: int | None = -1) -> bytes:
        line = self._file.readline(self._max_line + 1 if limit is None or limit < 0 else limit)
        if len(line) > self._max_line:
            raise ScanRefused(f"a pickle text line of more than {self._max_line} bytes")
        return line

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR and self._file.tell() + offset < 0:
            # picklescan steps back one byte after probing for more data, even at the start of an
            # empty stream; BytesIO clamps that to 0 and so does this reader (a real file raises).
            return self._file.seek(0)
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def seekable(self) -> bool:
        return True
