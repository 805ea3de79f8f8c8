"""The digests of files already confirmed in the bucket, so that a rerun does not read them again.

A finished evidence file never changes. Once HEAD has confirmed a file's object (this size, this
SHA-256 and ETag, retention in force), its digest is kept in ``offload-digests.json`` in the
state directory with the file's identity: device, inode, size and modification time in
nanoseconds. A later run that finds the same identity takes the digest from there, and HEAD
alone decides whether anything is sent; a file whose identity changed is read again. Losing
the file costs one read of every file, nothing else: it is a cache, and nothing trusts it for
more than that (the bucket's HEAD still has to agree, and a file put back in place with other
bytes and a forged identity would reach the bucket only as a conflict, never over the original).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from recorder.evidence.state import write_json_atomic
from recorder.offload.digest import Digest
from recorder.offload.plan import Item

__all__ = ["DIGESTS", "Digests"]

DIGESTS = "offload-digests.json"
log = logging.getLogger("bodycam.offload")


def _identity(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


class Digests:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._known: dict[str, tuple[list[int], Digest]] = {}
        try:
            for key, (identity, sha256, etag) in json.loads(path.read_text()).items():
                strings = isinstance(sha256, str) and isinstance(etag, str)
                if strings and all(type(n) is int for n in identity):
                    self._known[str(key)] = (list(identity), Digest(sha256, etag))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, AttributeError) as e:
            log.warning("%s: unreadable, every file is read again: %r", path, e)
            self._known = {}

    def get(self, item: Item) -> Digest | None:
        """The digest of ``item``'s file if it was confirmed before and has not changed."""
        if item.path is None:
            return None
        with self._lock:
            known = self._known.get(item.key)
        if known is None or known[0] != _identity(item.path):
            return None
        return known[1]

    def confirmed(self, item: Item, digest: Digest) -> None:
        if item.path is None:
            return
        identity = _identity(item.path)
        if identity is not None:
            with self._lock:
                self._known[item.key] = (identity, digest)

    def save(self, keep: set[str]) -> None:
        """Write the digests of the keys in ``keep`` (those of files still on the camera)."""
        with self._lock:
            known = {k: [i, *d] for k, (i, d) in self._known.items() if k in keep}
        write_json_atomic(self.path, known)
