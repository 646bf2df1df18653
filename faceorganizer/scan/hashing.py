"""Content hashes: a photo's identity, so a moved or renamed file keeps its faces, names and edits."""

from __future__ import annotations

import hashlib

CHUNK = 1 << 20


def content_hash(path: str) -> str:
    """BLAKE2b-128 of the file's bytes (fast, and collisions are not a practical concern here)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()
