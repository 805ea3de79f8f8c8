"""Custody: what the daemon learns from offload, through files in its state directory.

Offload runs beside the daemon (docked, the camera still recording), and the audit log has one
writer, the daemon. So offload leaves what it learned where the daemon looks for it, every ten
seconds and at each start:

- ``cosigned/checkpoint-<size>.note``: a checkpoint the witness cosigned. The daemon checks it
  (its own key, the configured witness's cosignature) and audits it once, as a ``cosigned``
  event with the witness's time: for a camera with no battery-backed clock, a trusted anchor.
- ``free/segment-<seq>.json``: offload's word that a segment is in the bucket, confirmed by HEAD
  (size, SHA-256, COMPLIANCE retention in force). With ``offload.free_space`` on, the daemon
  frees the segment only if a checkpoint of its own, cosigned by the configured witness, covers
  it, and the file is the one the log names (its size as offload confirmed). It audits a
  ``freed`` event first, durably; only then is the file deleted. A cut between the two leaves
  the event and the file, and the next pass audits it again and deletes it (a reader takes the
  event once). This is the one place in the project that deletes evidence.

Only segments are freed: the audit logs are small, and they hold the ``freed`` events that
account for every segment that is gone.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recorder.evidence.audit import rfc3339
from recorder.evidence.checkpoint import Leaf
from recorder.evidence.cosigned import COSIGNED, kept
from recorder.evidence.errors import FormatError, StateError
from recorder.evidence.header import Kind
from recorder.evidence.jsonobj import loads_object
from recorder.evidence.note import NoteError, Verifier
from recorder.evidence.pinning import Pinned, Witness, open_checkpoint
from recorder.evidence.state import file_name, write_json_atomic
from recorder.evidence.tlog import DeviceLog
from recorder.evidence.writer import fsync_dir

__all__ = ["FREE", "STATE", "Custody", "FreeRequest", "request_free"]

FREE = "free"
"""The directory in the state directory where offload asks for segments to be freed."""
STATE = "custody.json"
log = logging.getLogger("bodycam.custody")
_SHA256 = re.compile(r"[0-9a-f]{64}")

Audit = Callable[..., None]
"""``audit(event, **fields)``: durable when it returns, OSError if it is not."""


@dataclass(frozen=True)
class FreeRequest:
    """Offload's word that segment ``seq`` is in the bucket, as HEAD confirmed it."""

    seq: int
    size: int
    sha256: str
    bucket: str
    key: str
    version_id: str | None
    retain_until: str

    @classmethod
    def parse(cls, data: bytes) -> FreeRequest:
        """Parse a request; raise FormatError naming the field that is wrong."""
        d = loads_object(data, "free request")
        for name in ("seq", "size"):
            if type(d.get(name)) is not int or not 0 <= d[name] < 2**63:
                raise FormatError(f"{name!r} is {d.get(name)!r:.40}; a whole number allowed")
        for name in ("sha256", "bucket", "key", "retain_until"):
            if not isinstance(d.get(name), str):
                raise FormatError(f"{name!r} is {d.get(name)!r:.40}; a string allowed")
        if not _SHA256.fullmatch(d["sha256"]):
            raise FormatError("'sha256' is not 64 lowercase hex digits")
        version = d.get("version_id")
        if version is not None and not isinstance(version, str):
            raise FormatError(f"'version_id' is {version!r:.40}; a string or null allowed")
        return cls(
            d["seq"], d["size"], d["sha256"], d["bucket"], d["key"], version, d["retain_until"]
        )


def _request_path(state_dir: Path, seq: int) -> Path:
    return state_dir / FREE / file_name(Kind.MEDIA, seq).replace(".bcam", ".json")


def request_free(state_dir: Path, request: FreeRequest) -> Path:
    """Offload's side: ask the daemon to free a segment (durable when this returns)."""
    path = _request_path(state_dir, request.seq)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    write_json_atomic(path, request.__dict__)
    return path


class Custody:
    """The daemon's side: :meth:`poll` audits new cosigned checkpoints and frees segments."""

    def __init__(
        self,
        state_dir: Path,
        evidence_dir: Path,
        device_pub: Ed25519PublicKey,
        witness: Verifier | None,
        free_space: bool,
        log_: Callable[[], DeviceLog | None],
    ) -> None:
        self.state_dir, self.evidence_dir = state_dir, evidence_dir
        self._pub = device_pub
        self._witness = [Witness(witness.name, witness.public)] if witness else []
        self._free_space = free_space
        self._log = log_
        self._seen: dict[str, float] = {}
        self._pending_free = False
        """A freeing failed (the audit or the deletion): look again even if nothing changed."""
        self.audited = self._load()
        """The largest checkpoint size audited as cosigned."""

    def _load(self) -> int:
        try:
            return int(json.loads((self.state_dir / STATE).read_text())["cosigned"])
        except FileNotFoundError:
            return 0
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("%s: unreadable (%r): cosigned checkpoints may be audited again", STATE, e)
            return 0

    def _changed(self, name: str) -> bool:
        """Whether the directory changed since the last look (a stat, not a listing)."""
        try:
            mtime = (self.state_dir / name).stat().st_mtime_ns
        except OSError:
            return False
        if self._seen.get(name) == mtime:
            return False
        self._seen[name] = mtime
        return True

    def poll(self, audit: Audit) -> None:
        """Audit what is new in ``cosigned/``, then free what ``free/`` asks for. Each problem
        is logged and audited as a fault; nothing here stops recording."""
        if not self._witness:
            return
        if self._changed(COSIGNED):
            self._audit_cosigned(audit)
        if self._changed(FREE) or self._pending_free:
            self._free(audit)

    # --- cosigned checkpoints --------------------------------------------------------------

    def _verified(self, above: int = -1, newest_first: bool = False) -> Iterator[Pinned]:
        """The kept notes this camera signed and its witness cosigned, by size (only those
        whose name gives a size above ``above``: the others are not even read)."""
        for path, data in kept(self.state_dir, above=above, newest_first=newest_first):
            try:
                yield open_checkpoint(data, self._pub, self._witness)
            except NoteError as e:
                log.warning("%s: not cosigned by this camera's witness: %s", path, e)

    def _audit_cosigned(self, audit: Audit) -> None:
        for p in sorted(self._verified(above=self.audited), key=lambda p: p.checkpoint.size):
            if p.checkpoint.size <= self.audited:
                continue
            audit(
                "cosigned",
                size=p.checkpoint.size,
                root=p.checkpoint.root.hex(),
                witness=p.witness,
                witness_time=rfc3339(p.cosigned_at),
            )
            self.audited = p.checkpoint.size
            write_json_atomic(self.state_dir / STATE, {"cosigned": self.audited})

    # --- freeing space -----------------------------------------------------------------------

    def _free(self, audit: Audit) -> None:
        directory = self.state_dir / FREE
        try:
            requests = sorted(p for p in directory.iterdir() if p.suffix == ".json")
        except OSError:
            return
        self._pending_free = False
        if not requests:
            return
        if not self._free_space:
            log.warning(
                "%d segment(s) offered to be freed; offload.free_space is off", len(requests)
            )
            return
        device_log = self._log()
        if device_log is None:
            return  # the log is unreadable (already audited as a fault): nothing is covered
        covered = next(self._verified(newest_first=True), None)  # the largest that verifies
        try:
            leaves = device_log.listing()
        except StateError as e:
            log.error("freeing: the camera's log: %s", e)
            return
        index = {leaf.seq: (i, leaf) for i, leaf in enumerate(leaves) if leaf.kind is Kind.MEDIA}
        for path in requests:
            try:
                self._free_one(path, audit, index, covered)
            except OSError as e:  # the audit or the deletion failed: try again later
                log.error("freeing %s: %s", path.name, e)
                self._pending_free = True

    def _free_one(
        self,
        path: Path,
        audit: Audit,
        index: dict[int, tuple[int, Leaf]],
        covered: Pinned | None,
    ) -> None:
        try:
            r = FreeRequest.parse(path.read_bytes())
        except FormatError as e:
            self._refuse(path, audit, f"not a free request: {e}")
            return
        segment = self.evidence_dir / file_name(Kind.MEDIA, r.seq)
        found = index.get(r.seq)
        if found is None:
            self._refuse(path, audit, f"segment #{r.seq} is not a finished file of the log")
            return
        i, leaf = found
        if covered is None or covered.checkpoint.size <= i:
            log.info("segment #%d: no cosigned checkpoint covers it yet", r.seq)
            return  # kept: a later checkpoint will cover it
        try:
            size = segment.stat().st_size
        except FileNotFoundError:
            path.unlink()  # freed before (a cut after the deletion): done
            return
        if size != r.size:
            self._refuse(path, audit, f"segment #{r.seq} is {size} bytes, the bucket's {r.size}")
            return
        audit(
            "freed",
            stream="media",
            seq=r.seq,
            records=leaf.records,
            chain=leaf.chain.hex(),
            bytes=r.size,
            sha256=r.sha256,
            bucket=r.bucket,
            key=r.key,
            version_id=r.version_id,
            retain_until=r.retain_until,
            checkpoint=covered.checkpoint.size,
            witness_time=rfc3339(covered.cosigned_at),
        )
        segment.unlink()
        fsync_dir(self.evidence_dir)
        path.unlink()
        log.info("segment #%d freed: it is in %s/%s", r.seq, r.bucket, r.key)

    def _refuse(self, path: Path, audit: Audit, why: str) -> None:
        log.error("%s: refused: %s", path.name, why)
        try:
            audit("fault", what="free request refused", error=why)
        finally:
            path.unlink()
