"""The line discipline (docs/console.md §2): bytes from a serial line in, lines and echo out.

Pure: :meth:`LineDiscipline.feed` takes bytes and yields events; it does no I/O and reads no
clock. Its grammar, byte by byte:

- CR, LF or CR LF ends a line (an LF straight after a CR is part of that line end).
- BS (0x08) and DEL (0x7F) erase the last character; in echo mode ``"\\b \\b"`` is echoed once
  per column that character took.
- Ctrl-U (0x15) erases the whole line; Ctrl-C (0x03) abandons it (echo ``"^C"``, a fresh line).
- ``ESC [ <0x20-0x3F>* <0x40-0x7E>`` and ``ESC O <0x40-0x7E>`` (cursor and function keys) are
  ignored. ESC followed by anything else marks the line bad, and that byte is read as usual.
- TAB counts as a space. Any other byte below 0x20 marks the line bad.
- A line that grows past :data:`MAX_LINE` bytes is bad; the rest of it is discarded.
- At the line end: a bad line yields :class:`BadLine`; one that is not UTF-8, or holds a
  character that is not printable, yields :class:`BadLine` too; one with nothing but spaces
  yields :class:`Blank`; any other yields :class:`Line` with the text, stripped.

Echo is what :func:`printable` makes of each character once it is complete: a printable one
as typed, any other (C1 controls, bidirectional overrides and isolates, ...) escaped, and a byte
that cannot be part of UTF-8 as ``\\xNN``. So the echo, like every reply, is UTF-8 that cannot
move the technician's cursor, reorder their screen or fake a reply line (docs/console.md §1).

Memory stays bounded whatever arrives: the line buffer never holds more than MAX_LINE bytes and
an escape sequence longer than :data:`MAX_ESCAPE` bytes is abandoned.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "MAX_ESCAPE",
    "MAX_LINE",
    "BadLine",
    "Blank",
    "Echo",
    "Event",
    "Line",
    "LineDiscipline",
    "printable",
]

MAX_LINE = 256
"""The longest line, in bytes, before its line end."""
MAX_ESCAPE = 16
"""The longest escape sequence that is ignored; a longer one marks the line bad."""

_CR, _LF, _BS, _DEL, _ESC, _TAB, _ETX, _NAK, _BEL = 13, 10, 8, 127, 27, 9, 3, 21, 7
_ERASE = b"\b \b"


@dataclass(frozen=True, slots=True)
class Echo:
    """Bytes to send back so that the technician sees what they type (echo mode only)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Line:
    """A complete line, decoded and stripped; never empty, always printable."""

    text: str


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that cannot be a command; the reason becomes ``ERR 400 <reason>``."""

    reason: str


@dataclass(frozen=True, slots=True)
class Blank:
    """A line end with nothing on the line (or Ctrl-C): no reply, only a fresh prompt."""


Event = Echo | Line | BadLine | Blank


def printable(text: str) -> str:
    """``text`` with every character that is not printable (``str.isprintable``: C0 and C1
    controls, bidirectional overrides and isolates, line and paragraph separators, unassigned
    code points, ...) escaped as ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``: docs/console.md §1,
    for the echo and for every reply."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ord(ch)) for ch in text)


def _escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _unit(pending: bytes) -> tuple[int, bytes]:
    """The first character of ``pending`` (at least one byte): its length in bytes and what its
    echo shows; (0, b"") while it is the valid start of a character still incomplete. A byte
    that cannot begin or continue a character here is a unit of its own, shown ``\\xNN``."""
    if pending[0] < 0x80:
        return 1, printable(chr(pending[0])).encode()
    need = _utf8_length(pending[0])
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(pending[:need], final=False)
    except UnicodeDecodeError:
        return 1, _escape(pending[0]).encode()
    return (need, printable(text).encode("utf-8")) if text else (0, b"")


def _utf8_length(lead: int) -> int:
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 1


class LineDiscipline:
    """Turns a byte stream into lines. ``echo`` may be changed between events; it applies from
    the next byte on. Consume every event :meth:`feed` yields before feeding again."""

    def __init__(self, *, echo: bool = True) -> None:
        self.echo = echo
        self._buf = bytearray()
        self._units: list[tuple[int, int]] = []  # (bytes, columns echoed) of each character
        self._settled = 0  # bytes of _buf in _units; the rest is a character not complete yet
        self._bad: str | None = None
        self._overflow = False
        self._after_cr = False
        self._esc = 0  # 0: none; 1: after ESC; 2: in CSI (ESC [); 3: after ESC O
        self._esc_len = 0

    @property
    def pending(self) -> int:
        """Bytes held for the current line (never more than MAX_LINE)."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget the current line (a new session starts)."""
        self._clear()
        self._after_cr = False

    def feed(self, data: bytes) -> Iterator[Event]:
        out = bytearray()
        for b in data:
            ended = self._byte(b, out)
            if ended is not None:
                if out:
                    yield Echo(bytes(out))
                    out.clear()
                yield ended
        if out:
            yield Echo(bytes(out))

    # --- one byte ---------------------------------------------------------------------------

    def _byte(self, b: int, out: bytearray) -> Event | None:
        if self._esc and self._escape(b):
            self._after_cr = False
            return None
        if b == _LF and self._after_cr:
            self._after_cr = False
            return None
        self._after_cr = b == _CR
        if b in (_CR, _LF):
            if self.echo:
                out += b"\r\n"
            return self._end()
        if b in (_BS, _DEL):
            self._erase(out)
        elif b == _NAK:
            if not self._overflow and self.echo:
                out += _ERASE * sum(columns for _, columns in self._units)
            self._clear()
        elif b == _ETX:
            self._clear()
            if self.echo:
                out += b"^C\r\n"
            return Blank()
        elif b == _ESC:
            self._esc, self._esc_len = 1, 1
        elif b == _TAB:
            self._add(0x20, out)
        elif b < 0x20:
            self._mark_bad(f"control character 0x{b:02x}")
        else:
            self._add(b, out)
        return None

    def _escape(self, b: int) -> bool:
        """Consume ``b`` as part of an escape sequence; False when it ends one and must be read
        as an ordinary byte."""
        self._esc_len += 1
        state = self._esc
        if state == 1 and b in (0x5B, 0x4F):  # "[" or "O"
            self._esc = 2 if b == 0x5B else 3
            return True
        if state == 2 and 0x20 <= b <= 0x3F and self._esc_len <= MAX_ESCAPE:
            return True
        if state in (2, 3) and 0x40 <= b <= 0x7E:
            self._esc = 0
            return True
        self._esc = 0
        self._mark_bad("unsupported escape sequence")
        return False

    def _add(self, b: int, out: bytearray) -> None:
        if self._overflow:
            return
        if len(self._buf) >= MAX_LINE:
            self._overflow = True
            if self.echo:
                out.append(_BEL)
            return
        self._buf.append(b)
        if b < 0x80 and self._settled == len(self._buf) - 1:  # printable ASCII: as typed
            self._units.append((1, 1))
            self._settled += 1
            if self.echo:
                out.append(b)
            return
        while self._settled < len(self._buf):
            size, shown = _unit(bytes(self._buf[self._settled :]))
            if not size:
                return  # the rest of the character is still to come
            self._units.append((size, len(shown.decode("utf-8"))))
            self._settled += size
            if self.echo:
                out += shown

    def _erase(self, out: bytearray) -> None:
        if self._overflow or not self._buf:
            return
        if self._settled < len(self._buf):  # a character begun, never shown: just forget it
            del self._buf[self._settled :]
            return
        size, columns = self._units.pop()
        del self._buf[-size:]
        self._settled -= size
        if self.echo:
            out += _ERASE * columns

    def _mark_bad(self, reason: str) -> None:
        if self._bad is None:
            self._bad = reason

    def _clear(self) -> None:
        self._buf.clear()
        self._units.clear()
        self._settled = 0
        self._bad = None
        self._overflow = False
        self._esc = 0

    def _end(self) -> Event:
        raw, bad, overflow = bytes(self._buf), self._bad, self._overflow
        self._clear()
        if overflow:
            return BadLine(f"line too long (more than {MAX_LINE} bytes)")
        if bad is not None:
            return BadLine(bad)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return BadLine("line is not UTF-8")
        for ch in text:
            if not ch.isprintable():
                return BadLine(f"unprintable character U+{ord(ch):04X}")
        text = text.strip(" ")
        return Line(text) if text else Blank()
