"""Content-addressed blob storage behind one narrow interface (local disk, S3-compatible)."""
