"""Section 14: the camera's checkpoints (C2SP tlog-checkpoint) and the leaves of its tree.

A checkpoint is a signed note (``note``) whose text is three lines: the origin, which names the
device by its key id, the tree size in decimal, and the RFC 6962 root hash in base64::

    bodycam/device/3f2a9c0177d0e4b5
    42
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

A leaf is one finished evidence file, either stream: its identity and its final chain value,
which the file's last signature covers (:func:`leaf_data`).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass

from recorder.evidence.header import Kind
from recorder.evidence.keys import key_id
from recorder.evidence.merkle import HASH_SIZE, leaf_hash
from recorder.evidence.note import NoteError

__all__ = ["LEAF_SIZE", "Checkpoint", "Leaf", "device_origin", "file_leaf", "leaf_data"]

_LEAF = struct.Struct(">B Q 16s I 32s")
LEAF_SIZE = _LEAF.size
"""61 bytes: the size of :func:`leaf_data`."""
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


def device_origin(raw_device_pub: bytes) -> str:
    """The origin line of a device's log: ``bodycam/device/`` and its key id in hex."""
    return f"bodycam/device/{key_id(raw_device_pub).hex()}"


def leaf_data(kind: Kind, seq: int, segment_id: bytes, records: int, chain: bytes) -> bytes:
    """``kind u8 || seq u64 || segment_id [16] || records u32 || chain [32]``: a finished file,
    as its successor's link names it (spec section 4): closed with its totals, or torn with its
    last valid record."""
    return _LEAF.pack(kind.value, seq, segment_id, records, chain)


def file_leaf(kind: Kind, seq: int, segment_id: bytes, records: int, chain: bytes) -> bytes:
    """The leaf *hash* of a finished file."""
    return leaf_hash(leaf_data(kind, seq, segment_id, records, chain))


@dataclass(frozen=True)
class Leaf:
    """A finished file as a leaf names it."""

    kind: Kind
    seq: int
    segment_id: bytes
    records: int
    chain: bytes

    @classmethod
    def decode(cls, data: bytes) -> Leaf:
        """Parse :func:`leaf_data`; raise ValueError naming what is wrong."""
        if len(data) != LEAF_SIZE:
            raise ValueError(f"a leaf is {LEAF_SIZE} bytes, not {len(data)}")
        kind, seq, segment_id, records, chain = _LEAF.unpack(data)
        try:
            k = Kind(kind)
        except ValueError:
            raise ValueError(f"a leaf's kind is 1 (media) or 2 (audit), not {kind}") from None
        return cls(k, seq, segment_id, records, chain)

    def encode(self) -> bytes:
        return leaf_data(self.kind, self.seq, self.segment_id, self.records, self.chain)

    def hash(self) -> bytes:
        return leaf_hash(self.encode())


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text; raise NoteError naming what is wrong. Extension
        lines are refused: this log writes none, and nobody could audit them."""
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise NoteError("a checkpoint is three lines: origin, size, root hash")
        origin, size, root = lines[:3]
        if not origin or any(c.isspace() for c in origin):
            raise NoteError(f"a checkpoint origin is non-empty with no spaces: {origin!r}")
        if not _SIZE.fullmatch(size) or int(size) >= 2**63:
            raise NoteError(f"a tree size is decimal with no leading zero: {size[:30]!r}")
        try:
            raw = base64.b64decode(root, validate=True)
        except binascii.Error:
            raw = b""
        if len(raw) != HASH_SIZE or base64.b64encode(raw).decode() != root:
            raise NoteError(f"a root hash is {HASH_SIZE} bytes in base64: {root[:60]!r}")
        return cls(origin, int(size), raw)
