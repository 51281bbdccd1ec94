"""A small keep-alive HTTP/1.1 load generator: N connections, each sending one request at a time.

    python bench/http_load.py URL --method HEAD --connections 64 --seconds 2 [--header 'K: V' ...]

Prints one JSON line: requests, errors (non-2xx/3xx or broken connections), seconds, req/s and
latency percentiles (ms). Raw asyncio protocols on uvloop (when installed): it parses only the
status line and ``Content-Length``, which keeps the generator itself far cheaper than the servers
it measures. Used by resolve_head.py in a subprocess of its own, so it never shares a GIL with a
server; on a 2-core machine it still shares the CPUs, the same way for Dockyard and the reference.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


class _Connection(asyncio.Protocol):
    """One keep-alive connection: send a request, wait for the whole answer, repeat."""

    def __init__(self, request: bytes, head: bool, deadline: float, latencies: list[float]) -> None:
        self.request = request
        self.head = head
        self.deadline = deadline
        self.latencies = latencies
        self.errors = 0
        self.buffer = b""
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport subclass
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0 if self.head else _content_length(head)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self._answered(head)
            if self.done.done():
                return

    def _answered(self, head: str) -> None:
        now = time.perf_counter()
        status = int(head.split(" ", 2)[1])
        if status >= 400:
            self.errors += 1
        self.latencies.append(now - self.sent)
        if now >= self.deadline:
            assert self.transport is not None
            self.transport.close()
            if not self.done.done():
                self.done.set_result(None)
        else:
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.errors += 1
            self.done.set_result(None)


def _content_length(head: str) -> int:
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return int(value.strip())
    return 0


def _request(url: str, method: str, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", *headers, "", ""]
    return parts.hostname or "127.0.0.1", parts.port or 80, "\r\n".join(lines).encode("latin-1")


async def run(url: str, method: str, headers: list[str], connections: int, seconds: float) -> dict[str, float]:
    host, port, request = _request(url, method, headers)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    protocols = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(
            lambda: _Connection(request, method == "HEAD", deadline, latencies), host, port
        )
        protocols.append(protocol)
    await asyncio.gather(*(p.done for p in protocols))
    elapsed = time.perf_counter() - start
    latencies.sort()
    count = len(latencies)

    def pct(q: float) -> float:
        return latencies[min(count - 1, int(q * count))] * 1000 if count else float("nan")

    return {
        "requests": count,
        "errors": sum(p.errors for p in protocols),
        "seconds": elapsed,
        "rps": count / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url")
    parser.add_argument("--method", default="HEAD")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    work = run(args.url, args.method, args.header, args.connections, args.seconds)
    try:
        import uvloop
    except ImportError:  # plain asyncio works, only slower
        result = asyncio.run(work)
    else:
        result = uvloop.run(work)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
