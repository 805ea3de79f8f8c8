"""A recording's timeline: what happened when, in seconds of its MP4 (file time 0 is its first
frame), from the export's report and the verified audit events.

Points: the trigger, the start (the ``record_start`` event, logged once the pre-roll was
durable), markers and the stop; and apart, each switch of mute or stealth during the recording.
Spans: the pre-roll, mute and stealth (from the on and off events; a state on before the
recording started spans from its start, one still on at its end runs to the end), the segments
with their verdicts, and the holes. The audit events of a
recording are those between its ``record_start`` and its ``record_stop``, in log order; mute and
stealth are the state machine's, which a ``boot`` resets, so their state at the start is worked
out from the events since the last boot.

Device times (``mono_us``, frame pts) are one boot's monotonic clock; the recording's first
exported frame is file time 0. Every value here may come from signed evidence and have any JSON
type: what is not what it should be is left out, never trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from recorder.evidence.text import finite

__all__ = ["Mark", "Span", "Timeline", "build_timeline", "wall_plus"]


class Mark(NamedTuple):  # a NamedTuple, not a frozen dataclass: a fifth of the import time
    """A moment: ``kind`` is trigger, start, marker, post_record or stop."""

    kind: str
    t: float | None
    """Seconds in the file; None when it cannot be placed."""
    wall: str | None
    label: str


class Span(NamedTuple):
    """A stretch: ``kind`` is pre_roll, mute, stealth, segment or hole."""

    kind: str
    t0: float
    t1: float
    label: str
    verdict: str = ""


@dataclass
class Timeline:
    duration: float | None
    """Seconds the axis spans; None when nothing places the recording in time."""
    marks: list[Mark] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    anchor: tuple[float, str] | None = None
    """(file seconds, wall time) of one signed moment, when the camera's clock was set."""
    switches: list[Mark] = field(default_factory=list)
    """Mute and stealth switched on or off during the recording: ``kind`` is the audit event
    (mute, unmute, stealth_on, stealth_off); one that changed nothing is not here."""

    def of(self, kind: str) -> list[Span]:
        return [s for s in self.spans if s.kind == kind]

    @property
    def markers(self) -> list[Mark]:
        return [m for m in self.marks if m.kind == "marker"]

    def wall_at(self, t: float) -> str | None:
        """The wall time at file time ``t``, from the anchor."""
        if self.anchor is None:
            return None
        at, wall = self.anchor
        return wall_plus(wall, t - at)

    def x(self, t: float, width: float) -> float:
        """``t`` on an axis ``width`` wide."""
        if not self.duration:
            return 0.0
        return round(min(max(t, 0.0), self.duration) / self.duration * width, 2)

    def ticks(self) -> list[float]:
        """Round seconds for the axis: at most about a dozen."""
        if not self.duration:
            return []
        step = next(
            (s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800) if self.duration / s <= 12),
            3600,
        )
        return [float(i * step) for i in range(int(self.duration // step) + 1)]


def wall_plus(wall: str, seconds: float) -> str | None:
    """An RFC 3339 UTC time plus ``seconds``, in the same form; None for a time it cannot read."""
    try:
        t = datetime.fromisoformat(wall.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    except (ValueError, OverflowError, TypeError):
        return None
    if t.utcoffset() != timedelta(0):
        return None
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _window(events: list[dict[str, Any]], rid: str) -> tuple[int, int] | None:
    """Indexes of the recording's record_start and of its record_stop (or of the last event
    before the next boot, for a recording a power cut ended)."""
    start = next(
        (
            i
            for i, e in enumerate(events)
            if e.get("event") == "record_start" and e.get("recording_id") == rid
        ),
        None,
    )
    if start is None:
        return None
    for i in range(start + 1, len(events)):
        e = events[i]
        if e.get("event") == "record_stop" and e.get("recording_id") == rid:
            return start, i
        if e.get("event") == "boot":
            return start, i - 1
    return start, len(events) - 1


def build_timeline(
    output: dict[str, Any], events: list[dict[str, Any]], verdicts: dict[int, str]
) -> Timeline:
    """The timeline of one recording of the report (``output``), placed by its audit events;
    ``verdicts`` gives each segment's verdict by seq."""
    rid = output.get("recording_id")
    window = _window(events, rid) if isinstance(rid, str) else None
    start = events[window[0]] if window else {}
    origin = _int(output.get("first_pts_us"))
    trigger_us = _int(start.get("trigger_us"))
    pre = finite(start.get("pre_roll_s"))
    if origin is None and trigger_us is not None:  # not exported: the pre-roll's first frame
        origin = trigger_us - round((pre or 0.0) * 1e6)

    def t(us: Any) -> float | None:
        us = _int(us)
        return None if us is None or origin is None else round((us - origin) / 1e6, 6)

    duration = finite(output.get("duration_s"))
    if duration is None and window and origin is not None:
        duration = max(0.0, t(events[window[1]].get("mono_us")) or 0.0)
    tl = Timeline(duration if duration else None)
    clock_set = output.get("clock_set") is True
    at = t(start.get("mono_us"))
    if window and clock_set and at is not None and isinstance(start.get("wall"), str):
        tl.anchor = (at, start["wall"])

    def wall(e: dict[str, Any]) -> str | None:
        w = e.get("wall")
        return w if clock_set and isinstance(w, str) else None

    if window and isinstance(rid, str):
        _events_of(tl, events, window, rid, t, wall)
    for row in output.get("segment_pts_us") or []:
        if isinstance(row, list) and len(row) == 3 and all(type(v) is int for v in row):
            seq, first, last = row
            t0, t1 = t(first), t(last)
            if t0 is not None and t1 is not None:
                label = f"segment #{seq} {verdicts.get(seq, '?')}"
                tl.spans.append(Span("segment", t0, t1, label, verdicts.get(seq, "")))
    for h in output.get("holes") or []:
        span = h.get("in_file_s") if isinstance(h, dict) else None
        if isinstance(span, list) and len(span) == 2 and all(finite(v) is not None for v in span):
            what = "CUT SHORT" if h.get("kind") == "cut" else "MISSING"
            tl.spans.append(Span("hole", float(span[0]), float(span[1]), what, what))
    return tl


def _events_of(
    tl: Timeline,
    events: list[dict[str, Any]],
    window: tuple[int, int],
    rid: str,
    t: Any,
    wall: Any,
) -> None:
    first, last = window
    boot = max((i for i in range(first) if events[i].get("event") == "boot"), default=0)
    state = {"mute": False, "stealth": False}
    for e in events[boot:first]:
        _toggle(state, e)
    start = events[first]
    trigger = start.get("trigger")
    tl.marks.append(
        Mark(
            "trigger",
            t(start.get("trigger_us")),
            None,
            f"trigger ({trigger})" if isinstance(trigger, str) else "trigger",
        )
    )
    if (t_trigger := t(start.get("trigger_us"))) is not None and t_trigger > 0:
        tl.spans.append(Span("pre_roll", 0.0, t_trigger, "pre-roll"))
    tl.marks.append(Mark("start", t(start.get("mono_us")), wall(start), "start (pre-roll durable)"))
    opened = {k: (t_trigger or 0.0) for k, on in state.items() if on}
    end = tl.duration or 0.0
    n_marker = 0
    for e in events[first + 1 : last + 1]:
        kind, at = e.get("event"), t(e.get("mono_us"))
        if kind == "marker" and e.get("recording_id") == rid:
            n_marker += 1
            tl.marks.append(Mark("marker", at, wall(e), f"marker {n_marker}"))
        elif kind == "post_record" and e.get("recording_id") == rid:
            tl.marks.append(Mark("post_record", at, wall(e), "stop pressed (post-record)"))
        elif kind == "record_stop" and e.get("recording_id") == rid:
            reason = e.get("reason")
            label = f"stop ({reason})" if isinstance(reason, str) else "stop"
            tl.marks.append(Mark("stop", at, wall(e), label))
        before = dict(state)
        _toggle(state, e)
        for k in state:
            if state[k] != before[k] and at is not None:
                tl.switches.append(Mark(str(kind), at, wall(e), _SWITCHED[k, state[k]]))
            if state[k] and not before[k] and at is not None:
                opened[k] = at
            elif before[k] and not state[k] and k in opened:
                tl.spans.append(Span(k, opened.pop(k), at if at is not None else end, k))
    for k, since in opened.items():  # still on when the recording ended
        tl.spans.append(Span(k, since, max(end, since), k))


_SWITCHED = {
    ("mute", True): "muted",
    ("mute", False): "unmuted",
    ("stealth", True): "stealth on",
    ("stealth", False): "stealth off",
}


def _toggle(state: dict[str, bool], e: dict[str, Any]) -> None:
    kind = e.get("event")
    if kind == "boot":
        state.update(mute=False, stealth=False)
    elif kind in ("mute", "unmute"):
        state["mute"] = kind == "mute"
    elif kind in ("stealth_on", "stealth_off"):
        state["stealth"] = kind == "stealth_on"
