"""Self-authenticating URLs and short-lived tokens (HMAC-SHA256).

LFS upload URLs and Xet xorb URLs are fetched by clients that send no credentials (the Hub's
clients deliberately drop them), so the URL itself carries a signed, expiring grant.

Keys rotate without breaking what is in flight: the signer signs with its newest key and accepts
any of its keys (the newest and the one before it, see :mod:`dockyard.db.server_state`), so URLs
handed out just before a rotation stay valid until they expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

from dockyard.errors import UnauthorizedError

#: Longest token accepted; ours are a few hundred characters. Anything longer is not ours.
MAX_TOKEN_LENGTH = 4096


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs with ``keys[0]``; verifies with every key in ``keys`` (newest first)."""

    def __init__(self, keys: bytes | Sequence[bytes]) -> None:
        self._keys = (keys,) if isinstance(keys, bytes) else tuple(keys)
        if not self._keys or not all(self._keys):
            raise ValueError("A signer needs at least one non-empty key")

    @staticmethod
    def _mac(key: bytes, purpose: str, body: str) -> str:
        digest = hmac.new(key, f"{purpose}\n{body}".encode(), hashlib.sha256).digest()
        return _b64(digest)

    def sign(self, purpose: str, claims: dict[str, Any], *, ttl: int) -> str:
        """An opaque token for ``claims``, valid ``ttl`` seconds and only for ``purpose``."""
        payload = dict(claims, exp=int(time.time()) + ttl)
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(self._keys[0], purpose, body)}"

    def verify(self, purpose: str, token: str) -> dict[str, Any]:
        """The claims of a token we signed for ``purpose``; 401 for anything else. Tokens come from
        URLs and headers, so they are untrusted text: non-ASCII or oversized ones are refused
        before any comparison (``hmac.compare_digest`` raises on non-ASCII strings)."""
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise UnauthorizedError("Invalid or tampered signature")
        body, _, mac = token.partition(".")
        if not body or not mac or not self._matches(purpose, body, mac):
            raise UnauthorizedError("Invalid or tampered signature")
        try:
            claims = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
            raise UnauthorizedError("Invalid signature payload") from None
        if not isinstance(claims, dict) or claims.get("exp", 0) < time.time():
            raise UnauthorizedError("This signed URL has expired")
        return claims

    def _matches(self, purpose: str, body: str, mac: str) -> bool:
        # Every key is tried (no early exit), so timing does not tell which key signed.
        results = [hmac.compare_digest(mac, self._mac(key, purpose, body)) for key in self._keys]
        return any(results)
