"""Section 11, one file at a time: check a file's header and records, and decrypt what verifies.

:class:`FileReader` walks a file once. It yields each record only after its index, type, chain and
signature have verified, and when the walk ends its :attr:`FileReader.outcome` holds the file's
verdict. Checking and decrypting share this one walk, so a record is never decrypted before it has
verified (reader MUST 8).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from recorder.evidence.errors import DecryptError, FormatError
from recorder.evidence.header import (
    DEVICE_KEY_ID_OFFSET,
    MAX_BODY,
    SIG_LEN,
    VERSION,
    Header,
    Kind,
    header_hash,
    header_prefix,
    header_signed,
    parse_body,
)
from recorder.evidence.keys import format_key_id as _fp
from recorder.evidence.keys import key_id, raw_public
from recorder.evidence.recipients import unwrap
from recorder.evidence.records import (
    MAX_RECORD,
    RECORD_HEAD,
    RecordType,
    next_chain,
    record_signed,
)
from recorder.evidence.stream import PayloadCipher

__all__ = ["FileReader", "Outcome", "Verdict", "check_file", "decrypt_file"]

_READ_BUFFER = 1 << 20


class Verdict(StrEnum):
    """The closed set of verdicts (spec section 11), from best to worst."""

    OK = "OK"
    INCOMPLETE = "INCOMPLETE"
    MISSING = "MISSING"
    TAMPERED = "TAMPERED"
    FOREIGN = "FOREIGN"
    MALFORMED = "MALFORMED"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {v: i for i, v in enumerate(Verdict)}


@dataclass
class Outcome:
    """What one walk over one file established."""

    verdict: Verdict = Verdict.OK
    reason: str = ""
    header: Header | None = None
    valid: int = 0
    """Records that verified, FINAL included."""
    started: int = 0
    """Records present at least in part: ``valid`` plus a torn or failing one."""
    final: bool = False
    chains: list[bytes] = field(default_factory=list)
    """``chains[n]`` is the chain value after n valid records; ``chains[0]`` is the header hash."""
    summary: dict[str, Any] | None = None
    """The FINAL record's summary, when it is readable (audit logs, or after decryption)."""

    @property
    def chain(self) -> bytes:
        return self.chains[-1] if self.chains else bytes(32)


@dataclass(frozen=True, slots=True)
class VerifiedRecord:
    index: int
    type: RecordType
    body: bytes


class FileReader:
    """Walk one evidence file, verifying as it goes. Iterate :meth:`records`, then read
    :attr:`outcome`."""

    def __init__(self, f: BinaryIO, device_pub: Ed25519PublicKey) -> None:
        self._f = f
        self._pub = device_pub
        self._key_id = key_id(raw_public(device_pub))
        self.outcome = Outcome()

    def _fail(self, verdict: Verdict, reason: str) -> None:
        self.outcome.verdict, self.outcome.reason = verdict, reason

    def _read_header(self) -> Header | None:
        o = self.outcome
        version = self._f.read(len(VERSION))
        if version != VERSION:
            if len(version) < len(VERSION) and VERSION.startswith(version):
                self._fail(Verdict.INCOMPLETE, f"header torn after {len(version)} bytes")
            elif version.startswith(b"bodycam/"):
                shown = version.split(b"\n")[0].decode("ascii", "replace")
                self._fail(Verdict.MALFORMED, f"unknown version {shown!r}; only bodycam/v1")
            else:
                self._fail(Verdict.MALFORMED, "not a bodycam evidence file")
            return None
        raw_len = self._f.read(4)
        if len(raw_len) < 4:
            self._fail(Verdict.INCOMPLETE, "header torn in its length")
            return None
        body_len = int.from_bytes(raw_len, "big")
        if body_len > MAX_BODY:
            self._fail(Verdict.MALFORMED, f"header length {body_len} exceeds {MAX_BODY}")
            return None
        body = self._f.read(body_len)
        sig = self._f.read(SIG_LEN)
        if len(body) < body_len or len(sig) < SIG_LEN:
            self._fail(Verdict.INCOMPLETE, "header torn before its signature")
            return None
        prefix = header_prefix(body)
        try:
            self._pub.verify(sig, header_signed(prefix))
        except InvalidSignature:
            claimed = body[DEVICE_KEY_ID_OFFSET : DEVICE_KEY_ID_OFFSET + 8]
            if len(claimed) == 8 and claimed != self._key_id:
                self._fail(
                    Verdict.FOREIGN,
                    f"signed by device key {_fp(claimed)}, not {_fp(self._key_id)}",
                )
            else:
                self._fail(Verdict.TAMPERED, "header signature does not verify")
            return None
        try:
            header = parse_body(body)
        except FormatError as e:
            self._fail(Verdict.MALFORMED, f"header: {e}")
            return None
        o.header = header
        o.chains.append(header_hash(prefix, sig))
        return header

    def _rest_is_zero(self, first: bytes) -> bool:
        if first.strip(b"\0"):
            return False
        while chunk := self._f.read(_READ_BUFFER):
            if chunk.strip(b"\0"):
                return False
        return True

    def records(self) -> Iterator[VerifiedRecord]:
        """Yield each record once it has verified; set :attr:`outcome` when done."""
        o = self.outcome
        header = self._read_header()
        if header is None:
            return
        f, index = self._f, 0
        while True:
            head = f.read(RECORD_HEAD.size)
            if not head:
                break
            if o.final:
                second = len(head) == RECORD_HEAD.size and head[4] == RecordType.FINAL
                extra = len(head) + len(f.read())
                what = "a second FINAL record" if second else f"{extra} bytes"
                self._fail(Verdict.TAMPERED, f"{what} after the FINAL record")
                return
            o.started += 1
            if len(head) < RECORD_HEAD.size:
                self._torn(index, "torn in its head")
                return
            body_len, rtype, rindex = RECORD_HEAD.unpack(head)
            if body_len > MAX_RECORD:
                if self._rest_is_zero(head):
                    self._torn(index, "zero-filled")
                else:
                    self._fail(Verdict.TAMPERED, f"record {index}: length {body_len} too large")
                return
            body = f.read(body_len)
            sig = f.read(SIG_LEN)
            if len(body) < body_len or len(sig) < SIG_LEN:
                self._torn(index, "cut short")
                return
            if rtype not in (RecordType.DATA, RecordType.FINAL) or rindex != index:
                if self._rest_is_zero(head + body + sig):
                    self._torn(index, "zero-filled")
                elif rtype not in (RecordType.DATA, RecordType.FINAL):
                    self._fail(Verdict.TAMPERED, f"record {index}: unknown type {rtype}")
                else:
                    self._fail(Verdict.TAMPERED, f"record {index}: index {rindex} out of order")
                return
            chain = next_chain(o.chain, rtype, index, body)
            try:
                self._pub.verify(sig, record_signed(header.segment_id, index, rtype, chain))
            except InvalidSignature:
                self._fail(Verdict.TAMPERED, f"record {index}: signature does not verify")
                return
            o.chains.append(chain)
            o.valid = index + 1
            rt = RecordType(rtype)
            if rt is RecordType.FINAL:
                o.final = True
                if header.kind is Kind.AUDIT:
                    self.check_summary(body)
                    if o.verdict is not Verdict.OK:
                        return
            yield VerifiedRecord(index, rt, body)
            index += 1
        if not o.final:
            self._fail(
                Verdict.INCOMPLETE,
                f"power cut: {o.valid} of {o.started} records valid, no FINAL record",
            )

    def _torn(self, index: int, how: str) -> None:
        self._fail(
            Verdict.INCOMPLETE,
            f"power cut: {self.outcome.valid} of {self.outcome.started} records valid, "
            f"record {index} {how}",
        )

    def check_summary(self, plaintext: bytes) -> None:
        """Parse a FINAL summary; it must count the records that are there (MUST 8)."""
        o = self.outcome
        try:
            summary = json.loads(plaintext.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._fail(Verdict.MALFORMED, "FINAL summary is not UTF-8 JSON")
            return
        if not isinstance(summary, dict) or summary.get("records") != o.valid:
            got = summary.get("records") if isinstance(summary, dict) else None
            self._fail(Verdict.TAMPERED, f"FINAL summary counts {got} records, file has {o.valid}")
            return
        o.summary = summary


def check_file(path: Path, device_pub: Ed25519PublicKey) -> Outcome:
    """Verify one file without decrypting it; needs only the device public key."""
    with path.open("rb", buffering=_READ_BUFFER) as f:
        reader = FileReader(f, device_pub)
        for _ in reader.records():
            pass
    return reader.outcome


def decrypt_file(
    f: BinaryIO, device_pub: Ed25519PublicKey, identity: X25519PrivateKey
) -> tuple[FileReader, Iterator[bytes]]:
    """Verify and decrypt a media file, yielding the plaintext of each valid DATA record.

    Raises NoRecipientError (before any record) when no stanza matches ``identity``, and
    DecryptError when a verified record does not open, which means the device key signed
    ciphertext it did not make: the reader's outcome is then TAMPERED too.
    """
    reader = FileReader(f, device_pub)
    records = reader.records()

    def plaintexts() -> Iterator[bytes]:
        cipher: PayloadCipher | None = None
        for rec in records:
            if cipher is None:
                h = reader.outcome.header
                assert h is not None
                if h.kind is not Kind.MEDIA:
                    raise DecryptError("not a media segment")
                file_key = unwrap(h.recipients, identity, h.segment_id)
                cipher = PayloadCipher(h.suite, file_key, h.segment_id, reader.outcome.chains[0])
            try:
                pt = cipher.open(rec.index, rec.type, rec.body)
            except DecryptError as e:
                reader._fail(Verdict.TAMPERED, str(e))
                raise
            if rec.type is RecordType.FINAL:
                reader.check_summary(pt)
            else:
                yield pt

    return reader, plaintexts()


def read_bytes(data: bytes, device_pub: Ed25519PublicKey) -> Outcome:
    """Verify an in-memory file (test vectors, fuzzing)."""
    reader = FileReader(io.BytesIO(data), device_pub)
    for _ in reader.records():
        pass
    return reader.outcome
