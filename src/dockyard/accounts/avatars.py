"""Profile pictures: an uploaded image (sniffed by its magic bytes, never trusted by its name or
declared type), or a generated SVG made from the account name alone."""

from __future__ import annotations

import hashlib
from html import escape

from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.accounts.self_service_models import Avatar
from dockyard.audit.service import record
from dockyard.db.base import utcnow
from dockyard.errors import BadRequestError, PayloadTooLargeError

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image(data: bytes) -> str | None:
    """The image type the bytes really are (PNG, JPEG, GIF, WebP), or None."""
    for magic, content_type in _SIGNATURES:
        if data.startswith(magic):
            return content_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def set_avatar(session: Session, account: Account, data: bytes, *, max_bytes: int) -> str:
    """Store ``data`` as ``account``'s picture; its sniffed content type."""
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"The picture is too large: at most {max_bytes // 1024} KiB")
    content_type = sniff_image(data)
    if content_type is None:
        raise BadRequestError("The picture must be a PNG, JPEG, WebP or GIF image")
    row = session.get(Avatar, account.id)
    if row is None:
        session.add(Avatar(account_id=account.id, content_type=content_type, data=data))
    else:
        row.content_type, row.data, row.updated_at = content_type, data, utcnow()
    record(session, "avatar.changed", actor=account.name, target=account.name)
    return content_type


def remove_avatar(session: Session, account: Account) -> None:
    row = session.get(Avatar, account.id)
    if row is not None:
        session.delete(row)


def uploaded_avatar(session: Session, account: Account) -> Avatar | None:
    return session.get(Avatar, account.id)


def generated_avatar(name: str) -> str:
    """An SVG: the name's first letter on a colour derived from the name. The letter is escaped
    and the SVG has no script, link or reference to anything outside it."""
    digest = hashlib.sha256(name.lower().encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    letter = escape((name[:1] or "?").upper())
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">'
        f'<rect width="128" height="128" rx="24" fill="hsl({hue},55%,45%)"/>'
        '<text x="64" y="64" dy=".35em" text-anchor="middle" font-family="sans-serif" font-size="64" '
        f'font-weight="600" fill="#fff">{letter}</text></svg>'
    )
