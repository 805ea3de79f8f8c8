"""What offload sends, and under which keys: derived from the camera's log, never from a listing.

Every leaf of the camera's log (``tlog.leaves``, up to the size ``tlog.json`` records) is a
finished file, so those are the files sent, in the order they finished; the file still being
written is never a leaf. Object keys derive from the device's key id (its fingerprint), the
stream and the sequence number::

    <key id>/media/00000007.bcam        segment-00000007.bcam
    <key id>/audit/00000003.bcam        audit-00000003.bcam
    <key id>/log/leaves                 the listing (tlog.leaves) as far as the log's size
    <key id>/log/checkpoint-<size>.note a checkpoint cosigned by a witness

The cosigned checkpoints are the notes in ``<state_dir>/cosigned/`` (``*.note``), where the
camera keeps what its witness returned; each must carry the device's valid signature and at
least one other. The listing is the one key that takes new versions: each run whose log has
grown sends the longer listing, and the bucket keeps the shorter ones as older versions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recorder.evidence.checkpoint import LEAF_SIZE, Checkpoint, Leaf
from recorder.evidence.cosigned import COSIGNED, kept
from recorder.evidence.errors import EvidenceError
from recorder.evidence.header import Kind
from recorder.evidence.keys import key_id, load_device_public, raw_public
from recorder.evidence.note import Note, NoteError, verify
from recorder.evidence.state import file_name
from recorder.evidence.tlog import DeviceLog
from recorder.offload.errors import ConfigurationError

__all__ = ["Item", "Plan", "evidence_key", "make_plan"]

STREAMS = {Kind.MEDIA: "media", Kind.AUDIT: "audit"}
_LABEL = {Kind.MEDIA: "segment", Kind.AUDIT: "audit log"}

log = logging.getLogger("bodycam.offload")


def evidence_key(prefix: str, kind: Kind, seq: int) -> str:
    return f"{prefix}/{STREAMS[kind]}/{seq:08d}.bcam"


@dataclass(frozen=True)
class Item:
    """One object to send: from a file (``path``) or from bytes (``data``)."""

    key: str
    what: str
    """For people: ``segment #7``, ``checkpoint of 12``, ``listing of 12 leaves``."""
    size: int
    path: Path | None = None
    data: bytes | None = None
    leaf: Leaf | None = None
    """The leaf an evidence file is, for freeing space."""
    index: int = -1
    """Its position in the log: a checkpoint of a larger size covers it."""
    grows: bool = False
    """The listing: a longer one supersedes a shorter one already in the bucket."""


@dataclass(frozen=True)
class Plan:
    prefix: str
    """The device's key id in hex: the first part of every key."""
    device_pub: Ed25519PublicKey
    items: list[Item]
    absent: list[tuple[str, str]]
    """(key, what) of finished files that are not here: freed before, or lost; each must
    already be in the bucket."""
    problems: list[str]
    """What was found and not sent (a checkpoint that does not verify), for the report."""

    @property
    def total(self) -> int:
        return sum(i.size for i in self.items)


def make_plan(state_dir: Path, evidence_dir: Path) -> Plan:
    """Read the camera's log (not the evidence directory) and say what to send."""
    pub_path = state_dir / "device.pub"
    try:
        pub = load_device_public(pub_path)
        device_log = DeviceLog(state_dir, pub)
        leaves = device_log.listing()
    except EvidenceError as e:
        raise ConfigurationError(f"the camera's state is not usable: {e}") from None
    prefix = key_id(raw_public(pub)).hex()
    items: list[Item] = []
    absent: list[tuple[str, str]] = []
    for index, leaf in enumerate(leaves):
        key = evidence_key(prefix, leaf.kind, leaf.seq)
        what = f"{_LABEL[leaf.kind]} #{leaf.seq}"
        path = evidence_dir / file_name(leaf.kind, leaf.seq)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            if not (leaf.records == 0 and leaf.chain == bytes(32)):
                absent.append((key, what))  # reserved and never written: there is no file
            continue
        except OSError as e:
            raise ConfigurationError(f"{path}: cannot read: {e.strerror}") from None
        items.append(Item(key, what, size, path=path, leaf=leaf, index=index))
    if leaves:
        data = b"".join(leaf.encode() for leaf in leaves)
        assert len(data) == len(leaves) * LEAF_SIZE
        what = f"listing of {len(leaves)} leaves"
        items.append(Item(f"{prefix}/log/leaves", what, len(data), data=data, grows=True))
    checkpoints, problems = _cosigned(state_dir, pub, prefix)
    return Plan(prefix, pub, items + checkpoints, absent, problems)


def _cosigned(state_dir: Path, pub: Ed25519PublicKey, prefix: str) -> tuple[list[Item], list[str]]:
    origin = f"bodycam/device/{prefix}"
    items: dict[int, Item] = {}
    problems = []
    try:
        notes = list(kept(state_dir))
    except OSError as e:
        raise ConfigurationError(f"{state_dir / COSIGNED}: cannot list: {e.strerror}") from None
    for path, data in notes:
        try:
            note = Note.parse(data)
            verify(note, origin, pub)
            cp = Checkpoint.parse(note.text)
            if len(note.signatures) < 2:
                raise NoteError("it carries the device's signature alone (not cosigned)")
        except NoteError as e:
            problems.append(f"{path}: not sent: {e}")
            continue
        key = f"{prefix}/log/checkpoint-{cp.size}.note"
        if cp.size in items and items[cp.size].data != data:
            problems.append(f"{path}: not sent: another note of size {cp.size} is sent")
            continue
        items[cp.size] = Item(key, f"checkpoint of {cp.size}", len(data), data=data)
    return [items[s] for s in sorted(items)], problems
