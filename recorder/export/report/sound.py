"""A recording's sound as report.html shows it, from its ``audio`` object in report.json (made
by ``recorder.export.audio``; its keys: docs/verify-and-export.md, "Where there is no sound").

- **One line**: whether the recording has sound, its format (``AAC-LC 48 kHz mono, 64 kbit/s``),
  where the track runs in the file, and the microphone's clock drift as the camera measured it.
- **No sound at all** is said apart, for the page to show prominently, with its reason.
- **Spans**, in file time order, for the recording's timeline and its table: each span with no
  sound (its ``kind`` from report.json: ``policy``, ``hole``, ``not_exported``, ``none`` or
  ``gap``), with its reason in words and the microphone's faults in it, each at its time; and
  each muted span (``muted``: digital silence, the officer's mute, not missing sound).

Every value in ``audio`` may have come from evidence (a reason quotes a header, a fault its
audit event) and may have any JSON type: what is not what it should be is left out, and every
string from it goes through ``printable``. The words are text: the template escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from recorder.evidence.text import finite, printable

__all__ = ["Sound", "SoundSpan", "build_sound"]

POLICY = "no sound before the trigger: pre-event audio is off by policy"
MUTED = "muted: digital silence, by the officer"
NONE = "no sound at all: "
MUTED_SILENT = "muted by the officer (this recording has no sound)"
_LABELS = {"policy": "no sound: policy", "none": "NO SOUND", "muted": "muted"}
"""What a span says on the timeline's sound lane; any other kind: "no sound"."""
_KINDS = ("policy", "hole", "not_exported", "none", "gap")


class SoundSpan(NamedTuple):
    """A stretch of the file: ``kind`` is one of report.json's ``missing`` kinds (policy, hole,
    not_exported, none, gap) or ``muted``."""

    kind: str
    t0: float
    t1: float
    label: str
    """Its few words on the timeline."""
    words: str
    """What it is and why, in words, faults and their times included."""

    @property
    def style(self) -> str:
        """How it is drawn: ``policy`` (no sound, by the agency's choice), ``muted``, or
        ``lost`` (any other span with no sound)."""
        return self.kind if self.kind in ("policy", "muted") else "lost"


@dataclass
class Sound:
    """What report.html shows of a recording's sound."""

    line: str
    """Whether it has sound, its format, where it runs, the microphone's drift: one line."""
    heard: tuple[float, float] | None = None
    """Where the track runs in the file (seconds); None: the file has no sound."""
    silent: str = ""
    """Not empty: the recording has no sound at all, and why (the page shows it prominently,
    after "no sound at all:")."""
    spans: list[SoundSpan] = field(default_factory=list)
    says_muted: bool = False
    """Its spans hold the muted ones (so the audit log's mute need not be said again)."""
    notes: list[str] = field(default_factory=list)


def _rows(value: Any) -> list[dict[str, Any]]:
    """The objects of a list; nothing from anything else."""
    return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []


def _span(value: Any) -> tuple[float, float] | None:
    """An ``in_file_s`` pair of numbers, from before to after."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    a, b = finite(value[0]), finite(value[1])
    return (a, b) if a is not None and b is not None and a <= b else None


def _secs(t: float) -> str:
    return f"{t:.1f} s"


def build_sound(audio: Any, clock_set: bool) -> Sound | None:
    """The view of a recording's ``audio`` facts; None when it has none. ``clock_set``: the
    camera's clock was set, so a fault's wall time means something."""
    if not isinstance(audio, dict):
        return None
    present = audio.get("present") is True
    fmt = _format(audio.get("format"))
    if not isinstance(audio.get("missing"), list):  # no MP4 was made: nothing is known of it
        return Sound(f"not known: no MP4 was made{f' ({fmt} declared)' if fmt else ''}")
    sound = Sound(_line(audio, present, fmt), says_muted=True)
    if present:
        sound.heard = _span(audio.get("in_file_s"))
    for row in _rows(audio.get("missing")):
        if (span := _span(row.get("in_file_s"))) is None:
            continue
        kind = row.get("kind") if row.get("kind") in _KINDS else "gap"
        words = _missing_words(str(kind), row.get("reason"), row.get("faults"), clock_set)
        sound.spans.append(SoundSpan(str(kind), *span, _LABELS.get(str(kind), "no sound"), words))
        if kind == "none" and not sound.silent:
            sound.silent = words.removeprefix(NONE)
    if not present and not sound.silent:  # said in any case, spans or none
        sound.silent = "the MP4 has no sound track"
    for row in _rows(audio.get("muted")):
        if (span := _span(row.get("in_file_s"))) is not None:
            sound.spans.append(
                SoundSpan("muted", *span, "muted", MUTED if present else MUTED_SILENT)
            )
    sound.spans.sort(key=lambda s: (s.t0, s.t1))
    sound.notes = _notes(audio)
    return sound


def _format(fmt: Any) -> str:
    """``AAC-LC 48 kHz mono, 64 kbit/s``; "" when ``fmt`` is not a format object."""
    if not isinstance(fmt, dict):
        return ""
    codec = fmt.get("codec")
    words = [printable(codec.upper()) if isinstance(codec, str) else "audio"]
    if (rate := finite(fmt.get("rate"))) is not None:
        words.append(f"{rate / 1000:g} kHz")
    channels = fmt.get("channels")
    if type(channels) is int:
        words.append({1: "mono", 2: "stereo"}.get(channels, f"{channels} channels"))
    text = " ".join(words)
    if (bitrate := finite(fmt.get("bitrate"))) is not None and bitrate > 0:
        text += f", {bitrate / 1000:g} kbit/s"
    return text


def _line(audio: dict[str, Any], present: bool, fmt: str) -> str:
    if present:
        line = f"yes: {fmt or 'its format not known'}"
        if (span := _span(audio.get("in_file_s"))) is not None:
            line += f", from {_secs(span[0])} to {_secs(span[1])} in the file"
    elif audio.get("declared") is not True:
        line = "NO SOUND: the camera declared no microphone"
    elif fmt:
        line = f"NO SOUND: {fmt} declared, but no sound was recorded"
    else:
        line = "NO SOUND: no format this export can use was declared"
    if drift := _drift(audio.get("timing")):
        line += f"; {drift}"
    return line


def _drift(timing: Any) -> str:
    """The microphone's clock against nominal, as the camera measured it at each segment."""
    rows = [finite(r.get("drift_ppm")) for r in _rows(timing)]
    ppm = [d + 0.0 for d in rows if d is not None]  # + 0.0: -0.0 is no drift either
    if not ppm:
        return ""
    low, high = min(ppm), max(ppm)
    measured = f"{low:+.2f} ppm" if low == high else f"{low:+.2f} to {high:+.2f} ppm"
    n = len(ppm)
    per = "its segment" if n == 1 else f"each of its {n} segments"
    return f"microphone clock drift {measured} (measured by the camera at {per})"


def _missing_words(kind: str, reason: Any, faults: Any, clock_set: bool) -> str:
    if kind == "policy":
        return POLICY
    why = printable(reason) if isinstance(reason, str) and reason else "not known"
    words = why if why.startswith("no sound") else f"no sound: {why}"
    said = [_fault_words(f, clock_set) for f in _rows(faults)]
    if said:
        words += "; " + "; ".join(said)
    return words


def _fault_words(f: dict[str, Any], clock_set: bool) -> str:
    """A microphone's ``fault`` event in words, with its time."""
    what, error = f.get("what"), f.get("error")
    quoted = f": {_quoted(error)}" if error is not None else ""
    event = "fault"
    if what == "microphone":
        said = f"the microphone failed{quoted}"
    elif what == "microphone overrun":
        said = "the microphone overran: samples were lost"
    elif what == "microphone resumed":
        said, event = "the microphone came back", ""
    else:
        said = f"{printable(what)}{quoted}"
    at = []
    if clock_set and isinstance(f.get("wall"), str):
        at.append(_clock(f["wall"]))
    if (t := finite(f.get("in_file_s"))) is not None:
        at.append(f"{_secs(t)} in the file")
    when = f"at {', '.join(at)}" if at else ""
    said_when = " ".join(w for w in (event, when) if w)
    return f"{said} ({said_when})" if said_when else said


def _quoted(value: Any) -> str:
    """The device's own words, in quotes (``printable`` quotes a string it escapes)."""
    shown = printable(value)
    return f'"{shown}"' if isinstance(value, str) and shown == value else shown


def _clock(wall: str) -> str:
    """An RFC 3339 UTC time as ``12:03:04.123 UTC``; any other string as it is, printable."""
    try:
        t = datetime.fromisoformat(wall.replace("Z", "+00:00"))
    except ValueError:
        return printable(wall)
    if t.utcoffset() != timedelta(0):
        return printable(wall)
    return t.strftime("%H:%M:%S.%f")[:-3] + " UTC"


def _notes(audio: dict[str, Any]) -> list[str]:
    notes = []
    for row in _rows(audio.get("not_exported")):
        if type(row.get("seq")) is int:
            n = row.get("packets")
            packets = f", {n} packets," if type(n) is int else ""
            why = printable(row.get("reason"))
            notes.append(f"segment #{row['seq']}'s sound{packets} is not in the MP4: {why}")
    for key, what in (
        ("dropped_before_video", "from before the first picture"),
        ("dropped_out_of_order", "whose time did not follow the one before"),
    ):
        n = audio.get(key)
        if type(n) is int and n > 0:
            packets = "1 sound packet" if n == 1 else f"{n} sound packets"
            notes.append(f"{packets} {what} left out of the MP4")
    return notes
