"""Signed URLs and tokens: key rotation (sign with the newest key, verify with both) and untrusted
token text that must be refused with a 401, never crash."""

from __future__ import annotations

import pytest

from dockyard.errors import UnauthorizedError
from dockyard.signing import Signer

OLD, NEW = b"o" * 32, b"n" * 32


def test_a_rotated_signer_accepts_what_the_old_key_signed() -> None:
    before = Signer([OLD]).sign("upload", {"oid": "abc"}, ttl=60)
    rotated = Signer([NEW, OLD])
    assert rotated.verify("upload", before)["oid"] == "abc"


def test_a_rotated_signer_signs_with_the_new_key_only() -> None:
    token = Signer([NEW, OLD]).sign("upload", {"oid": "abc"}, ttl=60)
    assert Signer([NEW]).verify("upload", token)["oid"] == "abc"
    with pytest.raises(UnauthorizedError):
        Signer([OLD]).verify("upload", token)


def test_a_dropped_key_no_longer_verifies() -> None:
    before = Signer([OLD]).sign("upload", {"oid": "abc"}, ttl=60)
    with pytest.raises(UnauthorizedError):
        Signer([NEW]).verify("upload", before)


def test_purpose_and_expiry_still_bind_the_token() -> None:
    signer = Signer([NEW, OLD])
    with pytest.raises(UnauthorizedError):
        signer.verify("download", signer.sign("upload", {}, ttl=60))
    with pytest.raises(UnauthorizedError, match="expired"):
        signer.verify("upload", signer.sign("upload", {}, ttl=-5))


@pytest.mark.parametrize(
    "token",
    ["é", "abc.é", "é.abc", "eyJhIjoxfQ.\u00e9\u00e9", "a" * 5000 + ".b", "\x00.\x00", ".", "", "abc", "!!!.???"],
)
def test_untrusted_token_text_is_a_401(token: str) -> None:
    with pytest.raises(UnauthorizedError):
        Signer([NEW]).verify("upload", token)


def test_a_signer_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Signer([])
