"""Storage buckets: non-versioned files referenced by Xet hash, owned by an account."""
