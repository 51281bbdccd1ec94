"""Access token values: generated with a recognisable prefix, stored only as a sha256 digest.

Tokens are long random strings, so a fast digest is enough to make a stolen database useless
(unlike passwords, which get a memory-hard hash in :mod:`dockyard.accounts.passwords`).
"""

from __future__ import annotations

import hashlib
import secrets
import string

TOKEN_PREFIX = "dy_"
_ALPHABET = string.ascii_letters + string.digits
_RANDOM_LENGTH = 37
READ = "read"
WRITE = "write"
FINE_GRAINED = "fineGrained"
ROLES = (READ, WRITE)


def generate_token() -> str:
    return TOKEN_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def token_hint(value: str) -> str:
    """What listings show of a token: its prefix and last four characters."""
    return f"{value[:3]}…{value[-4:]}"
