"""Section 7: record framing, the running chain, and the bytes each record signature covers."""

from __future__ import annotations

import hashlib
import struct
from enum import IntEnum

__all__ = [
    "MAX_RECORD",
    "RECORD_HEAD",
    "RecordType",
    "next_chain",
    "record_head",
    "record_signed",
]

MAX_RECORD = 64 * 1024 * 1024
RECORD_HEAD = struct.Struct(">IBI")  # body_len, type, index
_RECORD_CONTEXT = b"bodycam/v1 record\0"
_TYPE_INDEX = struct.Struct(">BI")
_INDEX_TYPE = struct.Struct(">IB")


class RecordType(IntEnum):
    DATA = 1
    FINAL = 2


def record_head(body_len: int, rtype: RecordType, index: int) -> bytes:
    return RECORD_HEAD.pack(body_len, rtype, index)


def next_chain(chain: bytes, rtype: int, index: int, ciphertext: bytes | memoryview) -> bytes:
    """``chain_(i+1) = SHA-256(chain_i || u8(type) || u32(i) || ciphertext_i)``."""
    h = hashlib.sha256(chain)
    h.update(_TYPE_INDEX.pack(rtype, index))
    h.update(ciphertext)
    return h.digest()


def record_signed(segment_id: bytes, index: int, rtype: int, chain: bytes) -> bytes:
    """The bytes a record signature covers. The writer and the reader both call this."""
    return _RECORD_CONTEXT + segment_id + _INDEX_TYPE.pack(index, rtype) + chain
