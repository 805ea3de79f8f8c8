"""Section 14, the device side: the camera's log of its finished files, and its checkpoints.

Every evidence file the camera finishes, in either stream (closed with its FINAL record, or
found torn at recovery), becomes the next leaf of one RFC 6962 tree. The camera keeps, in its
state directory:

- ``tlog.json``: the tree's compact range (one hash per bit of its size), how far each stream
  has been logged, and the latest signed checkpoint. Replaced atomically, as the sequence
  numbers are, so a cut leaves the old state or the new one;
- ``tlog.leaves``: the leaves in order, each the 61 bytes of ``checkpoint.leaf_data`` (about
  1 MB a year at one file a minute), appended and synced before ``tlog.json`` moves on. The tree
  needs only the compact range; the listing lets the camera answer inclusion and consistency
  proofs without rereading its footage, and lets anyone who holds it name every file a checkpoint
  covers (it is checked against the checkpoint's root, so it cannot lie). A leaf past the size
  ``tlog.json`` records is a cut between the two writes, and is overwritten by the next.

A file finished but not yet logged (a cut between the file's FINAL and the log's state) is
logged at the next start by :meth:`DeviceLog.catch_up`, from the stream's own state.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from recorder.evidence.checkpoint import LEAF_SIZE, Checkpoint, Leaf, device_origin
from recorder.evidence.errors import StateError
from recorder.evidence.header import Kind, Link, LinkState
from recorder.evidence.merkle import CompactRange, consistency_proof, inclusion_proof
from recorder.evidence.note import Note, sign
from recorder.evidence.state import write_json_atomic

__all__ = ["DeviceLog"]

STATE = "tlog.json"
LEAVES = "tlog.leaves"


class DeviceLog:
    """The camera's log: :meth:`add` each finished file; each add signs a new checkpoint."""

    def __init__(
        self,
        state_dir: Path,
        device_pub: Ed25519PublicKey,
        sign_fn: Callable[[bytes], bytes] | None = None,
        predecessor: Callable[[Kind, int], Link] | None = None,
    ) -> None:
        """``sign_fn`` signs checkpoints with the device key; without it the log is open to
        read (offload, the daemon's custody thread, tools), and :meth:`add` refuses.
        ``predecessor(kind, seq)`` gives the link that file ``seq + 1`` signs for file
        ``seq``: how a file finished whose logging failed is logged later, from signed data."""
        self._predecessor = predecessor
        self._state = state_dir / STATE
        self._leaves = state_dir / LEAVES
        self._pub = device_pub
        self._sign = sign_fn
        raw = device_pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.origin = device_origin(raw)
        self.tree, self.logged, self.checkpoint = self._load()

    def _load(self) -> tuple[CompactRange, dict[str, int], Note | None]:
        try:
            d = json.loads(self._state.read_text())
        except FileNotFoundError:
            return CompactRange(), {}, None
        except (OSError, ValueError) as e:
            raise StateError(f"{self._state}: unreadable log state: {e}") from None
        try:
            tree = CompactRange(int(d["size"]), [bytes.fromhex(h) for h in d["hashes"]])
            logged = {str(k): int(v) for k, v in d["logged"].items()}
            note = Note.parse(d["checkpoint"].encode()) if d.get("checkpoint") else None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise StateError(f"{self._state}: unreadable log state: {e!r}") from None
        return tree, logged, note

    def _save(self) -> None:
        write_json_atomic(
            self._state,
            {
                "size": self.tree.size,
                "hashes": [h.hex() for h in self.tree.hashes],
                "logged": self.logged,
                "checkpoint": self.checkpoint.encode().decode() if self.checkpoint else None,
            },
        )

    def add(self, kind: Kind, link: Link) -> Note:
        """Log a finished file (the link its successor will carry) and sign a checkpoint."""
        if self._sign is None:
            raise StateError("this log was opened to read: it has no key to sign checkpoints")
        if link.state is LinkState.NONE:
            raise ValueError("a NONE link names no file")
        key = kind.name.lower()
        logged = self.logged.get(key, 0)
        if link.seq <= logged:
            raise StateError(f"{key} #{link.seq} is already in the log")
        # Every number of a stream finishes exactly once, in order: a number skipped (its
        # logging failed) is logged now, from the link its successor signed, never left out.
        missed = [] if link.seq == logged + 1 else self._missed(kind, logged + 1, link.seq)
        for leaf in [*missed, Leaf(kind, link.seq, link.segment_id, link.records, link.chain)]:
            self._append_leaf(leaf.encode())
            self.tree.append(leaf.hash())
        self.logged[key] = link.seq
        text = Checkpoint(self.origin, self.tree.size, self.tree.root()).text()
        signer = self._sign
        self.checkpoint = Note(text).with_signatures(sign(text, self.origin, self._pub, signer))
        self._save()
        return self.checkpoint

    def _missed(self, kind: Kind, first: int, upto: int) -> list[Leaf]:
        if self._predecessor is None:
            raise StateError(f"{kind.name.lower()} #{first}-#{upto - 1} were never logged")
        out = []
        for seq in range(first, upto):
            link = self._predecessor(kind, seq)
            if link.state is LinkState.NONE or link.seq != seq:
                raise StateError(f"{kind.name.lower()} #{seq + 1} does not link to #{seq}")
            out.append(Leaf(kind, seq, link.segment_id, link.records, link.chain))
        return out

    def catch_up(self, kind: Kind, last: Link) -> Note | None:
        """Log the stream's last finished file if a cut came before it was logged."""
        if last.state is LinkState.NONE or last.seq <= self.logged.get(kind.name.lower(), 0):
            return None
        return self.add(kind, last)

    def _append_leaf(self, leaf: bytes) -> None:
        size = self.tree.size * LEAF_SIZE
        fd = os.open(self._leaves, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            if os.fstat(fd).st_size < size:
                raise StateError(
                    f"{self._leaves}: holds fewer leaves than the tree's {self.tree.size}"
                )
            os.ftruncate(fd, size)  # a leaf past the size: a cut before tlog.json moved on
            os.pwrite(fd, leaf, size)
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def listing(self, size: int | None = None) -> list[Leaf]:
        """The first ``size`` leaves (all of them by default), as the files they name."""
        size = self.tree.size if size is None else size
        if not 0 <= size <= self.tree.size:
            raise ValueError(f"size {size} is not within the log's {self.tree.size}")
        with contextlib.suppress(FileNotFoundError), self._leaves.open("rb") as f:
            data = f.read(size * LEAF_SIZE)
            if len(data) == size * LEAF_SIZE:
                return [
                    Leaf.decode(data[i : i + LEAF_SIZE]) for i in range(0, len(data), LEAF_SIZE)
                ]
        raise StateError(f"{self._leaves}: holds fewer leaves than {size}")

    def leaves(self, size: int | None = None) -> list[bytes]:
        """The first ``size`` leaf hashes."""
        return [leaf.hash() for leaf in self.listing(size)]

    def consistency(self, old: int, new: int | None = None) -> list[bytes]:
        """The RFC 6962 proof that the tree of size ``old`` is a prefix of size ``new``."""
        return consistency_proof(self.leaves(new), old)

    def inclusion(self, index: int, size: int | None = None) -> list[bytes]:
        """The RFC 6962 audit path of leaf ``index`` in the tree of ``size``."""
        return inclusion_proof(self.leaves(size), index)
