"""Section 4: the file header, its links, and the bytes its signature covers.

This module is grammar only: it turns a :class:`Header` into bytes and back, and produces the
signed bytes and the header hash. It never touches keys or files.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from recorder.evidence.errors import FormatError
from recorder.evidence.jsonobj import loads_object

__all__ = [
    "MAX_BODY",
    "MAX_META",
    "MAX_RECIPIENTS",
    "SIG_LEN",
    "VERSION",
    "Header",
    "Kind",
    "Link",
    "LinkState",
    "Stanza",
    "Suite",
    "header_hash",
    "header_prefix",
    "header_signed",
    "parse_body",
]

VERSION = b"bodycam/v1\n"
MAX_BODY = 65536
MAX_META = 16384
MAX_RECIPIENTS = 16
SIG_LEN = 64
KEY_ID_LEN = 8
SEGMENT_ID_LEN = 16

_HEADER_CONTEXT = b"bodycam/v1 header\0"
_BODY_LEN = struct.Struct(">I")
_FIXED = struct.Struct(">BB8s16sQ")  # kind, suite, device_key_id, segment_id, seq
_LINK = struct.Struct(">BQ16sI32s")  # state, seq, segment_id, records, chain
_STANZA_HEAD = struct.Struct(">8sH")  # recipient key id, wrapped length
_META_LEN = struct.Struct(">I")

# Offset of device_key_id inside the body: a reader peeks at it to tell FOREIGN from TAMPERED.
DEVICE_KEY_ID_OFFSET = 2


class Kind(IntEnum):
    MEDIA = 1
    AUDIT = 2


class Suite(IntEnum):
    NONE = 0
    AES_256_GCM = 1
    CHACHA20_POLY1305 = 2


class LinkState(IntEnum):
    NONE = 0
    CLOSED = 1
    TORN = 2


@dataclass(frozen=True, slots=True)
class Link:
    """Names a file's predecessor in its stream (spec section 4, "link")."""

    state: LinkState
    seq: int = 0
    segment_id: bytes = bytes(16)
    records: int = 0
    chain: bytes = bytes(32)

    @classmethod
    def none(cls) -> Link:
        return cls(LinkState.NONE)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state.name,
            "seq": self.seq,
            "segment_id": self.segment_id.hex(),
            "records": self.records,
            "chain": self.chain.hex(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Link:
        return cls(
            LinkState[d["state"]],
            int(d["seq"]),
            bytes.fromhex(d["segment_id"]),
            int(d["records"]),
            bytes.fromhex(d["chain"]),
        )


@dataclass(frozen=True, slots=True)
class Stanza:
    """One recipient stanza (spec section 6): a file key wrapped to one agency key."""

    key_id: bytes
    wrapped: bytes


@dataclass(frozen=True)
class Header:
    kind: Kind
    suite: Suite
    device_key_id: bytes
    segment_id: bytes
    seq: int
    prev: Link
    recipients: tuple[Stanza, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def encode_body(self) -> bytes:
        meta = json.dumps(self.meta, sort_keys=True, separators=(",", ":")).encode()
        if len(meta) > MAX_META:
            raise FormatError(f"meta is {len(meta)} bytes; at most {MAX_META} allowed")
        if len(self.recipients) > MAX_RECIPIENTS:
            raise FormatError(f"{len(self.recipients)} recipients; at most {MAX_RECIPIENTS}")
        p = self.prev
        parts = [
            _FIXED.pack(self.kind, self.suite, self.device_key_id, self.segment_id, self.seq),
            _LINK.pack(p.state, p.seq, p.segment_id, p.records, p.chain),
            bytes([len(self.recipients)]),
        ]
        for s in self.recipients:
            parts += [_STANZA_HEAD.pack(s.key_id, len(s.wrapped)), s.wrapped]
        parts += [_META_LEN.pack(len(meta)), meta]
        return b"".join(parts)


def header_prefix(body: bytes) -> bytes:
    """``version || body_len || body``: the header as stored, up to its signature."""
    return VERSION + _BODY_LEN.pack(len(body)) + body


def header_signed(prefix: bytes) -> bytes:
    """The bytes the header signature covers. The writer and the reader both call this."""
    return _HEADER_CONTEXT + prefix


def header_hash(prefix: bytes, signature: bytes) -> bytes:
    """``header_hash = SHA-256(version || body_len || body || header_sig)``: chain_0 and AAD."""
    return hashlib.sha256(prefix + signature).digest()


def _take(body: bytes, pos: int, n: int, what: str) -> int:
    if pos + n > len(body):
        raise FormatError(f"header body ends inside {what} (byte {pos} of {len(body)})")
    return pos + n


def parse_body(body: bytes) -> Header:
    """Parse a header body; raise FormatError naming the field that is wrong."""
    pos = _take(body, 0, _FIXED.size, "the fixed fields")
    kind_b, suite_b, dev_id, seg_id, seq = _FIXED.unpack_from(body, 0)
    try:
        kind = Kind(kind_b)
    except ValueError:
        raise FormatError(f"unknown kind {kind_b}; 1 (media) or 2 (audit) allowed") from None
    try:
        suite = Suite(suite_b)
    except ValueError:
        raise FormatError(f"unknown suite {suite_b}; 0, 1 or 2 allowed") from None
    if (kind is Kind.AUDIT) != (suite is Suite.NONE):
        raise FormatError(f"suite {suite.name} is not allowed for a {kind.name.lower()} file")
    start = pos
    pos = _take(body, pos, _LINK.size, "the prev link")
    st, pseq, pid, precords, pchain = _LINK.unpack_from(body, start)
    try:
        state = LinkState(st)
    except ValueError:
        raise FormatError(f"unknown link state {st}; 0, 1 or 2 allowed") from None
    if seq == 0 or (state is LinkState.NONE) != (seq == 1) or (state and pseq != seq - 1):
        raise FormatError(f"seq {seq} does not fit its prev link ({state.name}, seq {pseq})")
    start = pos
    pos = _take(body, pos, 1, "the recipient count")
    n = body[start]
    if n > MAX_RECIPIENTS or (kind is Kind.MEDIA) != (n > 0):
        raise FormatError(f"{n} recipients is not allowed for a {kind.name.lower()} file")
    stanzas = []
    for i in range(n):
        start = pos
        pos = _take(body, pos, _STANZA_HEAD.size, f"recipient {i}")
        kid, wlen = _STANZA_HEAD.unpack_from(body, start)
        start = pos
        pos = _take(body, pos, wlen, f"recipient {i}'s wrapped key")
        stanzas.append(Stanza(kid, body[start:pos]))
    start = pos
    pos = _take(body, pos, _META_LEN.size, "the meta length")
    (mlen,) = _META_LEN.unpack_from(body, start)
    if mlen > MAX_META:
        raise FormatError(f"meta length {mlen} exceeds {MAX_META}")
    start = pos
    pos = _take(body, pos, mlen, "the meta")
    if pos != len(body):
        raise FormatError(f"{len(body) - pos} unexpected bytes after the meta")
    meta = loads_object(body[start:pos], "meta")
    return Header(
        kind,
        suite,
        dev_id,
        seg_id,
        seq,
        Link(state, pseq, pid, precords, pchain),
        tuple(stanzas),
        meta,
    )
