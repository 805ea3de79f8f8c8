"""The cosigned checkpoints a camera keeps: ``<state_dir>/cosigned/checkpoint-<size>.note``.

Offload writes what the witness returned (:func:`keep`); offload sends them to the bucket, and
the daemon audits each once, with the witness's time (``cosigned`` events, spec section 10).
A note is replaced atomically (a cut leaves the old note or the new one), and a note of a size
already kept gains the new signature lines rather than losing the old ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from recorder.evidence.checkpoint import Checkpoint
from recorder.evidence.note import MAX_NOTE, Note, NoteError
from recorder.evidence.state import read_regular, write_atomic

__all__ = ["COSIGNED", "keep", "kept"]

log = logging.getLogger("bodycam.custody")

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


def _named_size(path: Path) -> int:
    """The size a note's name gives (``checkpoint-<size>.note``), or -1 for another name."""
    digits = path.name.removeprefix("checkpoint-").removesuffix(".note")
    return int(digits) if digits.isdigit() and len(digits) < 20 else -1


def kept(
    state_dir: Path, *, above: int = -1, newest_first: bool = False
) -> Iterator[tuple[Path, bytes]]:
    """Each kept note's path and bytes, by the size its name gives (unverified: the caller
    verifies, and the note's own size is the one that counts); ``above`` skips the notes whose
    name gives that size or less, without reading them. Raises OSError if the directory
    cannot be listed."""
    directory = state_dir / COSIGNED
    try:
        paths = [p for p in directory.iterdir() if p.name.endswith(".note")]
    except FileNotFoundError:
        return
    paths = [p for p in paths if _named_size(p) > above or _named_size(p) < 0]
    paths.sort(key=lambda p: (_named_size(p), p.name), reverse=newest_first)
    for p in paths:
        try:
            yield p, read_regular(p, MAX_NOTE)
        except FileNotFoundError:
            continue
        except OSError as e:  # a FIFO, a link, a huge file: never read, never waited on
            log.warning("%s: not read: %s", p, e.strerror or e)
