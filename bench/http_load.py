"""A small keep-alive HTTP/1.1 load generator: N connections, each sending one request at a time.

    python bench/http_load.py URL --method HEAD --connections 64 --seconds 2 [--header 'K: V' ...]

Prints one JSON line: requests, errors (non-2xx/3xx or broken connections), seconds, req/s and
latency percentiles (ms) of the timed window, plus ``first_p50_ms``/``first_max_ms``: how long the
first answer on each fresh connection took. Raw asyncio protocols on uvloop (when installed): it
parses only the status line and ``Content-Length``, which keeps the generator itself far cheaper
than the servers it measures. Used by resolve_head.py in a subprocess of its own, so it never
shares a GIL with a server; on a 2-core machine it still shares the CPUs, the same way for Dockyard
and the reference.

Every connection is opened and answered once before the clock starts, so the timed window holds
N clients in steady state. The first answers are kept apart because they measure something else.
When each connection started sending as soon as it was open, a server busy with the connections
already open answered a fresh one late: the 64 first answers took up to 80-150 ms from the bare
app and 270-560 ms from Dockyard (bench/README.md, "Steady state"). At ~6,000 req/s they are 1% of
a one-second run, so they alone set its p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


class _Connection(asyncio.Protocol):
    """One keep-alive connection: send a request, wait for the whole answer, repeat until the
    deadline. The first answer only opens the connection (``opened``); ``start`` begins the loop."""

    def __init__(self, request: bytes, head: bool) -> None:
        self.request = request
        self.head = head
        self.deadline = 0.0
        self.latencies: list[float] = []
        self.first_latency = 0.0
        self.errors = 0
        self.buffer = b""
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport subclass
        self._send()

    def start(self, deadline: float) -> None:
        self.deadline = deadline
        if not self.done.done():  # lost while opening: counted as an error, nothing to send on
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
        if not self.opened.done():
            self.first_latency = now - self.sent
            self.opened.set_result(None)
            return
        self.latencies.append(now - self.sent)
        if now >= self.deadline:
            assert self.transport is not None
            self.transport.close()
            if not self.done.done():
                self.done.set_result(None)
        else:
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():  # closed before our deadline: by the server, or broken
            self.errors += 1
        for future in (self.opened, self.done):
            if not future.done():
                future.set_result(None)


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


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def run(url: str, method: str, headers: list[str], connections: int, seconds: float) -> dict[str, float]:
    host, port, request = _request(url, method, headers)
    loop = asyncio.get_running_loop()
    protocols: list[_Connection] = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(lambda: _Connection(request, method == "HEAD"), host, port)
        protocols.append(protocol)
    await asyncio.gather(*(p.opened for p in protocols))
    start = time.perf_counter()
    for protocol in protocols:
        protocol.start(start + seconds)
    await asyncio.gather(*(p.done for p in protocols))
    elapsed = time.perf_counter() - start
    latencies = sorted(latency for p in protocols for latency in p.latencies)
    firsts = sorted(p.first_latency for p in protocols)
    return {
        "requests": len(latencies),
        "errors": sum(p.errors for p in protocols),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "first_p50_ms": _percentile(firsts, 0.50),
        "first_max_ms": firsts[-1] * 1000 if firsts else float("nan"),
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
