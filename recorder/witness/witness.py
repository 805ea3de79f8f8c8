"""``add-checkpoint`` (c2sp.org/tlog-witness) as a function of the request body: the answer is a
status, a content type and a body, so it is tested without HTTP (``server`` carries it).

The checks, in the spec's order; the first that fails answers:

=====  =====================================================================================
400    the body does not parse (``request``), or the old size is larger than the checkpoint's
404    the checkpoint's origin is no device this witness knows
403    no signature line of that device's key verifies
409    the old size is not the size of the latest checkpoint cosigned for the log (the body is
       that size and a newline, ``text/x.tlog.size``); or the checkpoint has the size of the
       cosigned one with another root: a fork, and both signed notes are kept in ``forks``
422    the consistency proof from the cosigned checkpoint does not verify; the signed note is
       kept in ``refused``
200    the witness's cosignature line (tlog-cosignature/v1), after the checkpoint is stored
=====  =====================================================================================

A fork is recorded whatever old size the request gave, so a client that never retries still
leaves its proof. The read of the log's row, the checks against it and the write are one
transaction (``state``), so no interleaving of requests moves a log backwards.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from recorder.evidence.merkle import EMPTY_ROOT, ProofError, verify_consistency
from recorder.evidence.note import (
    ED25519,
    TIMESTAMPED_ED25519,
    Note,
    NoteError,
    Verifier,
    cosign,
    note_key_id,
    verify,
)
from recorder.witness.errors import SetupError
from recorder.witness.request import AddCheckpoint, RequestError, parse
from recorder.witness.state import Latest, Refused, State, Transaction

__all__ = ["SIZE_TYPE", "TEXT_TYPE", "Response", "Witness"]

TEXT_TYPE = "text/plain; charset=utf-8"
SIZE_TYPE = "text/x.tlog.size"
"""The content type of a 409 whose body is the latest cosigned size."""

log = logging.getLogger("bodycam.witness")


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = TEXT_TYPE
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def text(cls, status: int, message: str, *headers: tuple[str, str]) -> Response:
        return cls(status, message.encode() + b"\n", TEXT_TYPE, headers)


class Witness:
    """Cosigns the checkpoints of ``devices`` (origin to public key) with ``key`` as ``name``.

    ``clock`` gives the cosignatures' time, POSIX seconds; a virtual one in tests."""

    def __init__(
        self,
        name: str,
        key: Ed25519PrivateKey,
        devices: Mapping[str, Ed25519PublicKey],
        state: State,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            self.verifier = Verifier(name, TIMESTAMPED_ED25519, key.public_key())
        except NoteError as e:
            raise SetupError(f"witness name: {e}") from None
        self.name = name
        self._key = key
        self._devices = dict(devices)
        self.state = state
        self._clock = clock

    def add_checkpoint(self, body: bytes) -> Response:
        try:
            req = parse(body)
        except RequestError as e:
            return Response.text(400, f"bad request: {e}")
        origin, size = req.checkpoint.origin, req.checkpoint.size
        pub = self._devices.get(origin)
        if pub is None:
            return Response.text(404, f"unknown log {origin[:80]!r}: no device key of this origin")
        try:
            verify(req.note, origin, pub)
        except NoteError as e:
            return Response.text(403, f"{origin}: no trusted signature verifies ({e})")
        if req.old_size > size:
            return Response.text(400, f"old size {req.old_size} is larger than the size {size}")
        signed = _device_signed(req.note, origin, pub)
        try:
            with self.state.update() as tx:
                return self._decide(tx.latest(origin), req, signed, tx)
        except sqlite3.OperationalError as e:
            log.error("%s: the state is unavailable: %s", origin, e)
            return Response.text(
                503, "the witness's state is busy or unavailable; try again", ("Retry-After", "1")
            )

    def _decide(
        self, latest: Latest | None, req: AddCheckpoint, signed: str, tx: Transaction
    ) -> Response:
        cp, now = req.checkpoint, int(self._clock())
        size, root = (latest.size, latest.root) if latest else (0, EMPTY_ROOT)
        fork = latest is not None and cp.size == size and cp.root != root
        if fork:
            assert latest is not None
            tx.keep_fork(cp.origin, size, latest.checkpoint, signed, now)
            log.warning("%s: FORK at size %d: a second root; both notes kept", cp.origin, size)
        if req.old_size != size:
            log.info("%s: old size %d, the cosigned size is %d", cp.origin, req.old_size, size)
            return Response(409, b"%d\n" % size, SIZE_TYPE)
        if fork:
            return Response.text(
                409,
                f"fork: {cp.origin} at size {size} has the cosigned root {_b64(root)}, not "
                f"{_b64(cp.root)}; both signed checkpoints are kept as proof",
            )
        try:
            verify_consistency(size, cp.size, req.proof, root, cp.root)
        except ProofError as e:
            tx.keep_refused(
                Refused(
                    cp.origin,
                    req.old_size,
                    "".join(_b64(h) + "\n" for h in req.proof),
                    signed,
                    latest.checkpoint if latest else None,
                    str(e),
                    now,
                )
            )
            log.warning("%s: proof %d -> %d refused: %s", cp.origin, size, cp.size, e)
            return Response.text(
                422, f"the consistency proof from size {size} to {cp.size} does not verify: {e}"
            )
        cosignature = cosign(req.note.text, self.name, self._key, now)
        tx.advance(cp.origin, cp.size, cp.root, signed, now)
        log.info("%s: cosigned size %d at %d", cp.origin, cp.size, now)
        return Response(200, cosignature.line().encode())


def _device_signed(note: Note, origin: str, pub: Ed25519PublicKey) -> str:
    """The note with only the device's signature lines, all of which verified: the proof that
    the device signed it, without whatever other lines a client added."""
    kid = note_key_id(origin, ED25519, pub)
    mine = tuple(s for s in note.signatures if s.name == origin and s.key_id == kid)
    return Note(note.text, mine).encode().decode()


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()
