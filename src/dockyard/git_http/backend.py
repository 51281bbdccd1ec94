"""``git http-backend`` (git's own smart-HTTP server) run as a CGI program behind ASGI.

Three rules learnt the hard way (shared/INFRA.md): the request body is read completely before
the CGI starts (spooled to a temporary file past a few MiB, so a large push is never held in
memory); ``Git-Protocol`` becomes ``GIT_PROTOCOL`` (protocol v2); the repositories are created with
``main`` as their initial branch. The response is streamed as git writes it.

The CGI gets a clean environment: no server secrets, no user or system git configuration, and
per-request configuration through ``GIT_CONFIG_COUNT`` (hooks path, fsck of pushed objects,
partial clone filters), so repositories need no per-repo hook installation.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import shlex
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from dockyard.repos.git_locks import HISTORY_LOCK
from dockyard.repos.git_storage import REPO_CONFIG

log = logging.getLogger(__name__)

MIB = 1024 * 1024
MEMORY_BODY_LIMIT = 8 * MIB  # larger request bodies go to a temporary file
READ_CHUNK = 1 * MIB
MAX_CGI_HEADER = 64 * 1024
HOOK_SCRIPT = Path(__file__).with_name("pre_receive.py")
GIT_CONFIG = {
    "receive.fsckObjects": "true",  # refuse corrupt or malicious objects (".git" paths, bad trees)
    "uploadpack.allowFilter": "true",  # partial clones (--filter=blob:none)
    "receive.advertisePushOptions": "false",
    # fsync, protectNTFS/HFS, and no fetching by sha of what no ref reaches (the prune job deletes
    # such objects, which is what stops protocol v2, whose upload-pack does not check wants).
    **REPO_CONFIG,
}


@dataclass
class CgiRequest:
    """What ``git http-backend`` needs to know about one request."""

    git_dir: Path
    path_info: str  # "info/refs", "git-upload-pack" or "git-receive-pack"
    method: str
    query: str = ""
    content_type: str = ""
    content_encoding: str = ""
    git_protocol: str = ""
    remote_addr: str = ""
    remote_user: str = ""
    committer: tuple[str, str] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)


class SpooledBody:
    """A request body held in memory, or in an anonymous temporary file once it grows large."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.file: IO[bytes] | None = None
        self.size = 0

    async def append(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.file is None and self.size <= MEMORY_BODY_LIMIT:
            self.chunks.append(chunk)
            return
        if self.file is None:
            self.file = await anyio.to_thread.run_sync(tempfile.TemporaryFile)
            pending, self.chunks = b"".join(self.chunks), []
            await anyio.to_thread.run_sync(self.file.write, pending)
        await anyio.to_thread.run_sync(self.file.write, chunk)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


async def read_body(request: Request) -> SpooledBody:
    body = SpooledBody()
    try:
        async for chunk in request.stream():
            if chunk:
                await body.append(chunk)
    except BaseException:
        body.close()
        raise
    if body.file is not None:
        await anyio.to_thread.run_sync(body.file.flush)
        body.file.seek(0)
    return body


def hooks_dir(data_dir: Path) -> Path:
    """A hooks directory whose ``pre-receive`` runs :mod:`pre_receive` with this interpreter.

    Written under the data dir (once per interpreter and script location, atomically), because
    git only runs executable files from a hooks directory and installed packages may lose the
    executable bit."""
    script = f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -E -s -S {shlex.quote(str(HOOK_SCRIPT))}\n"
    digest = hashlib.sha256(script.encode()).hexdigest()[:16]
    folder = data_dir / "git-hooks" / digest
    hook = folder / "pre-receive"
    if not hook.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".pre-receive.{os.getpid()}"
        temporary.write_text(script)
        temporary.chmod(0o755)
        os.replace(temporary, hook)
    return folder


def cgi_environment(cgi: CgiRequest, body_size: int | None, hooks: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_PROJECT_ROOT": str(cgi.git_dir.parent),
        "PATH_INFO": f"/{cgi.git_dir.name}/{cgi.path_info}",
        "GIT_HTTP_EXPORT_ALL": "1",
        "REQUEST_METHOD": cgi.method,
        "QUERY_STRING": cgi.query,
        "REMOTE_ADDR": cgi.remote_addr,
    }
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    if body_size is not None:
        env["CONTENT_LENGTH"] = str(body_size)
    if cgi.content_type:
        env["CONTENT_TYPE"] = cgi.content_type
    if cgi.content_encoding:
        env["HTTP_CONTENT_ENCODING"] = cgi.content_encoding
    if cgi.git_protocol:
        env["GIT_PROTOCOL"] = cgi.git_protocol
    if cgi.remote_user:
        env["REMOTE_USER"] = cgi.remote_user
    if cgi.committer:
        env["GIT_COMMITTER_NAME"], env["GIT_COMMITTER_EMAIL"] = cgi.committer
    config = dict(GIT_CONFIG, **{"core.hooksPath": str(hooks)})
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for index, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    env.update(cgi.extra_env)
    return env


class CgiProcess:
    """A running ``git http-backend``: its status and headers once parsed, then its body."""

    def __init__(
        self, process: asyncio.subprocess.Process, writer: asyncio.Task[None] | None, *, killable: bool
    ) -> None:
        self.process = process
        self.writer = writer
        self.killable = killable
        self.status = 200
        self.headers: dict[str, str] = {}
        self.pending = b""  # body bytes read together with the headers
        self.stderr: asyncio.Task[bytes] | None = None
        self.history_fd: int | None = None  # a push's shared history lock (see hold_history)

    async def read_headers(self) -> None:
        assert self.process.stdout is not None
        buffer = b""
        while True:
            for separator in (b"\r\n\r\n", b"\n\n"):
                head, found, rest = buffer.partition(separator)
                if found:
                    self._parse_headers(head)
                    self.pending = rest
                    return
            if len(buffer) > MAX_CGI_HEADER:
                raise RuntimeError("git http-backend sent oversized headers")
            chunk = await self.process.stdout.read(READ_CHUNK)
            if not chunk:
                raise RuntimeError(f"git http-backend ended without headers: {await self.error_text()}")
            buffer += chunk

    def _parse_headers(self, head: bytes) -> None:
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            name, value = name.strip(), value.strip()
            if name.lower() == "status":
                self.status = int(value.split()[0])
            elif name:
                self.headers[name] = value

    async def body(self) -> AsyncIterator[bytes]:
        assert self.process.stdout is not None
        if self.pending:
            yield self.pending
        while chunk := await self.process.stdout.read(READ_CHUNK):
            yield chunk

    async def error_text(self) -> str:
        if self.stderr is None:
            return ""
        return (await self.stderr).decode(errors="replace").strip()

    async def finish(self, *, abandoned: bool = False) -> int:
        """Wait for the process and log what it said. When the client went away, a fetch is
        killed, while a push is drained to its end: it may be moving refs right now."""
        if self.writer is not None:
            if abandoned:
                self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await self.writer
        if abandoned and self.killable and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        elif self.process.returncode is None and self.process.stdout is not None:
            with contextlib.suppress(OSError):
                while await self.process.stdout.read(READ_CHUNK):
                    pass
        code = await self.process.wait()
        if self.history_fd is not None:
            os.close(self.history_fd)  # releases the flock
            self.history_fd = None
        errors = await self.error_text()
        if (code != 0 and not abandoned) or errors:
            log.warning("git http-backend exited %s: %s", code, errors[-2000:])
        return code


async def start(cgi: CgiRequest, body: SpooledBody | None, hooks: Path) -> CgiProcess:
    """Start ``git http-backend`` for ``cgi`` with ``body`` as its standard input."""
    env = cgi_environment(cgi, body.size if body is not None else None, hooks)
    history_fd = None
    if cgi.path_info == "git-receive-pack":
        history_fd = await anyio.to_thread.run_sync(hold_history, cgi.git_dir)
    try:
        cgi_process = await _spawn(cgi, body, env)
    except BaseException:
        if history_fd is not None:
            os.close(history_fd)
        raise
    cgi_process.history_fd = history_fd
    return cgi_process


def hold_history(git_dir: Path) -> int:
    """A shared flock on the repo's history lock, held while a push runs: its objects are not
    reachable until its refs move, and the prune job (exclusive) must not delete them."""
    fd = os.open(git_dir / HISTORY_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


async def _spawn(cgi: CgiRequest, body: SpooledBody | None, env: dict[str, str]) -> CgiProcess:
    stdin: int | IO[bytes] = asyncio.subprocess.DEVNULL
    if body is not None:
        stdin = body.file if body.file is not None else asyncio.subprocess.PIPE
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        limit=2 * READ_CHUNK,
    )
    writer = None
    if body is not None and body.file is None:
        writer = asyncio.create_task(_feed(process, body.chunks))
    cgi_process = CgiProcess(process, writer, killable=cgi.path_info != "git-receive-pack")
    assert process.stderr is not None
    cgi_process.stderr = asyncio.create_task(process.stderr.read())
    return cgi_process


async def _feed(process: asyncio.subprocess.Process, chunks: list[bytes]) -> None:
    """Write an in-memory body concurrently with reading the output (no pipe deadlock)."""
    assert process.stdin is not None
    try:
        for chunk in chunks:
            process.stdin.write(chunk)
            await process.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        process.stdin.close()


class CgiResponse(Response):
    """Streams a CGI's body. ``before_last`` runs once the process has exited and before the last
    chunk is sent, so a client never sees the end of a push before Dockyard has recorded it; it
    also runs when the client went away, because the refs have moved all the same."""

    def __init__(
        self, cgi: CgiProcess, *, before_last: Callable[[], Awaitable[None]] | None = None, body: SpooledBody | None
    ) -> None:
        self.status_code = cgi.status
        self.background = None
        self.init_headers(_response_headers(cgi.headers))  # no body attribute: no Content-Length
        self.cgi = cgi
        self.before_last = before_last
        self.spooled = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:

            async def stream() -> None:
                await self._stream(send)
                group.cancel_scope.cancel()

            group.start_soon(stream)
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()  # the client went away: stop streaming

    async def _stream(self, send: Send) -> None:
        held: bytes | None = None
        finished = False
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for chunk in self.cgi.body():
                if held is not None:
                    await send({"type": "http.response.body", "body": held, "more_body": True})
                held = chunk
            await self._finish(abandoned=False)
            finished = True
            await send({"type": "http.response.body", "body": held or b"", "more_body": False})
        finally:
            if not finished:
                with anyio.CancelScope(shield=True):
                    await self._finish(abandoned=True)

    async def _finish(self, *, abandoned: bool) -> None:
        try:
            await self.cgi.finish(abandoned=abandoned)
            if self.before_last is not None:
                await self.before_last()
        finally:
            self.before_last = None
            if self.spooled is not None:
                self.spooled.close()
                self.spooled = None


def _response_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() not in ("content-length", "status")}
