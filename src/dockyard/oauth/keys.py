"""The RSA key that signs id_tokens: generated once by the first process that needs it and kept
in the database (``server_state``), so every API process signs with the same key and apps can
verify any of them against one JWKS."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dockyard.db.database import Database
from dockyard.db.server_state import ServerState, restrict_sqlite_files

OIDC_KEY = "oidc_rsa_private_key"
_CACHE: dict[str, SigningKey] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class SigningKey:
    private_pem: bytes
    kid: str
    public_jwk: dict[str, Any]


def signing_key(db: Database) -> SigningKey:
    """This process's copy of the key (read, or created, once per database)."""
    cache_key = str(db.engine.url)
    with _LOCK:
        cached = _CACHE.get(cache_key)
        if cached is None:
            cached = _CACHE[cache_key] = _load_or_create(db)
        return cached


def _load_or_create(db: Database) -> SigningKey:
    restrict_sqlite_files(db)
    pem = _read(db)
    if pem is None:
        try:
            with db.write() as session:
                session.add(ServerState(key=OIDC_KEY, value=_new_private_pem().decode()))
        except IntegrityError:  # another process created it first: use theirs
            pass
        pem = _read(db)
    assert pem is not None
    return _key_of(pem.encode())


def _read(db: Database) -> str | None:
    with db.read() as session:
        return session.scalar(select(ServerState.value).where(ServerState.key == OIDC_KEY))


def _new_private_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8 = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())


def _key_of(pem: bytes) -> SigningKey:
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    # RFC 7638 thumbprint: a key id that changes only when the key does.
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    kid = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    jwk.update(kid=kid, use="sig", alg="RS256")
    return SigningKey(private_pem=pem, kid=kid, public_jwk=jwk)
