"""The device side of c2sp.org/tlog-witness: ask a witness to cosign a checkpoint, and check the
cosignature it returns (stdlib ``urllib`` only, so the camera can use it).

:func:`add_checkpoint` sends ``old <size>``, the consistency proof and the signed checkpoint to
``<prefix>/add-checkpoint`` and returns the signature lines of a 200; every other answer is an
exception that says what the witness refused. :func:`cosigned` keeps the lines of the witness
one trusts, checks them, and gives the checkpoint with the cosignature and the witness's time:
for a camera with no clock of its own, a trusted time anchor to record in its audit log.

Errors::

    WitnessError (EvidenceError)
     ├── WitnessRefused       the witness answered, and did not cosign (status, message)
     │    ├── BadRequest      400, 413: the request is malformed
     │    ├── BadSignature    403: no signature of a key it trusts for the origin verifies
     │    ├── UnknownLog      404: it knows no log of this origin (or the URL is wrong)
     │    ├── SizeConflict    409 with a size: it last cosigned another size (``.size``)
     │    ├── Fork            409 without one: the same size with another root
     │    └── BadProof        422: the consistency proof does not verify
     └── WitnessUnavailable   no answer, an error of the witness itself (5xx), or an answer
                              that is not the protocol's
"""

from __future__ import annotations

import base64
import http.client
import re
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message

from recorder.evidence.errors import EvidenceError
from recorder.evidence.note import (
    TIMESTAMPED_ED25519,
    Note,
    NoteError,
    NoteSignature,
    Verifier,
    verify_cosignature,
)

__all__ = [
    "BadProof",
    "BadRequest",
    "BadSignature",
    "Cosigned",
    "Fork",
    "SizeConflict",
    "UnknownLog",
    "WitnessError",
    "WitnessRefused",
    "WitnessUnavailable",
    "add_checkpoint",
    "cosigned",
]

MAX_ANSWER = 16 * 1024
_SIZE = re.compile(rb"(0|[1-9][0-9]{0,18})\n")


class WitnessError(EvidenceError):
    """The witness did not cosign the checkpoint."""


class WitnessUnavailable(WitnessError):
    """No answer, the witness's own failure, or an answer outside the protocol."""


class WitnessRefused(WitnessError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"the witness refused ({status}): {message}")
        self.status = status
        self.message = message


class BadRequest(WitnessRefused):
    pass


class BadSignature(WitnessRefused):
    pass


class UnknownLog(WitnessRefused):
    pass


class Fork(WitnessRefused):
    pass


class BadProof(WitnessRefused):
    pass


class SizeConflict(WitnessRefused):
    def __init__(self, size: int) -> None:
        super().__init__(409, f"the latest checkpoint it cosigned has size {size}")
        self.size = size


_REFUSED: dict[int, type[WitnessRefused]] = {
    400: BadRequest,
    413: BadRequest,
    403: BadSignature,
    404: UnknownLog,
    409: Fork,
    422: BadProof,
}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a POST is never replayed elsewhere: the 3xx is the answer


_OPENER = urllib.request.build_opener(_NoRedirect)


def request_body(note: Note, old_size: int, proof: Sequence[bytes]) -> bytes:
    """The body of an add-checkpoint request."""
    lines = [f"old {old_size}\n"] + [base64.b64encode(h).decode() + "\n" for h in proof]
    return "".join(lines).encode() + b"\n" + note.encode()


def add_checkpoint(
    prefix: str, note: Note, old_size: int, proof: Sequence[bytes], timeout: float = 30.0
) -> list[NoteSignature]:
    """Submit ``note`` with the consistency proof from ``old_size`` to the witness at the
    submission ``prefix`` (``http://host:port``); return the cosignature lines it answers."""
    if not prefix.startswith(("http://", "https://")):
        raise WitnessError(f"{prefix!r}: a witness's prefix is an http:// or https:// URL")
    try:
        req = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            prefix.rstrip("/") + "/add-checkpoint",
            data=request_body(note, old_size, proof),
            method="POST",
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
    except ValueError as e:
        raise WitnessError(f"{prefix!r}: not a usable URL: {e}") from None
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            body = resp.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as e:
        try:
            body = e.read(MAX_ANSWER + 1)
        except (OSError, http.client.HTTPException):
            body = b""
        finally:
            e.close()
        raise _refusal(e.code, e.headers, body) from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as e:
        why = getattr(e, "reason", e)
        raise WitnessUnavailable(f"{prefix}: no answer from the witness: {why}") from None
    return _cosignatures(note, body)


def _refusal(status: int, headers: Message, body: bytes) -> WitnessError:
    if status == 409 and headers.get_content_type() == "text/x.tlog.size":
        match = _SIZE.fullmatch(body)
        if match is None:
            return WitnessUnavailable(f"a 409 whose size is not a decimal line: {body[:40]!r}")
        return SizeConflict(int(match[1]))
    message = body[:MAX_ANSWER].decode("utf-8", "replace").strip()
    kind = _REFUSED.get(status)
    if kind is None:
        return WitnessUnavailable(f"the witness answered {status}: {message[:300]}")
    return kind(status, message[:300])


def _cosignatures(note: Note, body: bytes) -> list[NoteSignature]:
    if len(body) > MAX_ANSWER:
        raise WitnessUnavailable(f"the witness's answer is longer than {MAX_ANSWER} bytes")
    try:
        return list(Note.parse(note.text.encode() + b"\n" + body).signatures)
    except NoteError as e:
        raise WitnessUnavailable(f"the witness's answer is not signature lines: {e}") from None


@dataclass(frozen=True)
class Cosigned:
    note: Note
    """The checkpoint with the witness's cosignature lines added."""
    timestamp: int
    """When the witness cosigned it, POSIX seconds by the witness's clock."""


def cosigned(note: Note, lines: Sequence[NoteSignature], witness: Verifier) -> Cosigned:
    """Check the cosignature of ``witness`` among ``lines`` (those of other keys are ignored,
    as the spec says) and attach it to ``note``; raise WitnessError if it is missing or does
    not verify. The timestamp is the camera's trusted time anchor."""
    if witness.sig_type != TIMESTAMPED_ED25519:
        raise WitnessError(f"{witness.name}: a witness key is of type 0x{TIMESTAMPED_ED25519:02x}")
    kid = witness.key_id
    mine = tuple(s for s in lines if s.name == witness.name and s.key_id == kid)
    out = note.with_signatures(*mine)
    try:
        timestamp = verify_cosignature(Note(note.text, mine), witness.name, witness.public)
    except NoteError as e:
        raise WitnessError(f"the witness's answer: {e}") from None
    return Cosigned(out, timestamp)
