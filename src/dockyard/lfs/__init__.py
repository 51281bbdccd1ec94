"""Git LFS: pointer files, the batch API, basic and multipart uploads, verification."""
