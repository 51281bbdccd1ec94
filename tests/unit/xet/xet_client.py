"""Drive the real hf_xet client (the judge) against a :class:`CaptureCas`.

Uses the non-deprecated ``XetSession`` API with a static token, and serves downloads with the
reconstruction builders under test, fed from what the client itself uploaded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import hf_xet

from dockyard.xet.errors import RangeNotSatisfiableError
from dockyard.xet.hashes import MerkleHash, parse_hash_hex
from dockyard.xet.reconstruction import XorbLayout, reconstruction_v1, reconstruction_v2
from dockyard.xet.shard import FileInfo, parse_shard
from dockyard.xet.xorb import parse_xorb
from tests.unit.xet.capture_cas import CaptureCas, Responder

TOKEN = "test-token"
Builder = Callable[..., dict[str, object]]


def _session() -> hf_xet.XetSession:
    return hf_xet.XetSession(hf_xet.XetConfig().with_config("telemetry.enabled", False))


def _auth(cas: CaptureCas) -> dict[str, object]:
    return {"endpoint": cas.url, "token": TOKEN, "token_expiry_unix_secs": int(time.time()) + 3600}


@dataclass(frozen=True)
class Uploaded:
    """What the client reported for one uploaded payload."""

    hash: str
    sha256: str
    size: int


def upload(cas: CaptureCas, payloads: Sequence[bytes]) -> list[Uploaded]:
    """Upload payloads in one commit; the CAS records the xorbs and shard bodies."""
    with _session().new_upload_commit(**_auth(cas)) as commit:
        handles = [
            commit.start_upload_bytes(p, sha256=hf_xet.COMPUTE_SHA256, name=f"f{i}") for i, p in enumerate(payloads)
        ]
    infos = [h.result().xet_info for h in handles]
    return [Uploaded(i.hash, i.sha256, i.file_size) for i in infos]


class Catalog:
    """Server-side state rebuilt from captured uploads: file infos and xorb layouts."""

    def __init__(self) -> None:
        self.files: dict[MerkleHash, FileInfo] = {}
        self.layouts: dict[MerkleHash, XorbLayout] = {}

    def ingest(self, cas: CaptureCas) -> Catalog:
        """Parse everything the client uploaded so far (validating it on the way)."""
        for key, body in cas.state.xorbs.items():
            self.add_xorb(body, parse_hash_hex(key))
        for shard in cas.state.shards:
            self.files.update((f.file_hash, f) for f in parse_shard(shard).files)
        return self

    def add_xorb(self, body: bytes, expected: MerkleHash | None = None) -> MerkleHash:
        """Validate one stored xorb and remember its layout."""
        parsed = parse_xorb(body, expected)
        self.layouts[parsed.hash] = XorbLayout.from_parsed(parsed)
        return parsed.hash

    def serve(self, cas: CaptureCas, *, v2: bool) -> None:
        """Answer reconstruction queries from this catalog (v2 only when ``v2``, else 404 → v1)."""

        def responder(builder: Builder) -> Responder:
            def respond(file_hex: str, range_header: str | None) -> tuple[int, dict[str, str], bytes]:
                info = self.files.get(parse_hash_hex(file_hex))
                if info is None:
                    return 404, {}, b""
                try:
                    body = builder(info.terms, self.layouts, lambda x: cas.xorb_url(x.hex()), range_header)
                except RangeNotSatisfiableError:
                    return 416, {}, b""
                return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

            return respond

        cas.state.reconstruction_v1 = responder(reconstruction_v1)
        cas.state.reconstruction_v2 = responder(reconstruction_v2) if v2 else None


def download(cas: CaptureCas, file_hash: str, size: int, dest: str) -> bytes:
    """Download a whole file to ``dest`` with the real client and return its bytes."""
    with _session().new_file_download_group(**_auth(cas)) as group:
        group.start_download_file(hf_xet.XetFileInfo(file_hash, size), dest)
    with open(dest, "rb") as f:
        return f.read()


def download_range(cas: CaptureCas, file_hash: str, size: int, ranges: Sequence[tuple[int, int | None]]) -> list[bytes]:
    """Stream byte ranges ``[start, end)`` of a file with the real client."""
    with _session().new_download_stream_group(**_auth(cas)) as group:
        info = hf_xet.XetFileInfo(file_hash, size)
        return [b"".join(group.download_stream(info, start=a, end=b)) for a, b in ranges]
