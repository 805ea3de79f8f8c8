"""Where the evidence files are: a directory here, or (``recorder.bucket``) an S3 bucket prefix.

Verify and export never touch a path or a key themselves; they ask a :class:`Source` for its
entries and read each :class:`Entry` as a stream, from its start, as often as they need (export
reads each segment twice: once to judge it, once to make the MP4 of it).

- :meth:`Source.entries` lists every entry that may be evidence, whatever its name: in a
  directory every ``*.bcam`` entry; in a bucket every version of every ``*.bcam`` object under
  the device's key id. It raises :class:`SourceError` when the place cannot be listed at all.
- :attr:`Entry.name` is what a report calls it (a file name, a bucket key); :attr:`Entry.named`
  is the stream and number that name gives by the source's own naming (``segment-00000003.bcam``
  here, ``<key id>/media/00000003.bcam`` in a bucket), or None. A file with no readable header
  is held to that number (spec section 12), and of two files with one signed number the one
  under its own name is preferred.
- :meth:`Entry.open` opens it to read, or raises :class:`NotAFile` (UNREADABLE, and it never
  stands in for a number) or OSError (UNREADABLE: cannot read).

A source may also carry the camera's log: :meth:`Source.listings` and :meth:`Source.checkpoints`
(a bucket holds both, under ``<key id>/log/``; an evidence directory neither).

:attr:`Source.freed_excuses` says whether a ``freed`` event can account for a segment that is
not there (spec section 10.2): in a copy of the camera's directory it can (the segment was
deleted on the camera, and the event is the camera's word that the bucket keeps it); in the
bucket, the store of record, it cannot: a segment not in the bucket is not kept anywhere.

This module is the evidence library's: it imports nothing of a bucket's client.
"""

from __future__ import annotations

import os
import re
import stat
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from recorder.evidence.errors import EvidenceError
from recorder.evidence.header import Kind
from recorder.evidence.state import file_name

__all__ = ["DirectorySource", "Entry", "NotAFile", "Source", "SourceError", "source_of"]

READ_BUFFER = 1 << 20
"""Bytes read ahead of the reader: what a source holds of a file beyond the record in hand."""

_NAME = re.compile(r"[a-z]+-([0-9]+)\.bcam")
_PREFIX = {None: "", Kind.MEDIA: "segment-", Kind.AUDIT: "audit-"}


class SourceError(EvidenceError, OSError):
    """The place the evidence should be cannot be listed: a directory that cannot be read, or
    a bucket that is missing, refuses the credentials or does not answer. An OSError too, so
    that the camera's own checks of its directory (selftest, the console) see what they did."""

    exit_code = 4


class NotAFile(OSError):
    """An entry that is not a file (a FIFO, a directory, a device, a broken link)."""


class Entry(ABC):
    """One entry that may be an evidence file."""

    name: str
    """What the report calls it."""
    named: tuple[Kind, int] | None
    """The stream and number its name gives by the source's own naming, or None."""

    @abstractmethod
    def open(self) -> BinaryIO:
        """A binary stream of its bytes from the start, read ahead by at most
        :data:`READ_BUFFER`; raises NotAFile or OSError."""

    @abstractmethod
    def size(self) -> int:
        """Its size in bytes, as far as known (for progress only); 0 if unknown."""


class Source(ABC):
    """A place that holds one camera's evidence files."""

    where: str
    """The place, for messages: a directory's path, an ``s3://`` URL."""
    freed_excuses: bool = True
    """Whether a ``freed`` event accounts for a media segment that is not here (spec section
    10.2): True where the files are a copy of the camera's (the event is the camera's word that
    the bucket keeps it), False in the bucket itself (what it does not hold is not kept)."""

    @abstractmethod
    def entries(self, only: Kind | None = None) -> list[Entry]:
        """Every entry that may be evidence (of one stream only, by name, with ``only``), in
        name order; raises SourceError if the place cannot be listed."""

    def nothing_here(self) -> str:
        """Why there is nothing to verify, in words."""
        return f"no evidence files (*.bcam) in {self.where}"

    def listings(self) -> list[tuple[str, Callable[[], bytes | None]]]:
        """The versions of the camera's listing of its log's leaves (``tlog.leaves``) the
        source holds, longest first, each with where it is and a function that reads it (None
        if it cannot be read). Each is read only when asked: most are older, shorter versions
        that a longer one makes redundant."""
        return []

    def checkpoints(self) -> list[tuple[str, bytes]]:
        """The cosigned checkpoints the source holds, each with where it is."""
        return []


class FileEntry(Entry):
    """A directory entry."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self.named = _named(path.name)

    def open(self) -> BinaryIO:
        """Anything but a regular file is refused before it is opened (a device node may act
        on open) and again after (it may have been swapped); the open itself never blocks (a
        FIFO would wait for a writer forever)."""
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            why = "no file behind the name (a broken link, or removed meanwhile)"
            raise NotAFile(why) from None
        if not stat.S_ISREG(mode):
            raise NotAFile(f"{_what(mode)}, not a file")
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise NotAFile(f"{_what(mode)}, not a file")
            return os.fdopen(fd, "rb", buffering=READ_BUFFER)
        except BaseException:
            os.close(fd)
            raise

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0


class DirectorySource(Source):
    """An evidence directory: the camera's own, or a copy of it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    def entries(self, only: Kind | None = None) -> list[Entry]:
        """None if the directory does not exist (yet: a camera that never recorded)."""
        prefix = _PREFIX[only]
        try:
            with os.scandir(self.path) as it:
                names = [e.name for e in it if e.name.startswith(prefix)]
        except FileNotFoundError:
            return []
        except OSError as e:
            raise SourceError(f"{self.path}: cannot list: {e.strerror or e}") from None
        return [FileEntry(self.path / n) for n in sorted(names) if n.endswith(".bcam")]


def source_of(evidence: Path | Source) -> Source:
    return evidence if isinstance(evidence, Source) else DirectorySource(evidence)


def _named(name: str) -> tuple[Kind, int] | None:
    """The kind and number in a file name as the camera writes it (spec section 12)."""
    m = _NAME.fullmatch(name)
    if m is None:
        return None
    seq = int(m[1])
    for kind in Kind:
        if seq >= 1 and file_name(kind, seq) == name:
            return kind, seq
    return None


def _what(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"
