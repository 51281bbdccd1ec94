"""A throwaway Xet CAS server on 127.0.0.1 that records what the real hf_xet client sends.

Why: the Xet specification leaves parts of the wire format open (xorb footer, shard magic,
lookup tables), and hf_xet 1.8 is the judge. This server accepts the client's xorb and shard
uploads, stores the bodies, and can answer downloads with responses produced by the library
under test, so a byte-identical download proves the reconstruction format.

It is test scaffolding only: no auth, everything in memory, one ``ThreadingHTTPServer``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (xorb_hex or file_hex, range header or None) -> (status, headers, body)
Responder = Callable[[str, str | None], tuple[int, dict[str, str], bytes]]


@dataclass
class CaptureState:
    """Everything the client sent, plus optional responders for the download side."""

    xorbs: dict[str, bytes] = field(default_factory=dict)
    shards: list[bytes] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    chunk_queries: list[str] = field(default_factory=list)
    dedupe_shards: dict[str, bytes] = field(default_factory=dict)
    reconstruction_v1: Responder | None = None
    reconstruction_v2: Responder | None = None
    xorb_ranges: list[tuple[str, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse a single ``bytes=a-b`` range (inclusive end); None when absent."""
    if header is None:
        return None
    m = re.fullmatch(r"bytes=(\d+)-(\d*)", header.strip())
    if not m:
        raise ValueError(f"unsupported range {header!r}")
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    return start, min(end, size - 1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: object, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json"})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length)

    def do_POST(self) -> None:
        state = self.server.state
        body = self._body()
        with state.lock:
            state.requests.append(("POST", self.path))
        if m := re.fullmatch(r"/v1/xorbs/default/([0-9a-f]{64})", self.path):
            with state.lock:
                inserted = m.group(1) not in state.xorbs
                state.xorbs[m.group(1)] = body
            self._json({"was_inserted": inserted})
        elif self.path == "/v2/shards":
            with state.lock:
                state.shards.append(body)
            events = [{"type": "validating", "verified": 1, "total": 1}, {"type": "result", "result": 1}]
            ndjson = "".join(json.dumps(e) + "\n" for e in events).encode()
            self._send(200, ndjson, {"Content-Type": "application/x-ndjson"})
        elif self.path == "/v1/telemetry":
            self._json({})
        else:  # xorb-grants and anything else: not supported, client falls back
            self._send(404)

    def do_GET(self) -> None:
        state = self.server.state
        rng = self.headers.get("Range")
        with state.lock:
            state.requests.append(("GET", self.path))
        if m := re.fullmatch(r"/v1/chunks/default(?:-merkledb)?/([0-9a-f]{64})", self.path):
            with state.lock:
                state.chunk_queries.append(m.group(1))
            shard = state.dedupe_shards.get(m.group(1))
            self._send(200, shard) if shard is not None else self._send(404)
        elif m := re.fullmatch(r"/v([12])/reconstructions/([0-9a-f]{64})", self.path):
            responder = state.reconstruction_v1 if m.group(1) == "1" else state.reconstruction_v2
            if responder is None:
                self._send(404)
                return
            status, headers, body = responder(m.group(2), rng)
            self._send(status, body, headers)
        elif m := re.fullmatch(r"/xorb/([0-9a-f]{64})(?:\?.*)?", self.path):
            self._serve_xorb(m.group(1), rng)
        else:
            self._send(404)

    def _serve_xorb(self, xorb_hex: str, rng: str | None) -> None:
        state = self.server.state
        with state.lock:
            state.xorb_ranges.append((xorb_hex, rng))
        data = state.xorbs.get(xorb_hex)
        if data is None:
            self._send(404)
            return
        span = _parse_range(rng, len(data))
        if span is None:
            self._send(200, data)
            return
        start, end = span
        headers = {"Content-Range": f"bytes {start}-{end}/{len(data)}"}
        self._send(206, data[start : end + 1], headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: CaptureState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class CaptureCas:
    """Context manager running the capture server on a random port in a background thread."""

    def __init__(self) -> None:
        self.state = CaptureState()
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        """Base URL the client should use as its CAS endpoint."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def xorb_url(self, xorb_hex: str) -> str:
        """A stand-in for a presigned transfer URL of one stored xorb."""
        return f"{self.url}/xorb/{xorb_hex}"

    def __enter__(self) -> CaptureCas:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
