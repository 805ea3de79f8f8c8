"""The device side of one evidence file: write the header, append records, close with FINAL.

Every record is written and then synced with ``fdatasync`` before the call returns, so a power cut
loses at most the record being written. A batch (a trigger's pre-roll) is one ``writev`` and one
sync. The writer never reads back, truncates or deletes anything.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from recorder.evidence.header import (
    Header,
    Kind,
    Link,
    LinkState,
    Stanza,
    Suite,
    header_prefix,
    header_signed,
)
from recorder.evidence.header import header_hash as _header_hash
from recorder.evidence.recipients import wrap
from recorder.evidence.records import MAX_RECORD, RecordType, next_chain, record_head, record_signed
from recorder.evidence.stream import PayloadCipher

__all__ = ["EvidenceFile", "Signer", "fsync_dir"]


class Signer(Protocol):
    """What the writer needs of the device key (``hal.KeyStore`` satisfies it)."""

    @property
    def key_id(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


Guard = Callable[[int], None]
"""Called with the byte count before the header and each DATA record is written; raises OSError
(ENOSPC, EIO) to refuse it. FINAL records are not guarded: the space reserve exists so they fit."""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _no_guard(nbytes: int) -> None:
    return None


_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024


def _writev_all(fd: int, pieces: Sequence[bytes]) -> int:
    """``writev`` in as few calls as the kernel allows (one unless there are more than
    IOV_MAX pieces); returns the bytes written, stopping at the first short write."""
    written = 0
    for i in range(0, len(pieces), _IOV_MAX):
        chunk = pieces[i : i + _IOV_MAX]
        n = os.writev(fd, chunk)
        written += n
        if n != sum(map(len, chunk)):
            break
    return written


class EvidenceFile:
    """One open evidence file. Create with :meth:`create`; finish with :meth:`close`."""

    def __init__(
        self,
        fd: int,
        path: Path,
        header: Header,
        hhash: bytes,
        signer: Signer,
        cipher: PayloadCipher | None,
        guard: Guard,
        size: int,
    ) -> None:
        self._fd: int | None = fd
        self.path = path
        self.header = header
        self._signer = signer
        self._cipher = cipher
        self._guard = guard
        self.chain = hhash
        self.records = 0
        self.durable: tuple[int, bytes] = (0, hhash)
        """(records, chain) as of the last sync: what a cut cannot take back."""
        self.bytes_written = size

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        kind: Kind,
        seq: int,
        prev: Link,
        signer: Signer,
        meta: dict[str, Any],
        recipients: Sequence[X25519PublicKey] = (),
        suite: Suite = Suite.AES_256_GCM,
        segment_id: bytes | None = None,
        guard: Guard = _no_guard,
        file_key: bytes | None = None,
    ) -> EvidenceFile:
        """Create ``path`` (never overwriting), write and sync the signed header.

        ``file_key`` exists for the test-vector generator only; the camera always lets it be
        drawn fresh here.
        """
        segment_id = segment_id or secrets.token_bytes(16)
        stanzas: tuple[Stanza, ...] = ()
        if kind is Kind.AUDIT:
            suite, file_key = Suite.NONE, b""
        else:
            if not recipients:
                raise ValueError("a media file needs at least one agency recipient")
            file_key = file_key or secrets.token_bytes(32)
            stanzas = tuple(wrap(file_key, r, segment_id) for r in recipients)
        header = Header(kind, suite, signer.key_id, segment_id, seq, prev, stanzas, meta)
        prefix = header_prefix(header.encode_body())
        sig = signer.sign(header_signed(prefix))
        hhash = _header_hash(prefix, sig)
        cipher = PayloadCipher(suite, file_key, segment_id, hhash) if file_key else None
        del file_key  # the camera must not keep it: see spec section 1
        data = prefix + sig
        guard(len(data))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o440)
        try:
            os.write(fd, data)
            os.fdatasync(fd)
            fsync_dir(path.parent)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, path, header, hhash, signer, cipher, guard, len(data))

    @property
    def seq(self) -> int:
        return self.header.seq

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def _write(self, rtype: RecordType, plaintexts: Sequence[bytes], sync: bool = True) -> None:
        """Seal, chain and sign each plaintext as the next record, then write them all with one
        ``writev`` and (unless ``sync`` is false) make everything written durable with one
        ``fdatasync``."""
        if self._fd is None:
            raise ValueError(f"{self.path}: file is closed")
        index, chain = self.records, self.chain
        pieces: list[bytes] = []
        for plaintext in plaintexts:
            body = self._cipher.seal(index, rtype, plaintext) if self._cipher else plaintext
            if len(body) > MAX_RECORD:
                raise ValueError(f"record of {len(body)} bytes exceeds {MAX_RECORD}")
            chain = next_chain(chain, rtype, index, body)
            sig = self._signer.sign(record_signed(self.header.segment_id, index, rtype, chain))
            pieces += (record_head(len(body), rtype, index), body, sig)
            index += 1
        size = sum(map(len, pieces))
        if rtype is RecordType.DATA:
            self._guard(size)  # may refuse (storage full); the file is then still intact
        try:
            written = _writev_all(self._fd, pieces)
            if written != size:
                raise OSError(errno.EIO, f"short write ({written} of {size} bytes)")
            if sync:
                os.fdatasync(self._fd)
        except OSError:
            # A failed write may have left a torn record: nothing more may follow it.
            self.abandon()
            raise
        self.chain = chain
        self.records = index
        self.bytes_written += size
        if sync:
            self.durable = (index, chain)

    def append(self, plaintext: bytes) -> None:
        """Append one DATA record and make it durable before returning."""
        self._write(RecordType.DATA, (plaintext,))

    def append_many(self, plaintexts: Sequence[bytes], *, sync: bool = True) -> None:
        """Append DATA records in one ``writev``, then sync everything written so far; with
        ``sync=False``, leave the sync to the next call (a trigger's pre-roll is written in
        bounded chunks and synced once).

        A power cut before the sync may leave any part of what was written unwritten; a reader
        stops at the first record that does not verify, so what it keeps is whole records from
        the start, and the rest reads as torn.
        """
        if plaintexts:
            self._write(RecordType.DATA, plaintexts, sync)

    def close(self, summary: dict[str, Any]) -> Link:
        """Write the FINAL record and close; return the CLOSED link for the next file."""
        body = dict(summary, records=self.records + 1)
        self._write(RecordType.FINAL, (json.dumps(body, sort_keys=True).encode(),))
        link = Link(LinkState.CLOSED, self.seq, self.header.segment_id, self.records, self.chain)
        self.abandon()
        return link

    @property
    def holds_file_key(self) -> bool:
        """Whether this object can still encrypt: only while the file is open (spec section 5)."""
        return self._cipher is not None

    def abandon(self) -> None:
        """Close the descriptor without a FINAL record (the file then reads as INCOMPLETE), and
        forget the payload key: nothing may be written to the file any more."""
        self._cipher = None
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
