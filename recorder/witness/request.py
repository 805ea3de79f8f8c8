"""The body of a c2sp.org/tlog-witness ``add-checkpoint`` request, parsed (not yet trusted)::

    body        = old-line *63proof-line LF checkpoint
    old-line    = "old" SP size LF            ; decimal, no leading zero, below 2^63
    proof-line  = base64(32-byte hash) LF     ; canonical base64, RFC 4648 section 4
    checkpoint  = a signed note (``recorder.evidence.note``) whose text is a checkpoint
                  (``recorder.evidence.checkpoint``): origin, size, root, no extension lines

The proof lines end at the first empty line; the note, which has an empty line of its own, is
everything after it. :func:`parse` checks the grammar alone: who signed the note and whether the
proof holds is the witness's business.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from recorder.evidence.checkpoint import Checkpoint
from recorder.evidence.merkle import HASH_SIZE
from recorder.evidence.note import Note, NoteError

__all__ = ["MAX_BODY", "MAX_PROOF", "AddCheckpoint", "RequestError", "parse"]

MAX_PROOF = 63
"""A client MUST NOT send more consistency proof lines than this (a tree of 2^63 leaves)."""
MAX_BODY = 64 * 1024
"""The largest body read: the old line, 63 proof lines and the largest note fit with room."""
_OLD = re.compile(r"old (0|[1-9][0-9]{0,18})")


class RequestError(ValueError):
    """The body does not follow the grammar above; the message names what is wrong."""


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: tuple[bytes, ...]
    note: Note
    checkpoint: Checkpoint


def parse(body: bytes) -> AddCheckpoint:
    if len(body) > MAX_BODY:
        raise RequestError(f"the body is at most {MAX_BODY} bytes, not {len(body)}")
    end = body.find(b"\n\n")
    if end < 0:
        raise RequestError("the body is an old size line, proof lines, an empty line, a note")
    head, rest = body[: end + 1], body[end + 2 :]
    try:
        lines = head.decode("ascii").split("\n")[:-1]
    except UnicodeDecodeError:
        raise RequestError("the old size and proof lines are ASCII") from None
    match = _OLD.fullmatch(lines[0])
    if match is None or int(match[1]) >= 2**63:
        raise RequestError(
            f"the first line is 'old <size>', decimal with no leading zero: {lines[0][:40]!r}"
        )
    old = int(match[1])
    if len(lines) - 1 > MAX_PROOF:
        raise RequestError(f"at most {MAX_PROOF} proof lines, not {len(lines) - 1}")
    proof = tuple(_hash(i, line) for i, line in enumerate(lines[1:], start=1))
    if old == 0 and proof:
        raise RequestError("the proof from old size 0 is empty")
    try:
        note = Note.parse(rest)
        checkpoint = Checkpoint.parse(note.text)
    except NoteError as e:
        raise RequestError(f"the checkpoint: {e}") from None
    return AddCheckpoint(old, proof, note, checkpoint)


def _hash(i: int, line: str) -> bytes:
    try:
        raw = base64.b64decode(line, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != HASH_SIZE or base64.b64encode(raw).decode() != line:
        raise RequestError(
            f"proof line {i} is not a {HASH_SIZE}-byte hash in base64: {line[:60]!r}"
        )
    return raw
