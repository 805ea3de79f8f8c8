"""Custody: what the daemon learns from offload, through files in its state directory.

Offload runs beside the daemon (docked, the camera still recording), and the audit log has one
writer, the daemon. So offload leaves what it learned where the daemon looks for it, every ten
seconds and at each start:

- ``cosigned/checkpoint-<size>.note``: a checkpoint the witness cosigned. The daemon checks it
  (its own key, the configured witness's cosignature) and audits it once, as a ``cosigned``
  event with the witness's time: for a camera with no battery-backed clock, a trusted anchor.
- ``free/segment-<seq>.json``: offload's word that a segment is in the bucket, confirmed by HEAD:
  its size, its SHA-256 and the store's own ETag, under COMPLIANCE retention. With
  ``offload.free_space`` on, the daemon takes that word only as far as it can check it itself,
  on a thread of its own (never the recorder's): the request names the configured bucket and
  the key the segment's number gives; the camera's listing of its log matches the newest
  checkpoint its witness cosigned, and that checkpoint covers the segment; the file is the leaf
  the log holds (its signed header and chain, read through); and the file's own SHA-256 and
  ETag are those the bucket confirmed. Then, on the recorder thread, it audits a ``freed``
  event, durably, and only then deletes the file. A cut between the two leaves the event and
  the file, and the next pass audits it again and deletes it (a reader takes the event once).
  This is the one place in the project that deletes evidence.

What the daemon cannot check is the bucket itself (it holds no credentials and may have no
network): root on the camera could forge a request for a file it read. The ``freed`` event is
therefore the camera's word, and only ``bodycam verify s3://...`` shows that the bucket keeps
the footage (docs/evidence-format.md, section 15).

Only segments are freed: the audit logs are small, and they hold the ``freed`` events that
account for every segment that is gone.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recorder.evidence.audit import rfc3339
from recorder.evidence.checkpoint import Leaf
from recorder.evidence.cosigned import COSIGNED, kept
from recorder.evidence.errors import FormatError, StateError
from recorder.evidence.header import Kind
from recorder.evidence.jsonobj import loads_object
from recorder.evidence.keys import key_id, raw_public
from recorder.evidence.merkle import root
from recorder.evidence.note import NoteError, Verifier
from recorder.evidence.pinning import Pinned, Witness, open_checkpoint
from recorder.evidence.reader import Verdict, check_file
from recorder.evidence.state import file_name, read_regular, write_json_atomic
from recorder.evidence.tlog import DeviceLog
from recorder.evidence.writer import fsync_dir
from recorder.offload.digest import digest_of_file
from recorder.offload.plan import evidence_key

__all__ = ["FREE", "STATE", "Custody", "FreeRequest", "request_free"]

FREE = "free"
"""The directory in the state directory where offload asks for segments to be freed."""
STATE = "custody.json"
MAX_REQUEST = 4096
BATCH = 64 << 20
"""Bytes of footage one examination reads at most (each file twice: its digest, its chain);
the rest wait for the next, so that shutting down never waits on more than this."""
log = logging.getLogger("bodycam.custody")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ETAG = re.compile(r"[0-9a-f]{32}(-[1-9][0-9]{0,4})?")

Audit = Callable[..., None]
"""``audit(event, **fields)``: durable when it returns, OSError if it is not."""


@dataclass(frozen=True)
class FreeRequest:
    """Offload's word that segment ``seq`` is in the bucket, as HEAD confirmed it."""

    seq: int
    size: int
    sha256: str
    etag: str
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
        for name in ("sha256", "etag", "bucket", "key", "retain_until"):
            if not isinstance(d.get(name), str):
                raise FormatError(f"{name!r} is {d.get(name)!r:.40}; a string allowed")
        if not _SHA256.fullmatch(d["sha256"]):
            raise FormatError("'sha256' is not 64 lowercase hex digits")
        if not _ETAG.fullmatch(d["etag"]):
            raise FormatError("'etag' is not an MD5 in hex, with '-<parts>' for a multipart one")
        version = d.get("version_id")
        if version is not None and not isinstance(version, str):
            raise FormatError(f"'version_id' is {version!r:.40}; a string or null allowed")
        try:
            until = dt.datetime.fromisoformat(d["retain_until"])
        except ValueError:
            raise FormatError("'retain_until' is not an ISO 8601 date and time") from None
        if until.tzinfo is None:
            raise FormatError("'retain_until' has no time zone")
        return cls(
            d["seq"],
            d["size"],
            d["sha256"],
            d["etag"],
            d["bucket"],
            d["key"],
            version,
            d["retain_until"],
        )


def _request_path(state_dir: Path, seq: int) -> Path:
    return state_dir / FREE / file_name(Kind.MEDIA, seq).replace(".bcam", ".json")


def request_free(state_dir: Path, request: FreeRequest) -> Path:
    """Offload's side: ask the daemon to free a segment (durable when this returns)."""
    path = _request_path(state_dir, request.seq)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    write_json_atomic(path, request.__dict__)
    return path


@dataclass(frozen=True)
class _Approved:
    path: Path
    request: FreeRequest
    leaf: Leaf
    identity: tuple[int, int, int, int]
    covered: Pinned


@dataclass(frozen=True)
class _Refused:
    path: Path
    why: str


def _identity(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path, follow_symlinks=False)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class Custody:
    """The daemon's side: :meth:`poll` audits new cosigned checkpoints and frees segments."""

    def __init__(
        self,
        state_dir: Path,
        evidence_dir: Path,
        device_pub: Ed25519PublicKey,
        witness: Verifier | None,
        *,
        free_space: bool = False,
        bucket: str = "",
        part_size: int = 8 << 20,
        log_: Callable[[], DeviceLog | None] = lambda: None,
        wall: Callable[[], float] | None = None,
    ) -> None:
        self.state_dir, self.evidence_dir = state_dir, evidence_dir
        self._pub = device_pub
        self._prefix = key_id(raw_public(device_pub)).hex()
        self._witness = [Witness(witness.name, witness.public)] if witness else []
        self._free_space = free_space
        self._bucket = bucket
        self._part_size = part_size
        self._log = log_
        self._wall = wall
        self._seen: dict[str, int] = {}
        self._examining: Future[list[_Approved | _Refused]] | None = None
        self._again = False
        """Look at the requests again even if nothing changed (an audit or a deletion failed)."""
        self._worker: ThreadPoolExecutor | None = None
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
        """Audit what is new in ``cosigned/``; free what an examination approved; start an
        examination of ``free/`` when it (or the cosigned checkpoints) changed. Each problem
        is logged and audited as a fault; nothing here stops recording or waits on a file."""
        if not self._witness:
            return
        cosigned = self._changed(COSIGNED)
        if cosigned:
            self._audit_cosigned(audit)
        if not self._free_space:
            return
        if self._examining is not None and self._examining.done():
            decisions, self._examining = self._examining.result(), None
            self._act(decisions, audit)
        if self._examining is None and (self._changed(FREE) or cosigned or self._again):
            self._again = False
            if self._worker is None:
                self._worker = ThreadPoolExecutor(1, thread_name_prefix="custody")
            self._examining = self._worker.submit(self._examine)

    def close(self, audit: Audit) -> None:
        """Finish an examination under way (it reads at most BATCH bytes of footage) and act
        on it, then stop the examining thread."""
        if self._examining is not None:
            decisions, self._examining = self._examining.result(), None
            self._act(decisions, audit)
        if self._worker is not None:
            self._worker.shutdown(wait=True)

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

    # --- freeing space: examined on the custody thread ---------------------------------------

    def _examine(self) -> list[_Approved | _Refused]:
        try:
            requests = sorted(p for p in (self.state_dir / FREE).iterdir() if p.suffix == ".json")
        except OSError:
            return []
        if not requests:
            return []
        device_log = self._log()
        if device_log is None:
            return []  # the log is unreadable (audited as a fault already): nothing is covered
        covered = next(self._verified(newest_first=True), None)
        try:
            leaves = device_log.listing()
        except StateError as e:
            log.error("freeing: the camera's log: %s", e)
            return []
        problem = self._listing_problem(leaves, covered)
        index = {leaf.seq: (i, leaf) for i, leaf in enumerate(leaves) if leaf.kind is Kind.MEDIA}
        out: list[_Approved | _Refused] = []
        budget = BATCH
        for path in requests:
            if budget <= 0:
                self._again = True  # the rest at the next look
                break
            try:
                decision = self._decide(path, index, covered, problem)
            except OSError as e:
                decision = _Refused(path, f"{path.name}: {e.strerror or e}")
            if isinstance(decision, _Approved):
                budget -= decision.request.size
            if decision is not None:
                out.append(decision)
        return out

    @staticmethod
    def _listing_problem(leaves: list[Leaf], covered: Pinned | None) -> str:
        if covered is None:
            return ""
        size = covered.checkpoint.size
        if len(leaves) < size or root([leaf.hash() for leaf in leaves[:size]]) != (
            covered.checkpoint.root
        ):
            return f"the camera's listing does not match its checkpoint of {size}, cosigned"
        return ""

    def _decide(
        self,
        path: Path,
        index: dict[int, tuple[int, Leaf]],
        covered: Pinned | None,
        problem: str,
    ) -> _Approved | _Refused | None:
        """A request approved, refused, or None: not covered yet, kept for a later look."""
        try:
            r = FreeRequest.parse(read_regular(path, MAX_REQUEST))
        except FormatError as e:
            return _Refused(path, f"not a free request: {e}")
        if problem:
            return _Refused(path, problem)
        key = evidence_key(self._prefix, Kind.MEDIA, r.seq)
        if (r.bucket, r.key) != (self._bucket, key):
            return _Refused(
                path, f"it names {r.bucket}/{r.key}, not {self._bucket}/{key} (offload.bucket)"
            )
        if self._wall is not None and dt.datetime.fromisoformat(r.retain_until).timestamp() <= (
            self._wall()
        ):
            return _Refused(path, f"its retention ended ({r.retain_until})")
        found = index.get(r.seq)
        if found is None:
            return _Refused(path, f"segment #{r.seq} is not a finished file of the log")
        i, leaf = found
        if covered is None or covered.checkpoint.size <= i:
            log.info("segment #%d: no cosigned checkpoint covers it yet", r.seq)
            return None
        segment = self.evidence_dir / file_name(Kind.MEDIA, r.seq)
        try:
            identity = _identity(segment)
        except FileNotFoundError:
            path.unlink()  # freed before (a cut after the deletion): done
            return None
        if identity[2] != r.size:
            return _Refused(path, f"segment #{r.seq} is {identity[2]} bytes, the bucket's {r.size}")
        try:
            digest = digest_of_file(segment, r.size, self._part_size)
        except EOFError:
            return _Refused(path, f"segment #{r.seq} is shorter than {r.size} bytes")
        if (digest.sha256, digest.etag) != (r.sha256, r.etag):
            return _Refused(path, f"segment #{r.seq}'s SHA-256 or ETag is not the bucket's")
        outcome = check_file(segment, self._pub)
        h = outcome.header
        same = (
            h is not None
            and outcome.verdict in (Verdict.OK, Verdict.INCOMPLETE)
            and (h.kind, h.seq, h.segment_id) == (Kind.MEDIA, r.seq, leaf.segment_id)
            and len(outcome.chains) > leaf.records
            and outcome.chains[leaf.records] == leaf.chain
        )
        if not same:
            return _Refused(path, f"segment #{r.seq} is not the file the camera's log holds")
        return _Approved(path, r, leaf, identity, covered)

    # --- freeing space: acted on, on the recorder thread --------------------------------------

    def _act(self, decisions: list[_Approved | _Refused], audit: Audit) -> None:
        for d in decisions:
            try:
                if isinstance(d, _Refused):
                    self._refuse(d, audit)
                else:
                    self._free(d, audit)
            except OSError as e:  # the audit or the deletion failed: look again later
                log.error("freeing %s: %s", d.path.name, e)
                self._again = True

    def _free(self, a: _Approved, audit: Audit) -> None:
        r, segment = a.request, self.evidence_dir / file_name(Kind.MEDIA, a.request.seq)
        try:
            if _identity(segment) != a.identity:
                self._again = True  # changed since it was examined: examine it again
                return
        except FileNotFoundError:
            a.path.unlink(missing_ok=True)
            return
        audit(
            "freed",
            stream="media",
            seq=r.seq,
            records=a.leaf.records,
            chain=a.leaf.chain.hex(),
            bytes=r.size,
            sha256=r.sha256,
            etag=r.etag,
            bucket=r.bucket,
            key=r.key,
            version_id=r.version_id,
            retain_until=r.retain_until,
            checkpoint=a.covered.checkpoint.size,
            witness_time=rfc3339(a.covered.cosigned_at),
        )
        segment.unlink()
        fsync_dir(self.evidence_dir)
        a.path.unlink(missing_ok=True)
        log.info("segment #%d freed: it is in %s/%s", r.seq, r.bucket, r.key)

    def _refuse(self, d: _Refused, audit: Audit) -> None:
        log.error("%s: refused: %s", d.path.name, d.why)
        try:
            audit("fault", what="free request refused", error=d.why)
        finally:
            d.path.unlink(missing_ok=True)
