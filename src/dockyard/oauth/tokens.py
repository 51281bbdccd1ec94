"""Values handed to apps: random secrets (stored hashed), PKCE checks and signed id_tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import jwt

from dockyard.oauth.keys import SigningKey

ID_TOKEN_LIFETIME = 3600


def new_secret(prefix: str) -> str:
    """A client secret, code or access token: 256 random bits behind a recognisable prefix."""
    return prefix + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def pkce_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding equals the challenge."""
    if not 43 <= len(verifier) <= 128:
        return False
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii", "replace")).digest()).rstrip(b"=")
    return hmac.compare_digest(computed.decode(), challenge)


def id_token(key: SigningKey, *, issuer: str, audience: str, claims: dict[str, Any], nonce: str | None) -> str:
    """An RS256 id_token for ``audience`` (the app's client id), carrying the user's claims."""
    now = int(time.time())
    payload = {**claims, "iss": issuer, "aud": audience, "iat": now, "exp": now + ID_TOKEN_LIFETIME}
    if nonce:
        payload["nonce"] = nonce
    return jwt.encode(payload, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
