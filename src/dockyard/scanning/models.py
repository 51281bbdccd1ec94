"""Scan results, keyed by content so that identical bytes are scanned once for the whole hub.

The key is ``sha256:<oid>`` for large files (LFS or Xet, the same sha256 either way) and
``git:<blob sha1>`` for regular git blobs. A row is reused while its scanner and version are current;
bumping a scanner's version makes its old rows due for a rescan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UTCDateTime, utcnow
from dockyard.scanning.results import STATUSES


class ContentScan(Base):
    __tablename__ = "content_scans"
    __table_args__ = (CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status"),)

    content_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    # [{"module", "name", "safety"}], most concerning first; empty for files that hold no pickle.
    imports: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    scanner: Mapped[str] = mapped_column(String(64))
    scanner_version: Mapped[str] = mapped_column(String(64))
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=utcnow)
