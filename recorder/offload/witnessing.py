"""Ask the agency's witness to cosign the camera's latest checkpoint (c2sp.org/tlog-witness).

Each offload does this first, before any file is sent: the checkpoint then leaves the camera
even if the upload is cut. The checkpoint is the latest one the camera signed (at its last file
close; a checkpoint is signed whenever the tree grows, and only then, so there is nothing newer
to sign). The consistency proof runs from the size the witness last cosigned, which the camera
knows from the notes it kept; a witness that answers with another size (409) is asked again
from that size, once. A witness that has cosigned a *larger* size than the camera's log holds
is told loudly: the camera's log went backwards (a restored state directory, or a second camera
with this key), which is exactly what the witness exists to catch.

The answer is checked (the configured witness's cosignature over this checkpoint) and kept in
``<state_dir>/cosigned/``, where offload sends it from and the daemon audits it with the
witness's time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recorder.evidence.checkpoint import Checkpoint
from recorder.evidence.cosigned import keep, kept
from recorder.evidence.errors import EvidenceError
from recorder.evidence.note import NoteError, Verifier
from recorder.evidence.pinning import Witness, open_checkpoint
from recorder.evidence.tlog import DeviceLog
from recorder.evidence.witness_client import SizeConflict, add_checkpoint, cosigned

__all__ = ["Witnessed", "ask_witness"]

log = logging.getLogger("bodycam.offload")


@dataclass(frozen=True)
class Witnessed:
    size: int
    timestamp: int
    """The witness's time of its cosignature (POSIX seconds)."""
    path: Path
    asked: bool
    """False when a note of this size cosigned by this witness was already kept."""


def _latest(state_dir: Path, pub: Ed25519PublicKey, witness: Verifier) -> Witnessed | None:
    """The kept note of the largest size this witness cosigned, if any (the notes are read
    newest first, and only until one verifies)."""
    trusted = [Witness(witness.name, witness.public)]
    for path, data in kept(state_dir, newest_first=True):
        try:
            p = open_checkpoint(data, pub, trusted)
        except NoteError as e:
            log.warning("%s: not a cosigned checkpoint of this camera: %s", path, e)
            continue
        return Witnessed(p.checkpoint.size, p.cosigned_at, path, asked=False)
    return None


def ask_witness(
    state_dir: Path, pub: Ed25519PublicKey, url: str, witness: Verifier, timeout: float = 30.0
) -> Witnessed | None:
    """Have the camera's latest checkpoint cosigned by ``witness`` at ``url`` and keep it.
    None when the camera has signed no checkpoint yet. Raises WitnessError (the witness
    refused, or did not answer) or EvidenceError (the camera's log is not usable)."""
    device_log = DeviceLog(state_dir, pub)
    note = device_log.checkpoint
    if note is None:
        return None
    size = Checkpoint.parse(note.text).size
    latest = _latest(state_dir, pub, witness)
    if latest is not None and latest.size == size:
        return latest
    old = 0 if latest is None else latest.size
    for attempt in range(2):
        if old > size:
            raise EvidenceError(
                f"the witness has cosigned a checkpoint of {old} files, and this camera's log "
                f"holds {size}: the camera's log went backwards (a restored state directory, or "
                "another camera with this key); nothing is cosigned until an agency looks"
            )
        try:
            lines = add_checkpoint(url, note, old, device_log.consistency(old, size), timeout)
            break
        except SizeConflict as e:
            if attempt:
                raise
            log.info("the witness last cosigned %d files, not %d: asking from there", e.size, old)
            old = e.size
    got = cosigned(note, lines, witness)
    path = keep(state_dir, got.note)
    log.info("checkpoint of %d files cosigned by %s at %d", size, witness.name, got.timestamp)
    return Witnessed(size, got.timestamp, path, asked=True)
