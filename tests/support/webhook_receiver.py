"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every POST, answers
the statuses a test scripts per path (200 otherwise), and can hold a request until released."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: dict[str, list[int]] = field(default_factory=dict)  # path -> next statuses, then 200
    holds: dict[str, threading.Event] = field(default_factory=dict)  # path -> released when set
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def _status_for(self, path: str) -> int:
        with self.lock:
            scripted = self.statuses.get(path)
            return scripted.pop(0) if scripted else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, raw))
            hold = receiver.holds.get(self.path)
            if hold is not None:
                hold.wait(timeout=30)
            status = receiver._status_for(self.path)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver(url="")))
    receiver = Receiver(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        for hold in receiver.holds.values():
            hold.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
