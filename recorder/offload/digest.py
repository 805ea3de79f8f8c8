"""What "the same bytes" means between the camera and the bucket: the SHA-256 of the whole file,
and the ETag the store computes from the bytes it holds.

The SHA-256 goes in the object's metadata, which is the uploader's word. The ETag is the store's
own: the MD5 of the body of a single PUT, or, for a multipart upload, the MD5 of the parts' MD5s
followed by ``-<number of parts>``. The camera computes both from its own file, in one read, and
an object counts as the file only when HEAD gives both back. So an object put there by someone
else with the right metadata, or bytes that changed between the camera's hash and its upload, are
never taken for the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

__all__ = ["Digest", "digest_of_bytes", "digest_of_file", "etag_of"]

CHUNK = 1 << 20


class Digest(NamedTuple):
    sha256: str
    etag: str


def etag_of(part_md5s: list[bytes]) -> str:
    """The ETag of an object made of parts with these MD5s (one part: a single PUT)."""
    if len(part_md5s) == 1:
        return part_md5s[0].hex()
    whole = hashlib.md5(b"".join(part_md5s), usedforsecurity=False).hexdigest()
    return f"{whole}-{len(part_md5s)}"


def digest_of_bytes(data: bytes, part_size: int) -> Digest:
    if len(data) <= part_size:
        parts = [data]
    else:
        parts = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    md5s = [hashlib.md5(p, usedforsecurity=False).digest() for p in parts]
    return Digest(hashlib.sha256(data).hexdigest(), etag_of(md5s))


def digest_of_file(path: Path, size: int, part_size: int) -> Digest:
    """Read ``size`` bytes of ``path`` once; raise OSError, or EOFError if it is shorter."""
    sha, md5s = hashlib.sha256(), []
    one_part = size <= part_size
    with path.open("rb") as f:
        left = size
        while True:
            part, want = hashlib.md5(usedforsecurity=False), min(left, part_size)
            got = 0
            while got < want and (chunk := f.read(min(want - got, CHUNK))):
                sha.update(chunk)
                part.update(chunk)
                got += len(chunk)
            if got < want:
                raise EOFError(f"{path} is shorter than {size} bytes")
            md5s.append(part.digest())
            left -= got
            if left == 0 or one_part:
                break
    return Digest(sha.hexdigest(), etag_of(md5s))
