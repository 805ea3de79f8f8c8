"""Section 11, one file at a time: check a file's header and records, and decrypt what verifies.

:class:`FileReader` walks a file once. It yields each record only after its index, type, chain and
signature have verified, and when the walk ends its :attr:`FileReader.outcome` holds the file's
verdict. Checking and decrypting share this one walk, so a record is never decrypted before it has
verified (reader MUST 8).

Given the agency key, the walk also checks what only that key can see: each media record opens,
its plaintext follows the media framing (section 9), and the FINAL summary counts the records
(MUST 8). ``bodycam verify --agency-key`` and ``bodycam export`` both check this way, so both
reach the same verdict. Without the key, a media file's contents are not looked at.

The walk stops at the first record that cannot be valid and reads nothing after it (MUST 6), so
a file padded with gigabytes of zeros costs no more than its valid records.
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

from recorder.evidence.errors import DecryptError, EvidenceError, FormatError, NoRecipientError
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
from recorder.evidence.jsonobj import loads_object
from recorder.evidence.keys import format_key_id as _fp
from recorder.evidence.keys import key_id, raw_public
from recorder.evidence.media import FramingError, check_frames
from recorder.evidence.recipients import unwrap
from recorder.evidence.records import (
    MAX_RECORD,
    RECORD_HEAD,
    RecordType,
    next_chain,
    record_signed,
)
from recorder.evidence.stream import PayloadCipher

__all__ = ["FileReader", "Outcome", "Verdict", "check_file", "decrypt_file", "read_bytes"]

_READ_BUFFER = 1 << 20


class Verdict(StrEnum):
    """The verdicts of a report, from best to worst.

    All but UNREADABLE are the closed set of spec section 11, a judgement on a file's bytes.
    UNREADABLE is the reading's, not the format's: the file could not be opened or read (a
    permission or I/O error), so nothing is known of its bytes.
    """

    OK = "OK"
    INCOMPLETE = "INCOMPLETE"
    UNREADABLE = "UNREADABLE"
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
    """The FINAL record's summary, when it is readable (audit logs, or with the agency key)."""

    @property
    def chain(self) -> bytes:
        return self.chains[-1] if self.chains else bytes(32)


@dataclass(frozen=True, slots=True)
class VerifiedRecord:
    index: int
    type: RecordType
    body: bytes
    plaintext: bytes | None = None
    """The body decrypted (media, with the agency key) or as is (audit); else None."""


class FileReader:
    """Walk one evidence file, verifying as it goes. Iterate :meth:`records`, then read
    :attr:`outcome`. With ``identity`` (the agency key), media records are decrypted and their
    contents checked too."""

    def __init__(
        self,
        f: BinaryIO,
        device_pub: Ed25519PublicKey,
        identity: X25519PrivateKey | None = None,
    ) -> None:
        self._f = f
        self._pub = device_pub
        self._key_id = key_id(raw_public(device_pub))
        self._identity = identity
        self._cipher: PayloadCipher | None = None
        self._pos = 0
        self.outcome = Outcome()
        self.no_recipient: NoRecipientError | None = None
        """Set when an agency key was given but the file has no stanza for it."""
        self.content_error: EvidenceError | None = None
        """Why a verified record's contents failed (it no longer opens, or is not media framing)."""

    def _fail(self, verdict: Verdict, reason: str) -> None:
        self.outcome.verdict, self.outcome.reason = verdict, reason

    def _read(self, n: int) -> bytes:
        data = self._f.read(n)
        self._pos += len(data)
        return data

    def _read_header(self) -> Header | None:
        o = self.outcome
        version = self._read(len(VERSION))
        if version != VERSION:
            if not version:
                self._fail(Verdict.INCOMPLETE, "empty file: no header")
            elif len(version) < len(VERSION) and VERSION.startswith(version):
                self._fail(Verdict.INCOMPLETE, f"header torn after {len(version)} bytes")
            elif version.startswith(b"bodycam/"):
                shown = version.split(b"\n")[0].decode("ascii", "replace")
                self._fail(Verdict.MALFORMED, f"unknown version {shown!r}; only bodycam/v1")
            else:
                self._fail(Verdict.MALFORMED, "not a bodycam evidence file")
            return None
        raw_len = self._read(4)
        if len(raw_len) < 4:
            self._fail(Verdict.INCOMPLETE, "header torn in its length")
            return None
        body_len = int.from_bytes(raw_len, "big")
        if body_len > MAX_BODY:
            self._fail(Verdict.MALFORMED, f"header length {body_len} exceeds {MAX_BODY}")
            return None
        body = self._read(body_len)
        sig = self._read(SIG_LEN)
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

    def _open_contents(self, header: Header) -> None:
        """With the agency key, unwrap a media file's key so its records can be checked."""
        if self._identity is None or header.kind is not Kind.MEDIA:
            return
        try:
            file_key = unwrap(header.recipients, self._identity, header.segment_id)
        except NoRecipientError as e:
            self.no_recipient = e
            return
        except DecryptError as e:
            self.content_error = e
            self._fail(Verdict.TAMPERED, str(e))
            return
        self._cipher = PayloadCipher(header.suite, file_key, header.segment_id, self.outcome.chain)

    def records(self) -> Iterator[VerifiedRecord]:
        """Yield each record once it has verified; set :attr:`outcome` when done."""
        o = self.outcome
        header = self._read_header()
        if header is None:
            return
        self._open_contents(header)
        index = 0
        while o.verdict is Verdict.OK:
            at = self._pos
            head = self._read(RECORD_HEAD.size)
            if not head:
                break
            if o.final:
                self._after_final(head)
                return
            o.started += 1
            # Torn (a power cut): the head cut short or zero-filled, or the body cut short.
            # Anything else that cannot be valid is TAMPERED, found before its body is read.
            if not head.strip(b"\0"):
                self._torn(index, f"zero-filled from byte {at}")
                return
            if len(head) < RECORD_HEAD.size:
                self._torn(index, "torn in its head")
                return
            body_len, rtype, rindex = RECORD_HEAD.unpack(head)
            if body_len > MAX_RECORD:
                self._fail(Verdict.TAMPERED, f"record {index}: length {body_len} too large")
                return
            if rtype not in (RecordType.DATA, RecordType.FINAL):
                self._fail(Verdict.TAMPERED, f"record {index}: unknown type {rtype}")
                return
            if rindex != index:
                self._fail(Verdict.TAMPERED, f"record {index}: index {rindex} out of order")
                return
            body = self._read(body_len)
            sig = self._read(SIG_LEN)
            if len(body) < body_len or len(sig) < SIG_LEN:
                self._torn(index, "cut short")
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
            o.final = rt is RecordType.FINAL
            plaintext = self._contents(header, index, rt, body)
            if o.verdict is not Verdict.OK:
                return
            yield VerifiedRecord(index, rt, body, plaintext)
            index += 1
        if not o.final and o.verdict is Verdict.OK:
            self._fail(
                Verdict.INCOMPLETE,
                f"power cut: {o.valid} of {o.started} records valid, no FINAL record",
            )

    def _contents(self, header: Header, index: int, rtype: RecordType, body: bytes) -> bytes | None:
        """The plaintext of a verified record, checked as far as the keys at hand allow."""
        if header.kind is Kind.AUDIT:
            plaintext: bytes | None = body
        elif self._cipher is None:
            return None
        else:
            try:
                plaintext = self._cipher.open(index, rtype, body)
            except DecryptError as e:
                self.content_error = e
                self._fail(Verdict.TAMPERED, str(e))
                return None
            if rtype is RecordType.DATA:
                try:
                    check_frames(plaintext)
                except FramingError as e:
                    self.content_error = FormatError(f"record {index}: {e}")
                    self._fail(Verdict.MALFORMED, str(self.content_error))
                    return None
        if rtype is RecordType.FINAL:
            self._check_summary(plaintext)
        return plaintext

    def _after_final(self, head: bytes) -> None:
        """Bytes after the FINAL record: TAMPERED, counted without reading them (MUST 6)."""
        second = len(head) == RECORD_HEAD.size and head[4] == RecordType.FINAL
        what = "a second FINAL record"
        if not second:
            try:
                end = self._f.seek(0, io.SEEK_END)
                what = f"{end - self._pos + len(head)} bytes"
            except (OSError, ValueError):
                what = "bytes"
        self._fail(Verdict.TAMPERED, f"{what} after the FINAL record")

    def _torn(self, index: int, how: str) -> None:
        self._fail(
            Verdict.INCOMPLETE,
            f"power cut: {self.outcome.valid} of {self.outcome.started} records valid, "
            f"record {index} {how}",
        )

    def _check_summary(self, plaintext: bytes | None) -> None:
        """Parse a FINAL summary; it must count the records that are there (MUST 8)."""
        o = self.outcome
        try:
            summary = loads_object(plaintext or b"", "FINAL summary")
        except FormatError as e:
            self._fail(Verdict.MALFORMED, str(e))
            return
        got = summary.get("records")
        if type(got) is not int or got != o.valid:
            shown = got if type(got) is int else json.dumps(got)[:40]
            why = f"FINAL summary counts {shown} records, file has {o.valid}"
            self._fail(Verdict.TAMPERED, why)
            return
        o.summary = summary


def walk(reader: FileReader) -> Outcome:
    """Run a reader to the end of its file; return its outcome."""
    for _ in reader.records():
        pass
    return reader.outcome


def check_file(path: Path, device_pub: Ed25519PublicKey) -> Outcome:
    """Verify one file without decrypting it; needs only the device public key."""
    with path.open("rb", buffering=_READ_BUFFER) as f:
        return walk(FileReader(f, device_pub))


def decrypt_file(
    f: BinaryIO, device_pub: Ed25519PublicKey, identity: X25519PrivateKey
) -> tuple[FileReader, Iterator[bytes]]:
    """Verify and decrypt a media file, yielding the plaintext of each valid DATA record.

    Raises NoRecipientError (before any record) when no stanza matches ``identity``. After the
    last good record it raises the reader's :attr:`FileReader.content_error`: a DecryptError when
    a verified record does not open (the device key signed ciphertext it did not make), a
    FormatError when its plaintext is not media framing. The reader's outcome says the same
    (TAMPERED or MALFORMED). A FINAL summary that miscounts only sets the outcome.
    """
    reader = FileReader(f, device_pub, identity)

    def plaintexts() -> Iterator[bytes]:
        for rec in reader.records():
            h = reader.outcome.header
            if h is not None and h.kind is not Kind.MEDIA:
                raise DecryptError("not a media segment")
            if reader.no_recipient is not None:
                raise reader.no_recipient
            if rec.type is RecordType.DATA and rec.plaintext is not None:
                yield rec.plaintext
        if reader.content_error is not None:
            raise reader.content_error

    return reader, plaintexts()


def read_bytes(
    data: bytes, device_pub: Ed25519PublicKey, identity: X25519PrivateKey | None = None
) -> Outcome:
    """Verify an in-memory file (test vectors, fuzzing)."""
    return walk(FileReader(io.BytesIO(data), device_pub, identity))
