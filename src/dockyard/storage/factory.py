"""Choose the blob store from the storage URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from dockyard.storage.base import BlobStore
from dockyard.storage.local import LocalBlobStore


def open_blob_store(url: str) -> BlobStore:
    """``file:///path`` or ``s3://bucket[/prefix][?presign=false]``.

    For S3 the endpoint and credentials come from the standard AWS environment (``AWS_ENDPOINT_URL``,
    ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``); ``presign=false``
    streams downloads through Dockyard instead of redirecting clients to presigned URLs (for a
    bucket that clients cannot reach).
    """
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"Storage URL {url!r} names no bucket: expected s3://BUCKET[/PREFIX]")
        from dockyard.storage.s3 import S3BlobStore  # boto3 loads only when S3 is used
        from dockyard.storage.s3_io import make_client

        options = {name: values[-1] for name, values in parse_qs(parsed.query).items()}
        unknown = set(options) - {"presign"}
        if unknown:
            raise ValueError(f"Unknown option(s) {sorted(unknown)} in storage URL {url!r}")
        presign = options.get("presign", "true").lower() not in ("false", "0", "no", "off")
        return S3BlobStore(make_client(), parsed.netloc, unquote(parsed.path), presign=presign)
    raise ValueError(f"Unsupported storage URL {url!r}: expected file:// or s3://")
