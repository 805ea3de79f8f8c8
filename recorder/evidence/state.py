"""Section 8, the device side: sequence numbers that never repeat, links, and crash recovery.

An :class:`EvidenceStream` owns one stream (media segments or audit logs) of one device. It keeps
``<kind>.chain.json`` in the state directory::

    {"next_seq": 8, "open": {"seq": 7, "segment_id": "…", "file": "segment-00000007.bcam"},
     "last": {"state": "CLOSED", "seq": 6, …}}

The increment of ``next_seq`` is made durable before the file is created, so a crash can waste a
number but never reuse one. At start, :meth:`EvidenceStream.recover` finds a file that was open
when the device died, walks it, and turns what it finds into the TORN link (the recovery note)
that the next file's header will carry.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from recorder.evidence.errors import StateError
from recorder.evidence.header import Kind, Link, LinkState, Suite
from recorder.evidence.reader import check_file
from recorder.evidence.writer import EvidenceFile, Guard, Signer, _no_guard, fsync_dir

__all__ = ["EvidenceStream", "file_name", "write_json_atomic"]

_PREFIX = {Kind.MEDIA: "segment", Kind.AUDIT: "audit"}


def file_name(kind: Kind, seq: int) -> str:
    return f"{_PREFIX[kind]}-{seq:08d}.bcam"


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes, read without
    ever blocking (a FIFO, a device, a symbolic link or a larger file is an OSError), for the
    small files other programs leave in the state directory."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"{path.name}: not a regular file")
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"{path.name}: larger than {limit} bytes")
        chunks, left = [], limit + 1
        while left and (chunk := os.read(fd, left)):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"{path.name}: larger than {limit} bytes")
    return data


def write_json_atomic(path: Path, obj: Any, mode: int = 0o600) -> None:
    """Replace ``path`` with ``obj`` as JSON so that a crash leaves the old or the new version."""
    write_atomic(path, json.dumps(obj, indent=1, sort_keys=True).encode() + b"\n", mode)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new version."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


class EvidenceStream:
    """One device stream: opens files with fresh sequence numbers and links them."""

    def __init__(
        self,
        evidence_dir: Path,
        state_dir: Path,
        kind: Kind,
        signer: Signer,
        device_pub: Ed25519PublicKey,
        *,
        recipients: tuple[X25519PublicKey, ...] = (),
        suite: Suite = Suite.AES_256_GCM,
        guard: Guard = _no_guard,
        on_finished: Callable[[Kind, Link], None] | None = None,
        mark_headers: bool = False,
    ) -> None:
        self.evidence_dir = evidence_dir
        self._mark_headers = mark_headers
        """Remember each file's header hash in the state once the header is durable (two more
        syncs per file), so that a file deleted while the camera was off is told, at the next
        start, from one whose header was never written."""
        self._on_finished = on_finished
        """Told of every file this stream finishes: closed, or found torn (the camera's log)."""
        self.kind = kind
        self._signer = signer
        self._pub = device_pub
        self._recipients = recipients
        self._suite = suite
        self._guard = guard
        self._state_path = state_dir / f"{kind.name.lower()}.chain.json"
        self.current: EvidenceFile | None = None
        self.recovered_meta: dict[str, Any] | None = None
        """The header metadata of the file :meth:`recover` last found torn or left open."""
        self.recover_error: str | None = None
        """Why :meth:`recover` could not read the file it found, if it could not."""
        self._next_seq, self._open, self.last = self._load()

    def _load(self) -> tuple[int, dict[str, Any] | None, Link]:
        try:
            raw = self._state_path.read_text()
        except FileNotFoundError:
            return self._from_evidence(), None, Link.none()
        except OSError as e:
            raise StateError(f"{self._state_path}: cannot read: {e.strerror}") from None
        try:
            d = json.loads(raw)
            next_seq = int(d["next_seq"])
            last = Link.from_json(d["last"]) if d.get("last") else Link.none()
            opened = d.get("open")
            if opened is not None:
                opened = {
                    "seq": int(opened["seq"]),
                    "segment_id": bytes.fromhex(opened["segment_id"]),
                    "file": str(opened["file"]),
                    "header": bytes.fromhex(opened.get("header") or ""),
                }
        except (ValueError, KeyError, TypeError) as e:
            raise StateError(f"{self._state_path}: unreadable stream state: {e!r}") from None
        if next_seq < 1:
            raise StateError(f"{self._state_path}: next_seq {next_seq} must be at least 1")
        return max(next_seq, self._from_evidence()), opened, last

    def _from_evidence(self) -> int:
        """The lowest seq no file in the evidence directory uses (guards a lost state file)."""
        highest = 0
        prefix = _PREFIX[self.kind] + "-"
        if self.evidence_dir.is_dir():
            for p in self.evidence_dir.glob(prefix + "*.bcam"):
                digits = p.stem[len(prefix) :]
                if digits.isdigit():
                    highest = max(highest, int(digits))
        return highest + 1

    def _save(self) -> None:
        opened = self._open and {
            "seq": self._open["seq"],
            "segment_id": self._open["segment_id"].hex(),
            "file": self._open["file"],
            "header": self._open.get("header", b"").hex(),
        }
        state = {"next_seq": self._next_seq, "open": opened, "last": self.last.to_json()}
        write_json_atomic(self._state_path, state)

    @property
    def needs_recovery(self) -> bool:
        return self._open is not None

    def recover(self) -> Link | None:
        """If a file was left open by a crash, note how far it got; return that link."""
        if self._open is None:
            return None
        seq, seg_id = self._open["seq"], self._open["segment_id"]
        path = self.evidence_dir / self._open["file"]
        # No readable header: if the state remembers one (mark_headers), the file existed and
        # the note says so with its header hash, else it notes that nothing was ever written.
        link = Link(LinkState.TORN, seq, seg_id, 0, self._open.get("header") or bytes(32))
        self.recover_error = None
        try:
            o = check_file(path, self._pub) if path.exists() else None
        except OSError as e:  # a failing card: note what is known, never stop the camera
            o, self.recover_error = None, f"{path.name}: {e.strerror or e}"
        if o is not None and o.header is not None and o.header.segment_id == seg_id:
            state = LinkState.CLOSED if o.final else LinkState.TORN
            link = Link(state, seq, seg_id, o.valid, o.chain)
            self.recovered_meta = dict(o.header.meta)
        self.last, self._open = link, None
        self._save()
        self._finished()
        return link

    def open(self, meta: dict[str, Any]) -> EvidenceFile:
        """Reserve the next seq durably, then create its file linked to the last one."""
        if self.current is not None:
            raise StateError(f"{self.current.path}: still open")
        if self._open is not None:
            raise StateError("a crashed file must be recovered before a new one is opened")
        seq = self._next_seq
        seg_id = secrets.token_bytes(16)
        name = file_name(self.kind, seq)
        before = self._next_seq, self._open
        self._next_seq, self._open = seq + 1, {"seq": seq, "segment_id": seg_id, "file": name}
        try:
            self._save()
        except BaseException:
            self._next_seq, self._open = before  # nothing was reserved: the next open tries again
            raise
        try:
            self.current = EvidenceFile.create(
                self.evidence_dir / name,
                kind=self.kind,
                seq=seq,
                prev=self.last,
                signer=self._signer,
                meta=meta,
                recipients=self._recipients,
                suite=self._suite,
                segment_id=seg_id,
                guard=self._guard,
            )
        except Exception:
            # The file is missing or holds a partial header: note it as a crash would be noted
            # (a TORN link), so the next open works and names this seq; else the stream is stuck.
            with contextlib.suppress(OSError, StateError):  # else the next start recovers it
                self.recover()
            raise
        if self._mark_headers:
            self._open["header"] = self.current.chain  # the header hash, now durable
            with contextlib.suppress(OSError):  # without the mark, a deletion reads as a cut
                self._save()
        return self.current

    def link_before(self, seq: int) -> Link:
        """The link file ``seq + 1`` signs for file ``seq`` (read from its verified header)."""
        path = self.evidence_dir / file_name(self.kind, seq + 1)
        o = check_file(path, self._pub)
        if o.header is None:
            raise StateError(f"{path.name}: no verified header to read #{seq}'s link from")
        return o.header.prev

    def fail(self) -> Link | None:
        """The current file can take nothing more (a write failed): note how far it got, from
        what the writer knows it synced; a failing card is not read again."""
        if self.current is None:
            return None
        f, self.current = self.current, None
        f.abandon()
        records, chain = f.durable
        self.last = Link(LinkState.TORN, f.seq, f.header.segment_id, records, chain)
        self._open = None
        self._save()
        self._finished()
        return self.last

    def close(self, summary: dict[str, Any]) -> Link:
        """Close the current file with its FINAL record and remember its link."""
        if self.current is None:
            raise StateError("no file is open")
        f, self.current = self.current, None
        try:
            self.last = f.close(summary)
        except BaseException:
            self.current = f
            with contextlib.suppress(OSError, StateError):  # else the next start recovers it
                self.fail()
            raise
        self._open = None
        self._save()
        self._finished()
        return self.last

    def _finished(self) -> None:
        if self._on_finished is not None:
            self._on_finished(self.kind, self.last)
