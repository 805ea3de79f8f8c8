"""The cosigned checkpoints a camera keeps: ``<state_dir>/cosigned/checkpoint-<size>.note``.

Offload writes what the witness returned (:func:`keep`); offload sends them to the bucket, and
the daemon audits each once, with the witness's time (``cosigned`` events, spec section 10).
A note is replaced atomically (a cut leaves the old note or the new one), and a note of a size
already kept gains the new signature lines rather than losing the old ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from recorder.evidence.checkpoint import Checkpoint
from recorder.evidence.note import Note, NoteError
from recorder.evidence.state import write_atomic

__all__ = ["COSIGNED", "keep", "kept"]

COSIGNED = "cosigned"
"""The directory in the state directory that holds the cosigned checkpoints."""


def _path(state_dir: Path, size: int) -> Path:
    return state_dir / COSIGNED / f"checkpoint-{size}.note"


def keep(state_dir: Path, note: Note) -> Path:
    """Keep ``note`` (a checkpoint with its cosignatures) as the note of its size; the lines of
    a note of the same text already kept are kept too. Durable when this returns."""
    size = Checkpoint.parse(note.text).size
    path = _path(state_dir, size)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    try:
        old = Note.parse(path.read_bytes())
    except (FileNotFoundError, NoteError):
        old = None
    if old is not None and old.text == note.text:
        new = [s for s in note.signatures if s not in old.signatures]
        note = old.with_signatures(*new)
    write_atomic(path, note.encode())
    return path


def kept(state_dir: Path) -> Iterator[tuple[Path, bytes]]:
    """Each kept note's path and bytes, in name order (unverified: the caller verifies).
    Raises OSError if the directory cannot be listed."""
    directory = state_dir / COSIGNED
    try:
        paths = sorted(p for p in directory.iterdir() if p.name.endswith(".note"))
    except FileNotFoundError:
        return
    for p in paths:
        try:
            yield p, p.read_bytes()
        except FileNotFoundError:
            continue
