"""Where one HEAD /resolve (or repo-info GET) spends its CPU: the app called in-process under cProfile.

    python bench/profile_head.py [--requests 3000] [--path small|lfs|sha|counted|info|revision] [--top 30]

A live server sets the repo up (real client, as in resolve_head.py) and is stopped; then the same
data is served by ``create_app`` called directly through ASGI (no socket, no uvicorn), so the
profile holds only Dockyard's own work: middleware, auth, database, git, headers.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import anyio.to_thread
import harness

NAMESPACE, REPO_ID = "bench", "bench/profile-head"


def setup(workdir: Path) -> tuple[dict[str, str], str, str]:
    from tests.support.server import start_server

    server = start_server(workdir / "data", harness.free_port())
    try:
        server.cli("user", "create", NAMESPACE)
        token = server.cli("token", "create", NAMESPACE, "--role", "write").stdout.strip().splitlines()[-1]
        os.environ.update(harness.client_env(server.url, token, workdir / "hf-home", xet=False))
        from huggingface_hub import CommitOperationAdd, HfApi

        api = HfApi(endpoint=server.url, token=token)
        api.create_repo(REPO_ID)
        operations = [
            CommitOperationAdd("config.json", json.dumps({"model_type": "bert"}).encode()),
            CommitOperationAdd("tokenizer_config.json", b"{}"),
            CommitOperationAdd("weights/model.bin", os.urandom(4096)),
        ]
        commit = api.create_commit(REPO_ID, operations, commit_message="profile").oid
    finally:
        server.stop()
    return server.env, token, commit


class _Inline(Executor):
    """Runs the resolve work on the calling thread, where the profiler is."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the awaiting coroutine, as a thread would
            future.set_exception(error)
        return future


async def _inline_run_sync(func: Any, *args: Any, **_: Any) -> Any:
    return func(*args)


PATHS = {
    "small": ("HEAD", "/{repo}/resolve/main/tokenizer_config.json"),
    "lfs": ("HEAD", "/{repo}/resolve/main/weights/model.bin"),
    "sha": ("HEAD", "/{repo}/resolve/{commit}/weights/model.bin"),
    "counted": ("HEAD", "/{repo}/resolve/main/config.json"),
    "info": ("GET", "/api/models/{repo}"),
    "revision": ("GET", "/api/models/{repo}/revision/main"),
}


async def drive(app: Any, method: str, path: str, token: str, count: int) -> float:
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"accept-encoding", b"identity"),
               (b"x-hf-download-counter", b"1"), (b"host", b"127.0.0.1")]  # fmt: skip
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}  # fmt: skip
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    start = time.perf_counter()
    for _ in range(count):
        await app(dict(scope), receive, send)
    elapsed = time.perf_counter() - start
    if any(s >= 400 for s in statuses):
        raise RuntimeError(f"{path}: statuses {sorted(set(statuses))}")
    return elapsed


def main() -> int:
    harness.use_this_checkout()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--path", choices=sorted(PATHS), default="small")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime")
    harness.add_workdir_args(parser)
    args = parser.parse_args()
    workdir = harness.make_workdir(args.workdir, "dockyard-profile-head-")
    try:
        env, token, commit = setup(workdir)
        os.environ.update({k: v for k, v in env.items() if k.startswith("DOCKYARD_")})
        from dockyard.api import info, resolve
        from dockyard.app import create_app
        from dockyard.repos.downloads import DownloadCounter
        from dockyard.settings import Settings

        resolve._RESOLVE_THREADS = _Inline()  # type: ignore[assignment]  # cProfile sees one thread only
        info._INFO_THREADS = _Inline()  # type: ignore[assignment]  # the info routes' executor too
        anyio.to_thread.run_sync = _inline_run_sync  # sync routes too (FastAPI's threadpool)
        app = create_app(Settings())
        hub = app.state.hub
        hub.downloads = DownloadCounter(hub.db)  # as the lifespan would; flushed by hand below
        method, template = PATHS[args.path]
        path = template.format(repo=REPO_ID, commit=commit)
        asyncio.run(drive(app, method, path, token, 200))  # warm: caches, imports, connections
        plain = asyncio.run(drive(app, method, path, token, args.requests))
        print(f"{args.requests} x {method} {path}: {plain / args.requests * 1e6:.1f} us each in process, no profiler")
        profiler = cProfile.Profile()
        profiler.enable()
        elapsed = asyncio.run(drive(app, method, path, token, args.requests))
        profiler.disable()
        hub.downloads.flush()
        print(f"{args.requests} x {method} {path}: {elapsed / args.requests * 1e6:.0f} us each under cProfile")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats(args.sort).print_stats(args.top)
    finally:
        harness.drop_workdir(workdir, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
