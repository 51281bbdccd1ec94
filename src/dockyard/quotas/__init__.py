"""Storage quotas per namespace: what a namespace stores (repos' LFS/Xet bytes and its buckets'
bytes) against the limit an administrator set for it."""
