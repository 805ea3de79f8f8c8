"""Media framing: how encoded frames are laid out inside one record's plaintext.

Mirrors section "Media framing" of docs/evidence-format.md. A record's plaintext is a
concatenation of frames, each::

    stream u8 | flags u8 | pts i64 (microseconds) | length u32 | data[length]

Stream ids are open-ended so that audio and sensor data fit without a version change; a reader
skips streams it does not know.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "FLAG_KEYFRAME",
    "STREAM_AUDIO",
    "STREAM_SENSOR",
    "STREAM_VIDEO",
    "Frame",
    "FramingError",
    "check_frames",
    "decode_frames",
    "encode_frames",
]

STREAM_VIDEO = 0  # H.264 Annex-B access units, SPS/PPS in-band on keyframes
STREAM_AUDIO = 1  # reserved
STREAM_SENSOR = 2  # reserved: GPS, battery, markers as UTF-8 JSON

FLAG_KEYFRAME = 0x01

_FRAME_HEADER = struct.Struct(">BBqI")


class FramingError(ValueError):
    """A record's plaintext does not follow the media framing."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded frame of one stream."""

    stream: int
    pts_us: int
    keyframe: bool
    data: bytes

    @property
    def size(self) -> int:
        return _FRAME_HEADER.size + len(self.data)


def encode_frames(frames: Iterable[Frame]) -> bytes:
    """Lay frames out as one record plaintext (a single copy of the frame bytes)."""
    parts: list[bytes] = []
    for f in frames:
        flags = FLAG_KEYFRAME if f.keyframe else 0
        parts.append(_FRAME_HEADER.pack(f.stream, flags, f.pts_us, len(f.data)))
        parts.append(f.data)
    return b"".join(parts)


def _frame_heads(view: memoryview) -> Iterator[tuple[int, int, int, int, int]]:
    """Yield ``(stream, flags, pts, start, length)`` of each frame, checking the framing."""
    pos, end = 0, len(view)
    while pos < end:
        if end - pos < _FRAME_HEADER.size:
            raise FramingError(f"frame header cut short at byte {pos}")
        stream, flags, pts, length = _FRAME_HEADER.unpack_from(view, pos)
        pos += _FRAME_HEADER.size
        if flags & ~FLAG_KEYFRAME:
            raise FramingError(f"unknown frame flags {flags:#04x} at byte {pos}")
        if length > end - pos:
            raise FramingError(f"frame of {length} bytes overruns the record at byte {pos}")
        yield stream, flags, pts, pos, length
        pos += length


def decode_frames(plaintext: bytes) -> Iterator[Frame]:
    """Yield the frames of a record plaintext; raise FramingError on any inconsistency."""
    view = memoryview(plaintext)
    for stream, flags, pts, pos, length in _frame_heads(view):
        yield Frame(stream, pts, bool(flags & FLAG_KEYFRAME), bytes(view[pos : pos + length]))


def check_frames(plaintext: bytes) -> int:
    """Check a record plaintext's framing without copying any frame; return its frame count.

    Raises FramingError exactly where :func:`decode_frames` would.
    """
    return sum(1 for _ in _frame_heads(memoryview(plaintext)))
