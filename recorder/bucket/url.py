"""The ``s3://`` URL that names a camera's evidence in a bucket.

Grammar::

    s3://BUCKET[/PREFIX][/KEY_ID][/]

- BUCKET: 3 to 63 of ``a-z 0-9 . -``, beginning and ending with a letter or digit, no ``..``
  (the rules every S3 store applies to a new bucket's name);
- PREFIX: ``/``-separated parts of printable characters (no control characters), none empty,
  ``.`` or ``..``, 900 bytes in all at most: where the evidence was copied to within the bucket
  (offload writes at its root);
- KEY_ID: 16 hex digits, the device's key id (the first 8 bytes of SHA-256 over its public key,
  as offload names its keys). Without it, the key id of ``--device-pub`` is used.

No user, port, query or fragment. Anything else is a BadURL whose message says what is wrong and
what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recorder.evidence.errors import EvidenceError

__all__ = ["SCHEME", "BadURL", "BucketURL", "parse_url"]

SCHEME = "s3://"
GRAMMAR = "s3://BUCKET[/PREFIX][/KEY_ID]"
MAX_PREFIX = 900
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_KEY_ID = re.compile(r"[0-9a-fA-F]{16}")
_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")


class BadURL(EvidenceError):
    """An ``s3://`` URL that does not follow the grammar: a bad command line."""

    exit_code = 2


@dataclass(frozen=True)
class BucketURL:
    bucket: str
    prefix: str
    """"" or parts ending with "/": where the key ids are."""
    key_id: str | None
    """16 lowercase hex digits, or None: the device key's own."""

    def at(self, key_id: str) -> str:
        """The key prefix of a device's evidence: ``PREFIX/KEY_ID/``."""
        return f"{self.prefix}{key_id}/"

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}{self.key_id or ''}".rstrip("/")


def _bad(url: str, why: str) -> BadURL:
    shown = url if url.isprintable() and len(url) <= 200 else repr(url[:200])
    return BadURL(f"{shown}: {why} (expected {GRAMMAR})")


def parse_url(url: str) -> BucketURL:
    """Parse an ``s3://`` URL, or raise BadURL saying what is wrong."""
    if not url.startswith(SCHEME):
        raise _bad(url, "not an s3:// URL")
    rest = url[len(SCHEME) :]
    if any(c in rest for c in "?#"):
        raise _bad(url, "an s3:// URL takes no query or fragment ('?', '#')")
    bucket, _, path = rest.partition("/")
    if not bucket:
        raise _bad(url, "no bucket name")
    if "@" in bucket or ":" in bucket:
        raise _bad(url, "no user or port in an s3:// URL: give the store with --endpoint")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket or _IPV4.fullmatch(bucket):
        raise _bad(
            url,
            f"bucket name {bucket!r}: 3 to 63 lowercase letters, digits, '.' and '-', beginning "
            "and ending with a letter or digit, no '..', not an IP address",
        )
    parts = path.split("/")
    if parts and parts[-1] == "":
        parts.pop()  # one trailing slash
    for part in parts:
        if part in ("", ".", ".."):
            raise _bad(url, f"empty, '.' or '..' part in the key prefix {path!r}")
        if not part.isprintable():
            raise _bad(url, f"the key prefix {path!r} holds a control character")
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PREFIX:
        raise _bad(url, f"the key prefix is longer than {MAX_PREFIX} bytes (a key is 1024 at most)")
    key_id = None
    if parts and _KEY_ID.fullmatch(parts[-1]):
        key_id = parts.pop().lower()
    prefix = "".join(f"{p}/" for p in parts)
    return BucketURL(bucket, prefix, key_id)
