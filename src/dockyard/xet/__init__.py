"""Xet protocol primitives (hashing, chunking, xorbs, shards, reconstructions) as a pure library.

No HTTP, no database: the CAS endpoints import these modules to validate what clients upload and
to build what they download. See README.md in this folder for the module map and for where the real
client (hf_xet 1.8) differs from the published specification.
"""
