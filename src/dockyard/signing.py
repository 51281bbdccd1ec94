"""Self-authenticating URLs and short-lived tokens (HMAC-SHA256).

LFS upload URLs and Xet xorb URLs are fetched by clients that send no credentials (the Hub's
clients deliberately drop them), so the URL itself carries a signed, expiring grant.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from dockyard.errors import UnauthorizedError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, purpose: str, body: str) -> str:
        digest = hmac.new(self._secret, f"{purpose}\n{body}".encode(), hashlib.sha256).digest()
        return _b64(digest)

    def sign(self, purpose: str, claims: dict[str, Any], *, ttl: int) -> str:
        """An opaque token for ``claims``, valid ``ttl`` seconds and only for ``purpose``."""
        payload = dict(claims, exp=int(time.time()) + ttl)
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(purpose, body)}"

    def verify(self, purpose: str, token: str) -> dict[str, Any]:
        body, _, mac = token.partition(".")
        if not body or not mac or not hmac.compare_digest(mac, self._mac(purpose, body)):
            raise UnauthorizedError("Invalid or tampered signature")
        try:
            claims = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            raise UnauthorizedError("Invalid signature payload") from None
        if not isinstance(claims, dict) or claims.get("exp", 0) < time.time():
            raise UnauthorizedError("This signed URL has expired")
        return claims
