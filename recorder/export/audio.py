"""A recording's sound in the export: its MP4 track's format, and where it has none, and why.

**The format** is the first valid ``audio`` object among its segments' headers (spec section
9.2), in segment order. A segment whose header declares another format (a different
AudioSpecificConfig, rate or channel count), or none, or one that is not valid, keeps its
pictures in the MP4 but not its sound: one MP4 track has one decoder configuration, and a
recording is not refused for the sake of its sound. The report names each such segment, how
many packets it held and why they are not in the file.

**Where there is no sound**, over the MP4's length (its video track), each span gets a kind
and a reason:

- ``policy``: before the trigger, when the headers say ``pre_event_audio`` false: the camera
  keeps no pre-event sound, by the agency's choice;
- ``hole``: a segment missing from the recording (no picture either);
- ``not_exported``: a segment whose sound is not in the MP4 (above);
- ``none``: no sound at all: no header declares a microphone, or none of its packets came
  (a microphone fault the whole time);
- ``gap``: samples lost: more than 1.5 frames between two packets (an overrun or a fault), or
  from the trigger (or the start) to the first packet, or from the last packet to the end
  (beyond ``TAIL_S``: what the capture still held when the recording stopped).

Each span lists the audit log's ``fault`` events whose ``what`` begins with ``microphone`` that
fall in it, or that say what went wrong within NOTICED_US after it (the recorder audits an
overrun when the capture is back, as the sound resumes), of the recording's boot (monotonic
times compare only within one), and, for a span
that begins the recording's sound, the fault the microphone was in when it began. Mute is not
missing sound: ``muted`` lists the mute spans (digital silence, spec 9.2), as the report's
timeline finds them in the audit log. The anchor and drift of each segment's sample clock come
from its header as they are.

Every value read from a header or an event may have any JSON type; what is not what it should
be is left out or named, never trusted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from recorder.evidence.text import finite, printable
from recorder.export.aac import AudioFormatError, AudioTrack
from recorder.export.mp4 import GAP_FRAMES, Mp4Result
from recorder.export.recordings import hole_words

__all__ = ["NOTICED_US", "TAIL_S", "AudioPlan", "audio_facts", "audio_text", "plan_audio"]

NOTICED_US = 500_000
"""How long after a span of lost sound the recorder may audit what caused it."""

TAIL_S = 0.25
"""At the stop, the sound may end this long before the pictures without being called lost: a
record's sound trails its pictures by what the capture holds (a read period, the samples
gathered into an encoder frame, the encoder's delay of two frames: spec 9.2), and a recording
stops with its pictures. On the simulator it is about 0.15 s, the last picture's length
included."""
MUTED = "muted (digital silence)"


@dataclass
class AudioPlan:
    """What the headers of a recording's segments say of its sound."""

    track: AudioTrack | None = None
    """The MP4's audio track format; None: no valid header declares one."""
    declared: bool = False
    """Some header carries an ``audio`` object."""
    pre_event_audio: bool | None = None
    """The first segment's ``pre_event_audio``, when it is a boolean."""
    excluded: dict[int, str] = field(default_factory=dict)
    """seq -> why its sound is not in the MP4."""
    timing: list[dict[str, Any]] = field(default_factory=list)
    dropped: Counter[int] = field(default_factory=Counter)
    """seq -> the audio packets of an excluded segment that were left out (filled by the
    exporter as it reads)."""

    def keeps(self, seq: int) -> bool:
        return self.track is not None and seq not in self.excluded


def plan_audio(headers: list[tuple[int, dict[str, Any]]]) -> AudioPlan:
    """The audio track of a recording from its segments' ``(seq, header meta)``, in seq order."""
    plan = AudioPlan()
    for seq, meta in headers:
        if "audio" not in meta:
            plan.excluded[seq] = "its header declares no audio format"
            continue
        plan.declared = True
        raw = meta["audio"]
        if isinstance(raw, dict):
            row = {"seq": seq}
            row |= {k: raw[k] for k in ("anchor_us", "drift_ppm") if finite(raw.get(k)) is not None}
            plan.timing.append(row)
            if plan.pre_event_audio is None and type(raw.get("pre_event_audio")) is bool:
                plan.pre_event_audio = raw["pre_event_audio"]
        try:
            track = AudioTrack.from_meta(raw)
        except AudioFormatError as e:
            plan.excluded[seq] = f"its header's audio format is not valid: {e}"
            continue
        if plan.track is None:
            plan.track = track
        elif _decoded(track) != _decoded(plan.track):
            plan.excluded[seq] = (
                f"its format ({track.describe()}) is not the file's ({plan.track.describe()})"
            )
    return plan


def _decoded(t: AudioTrack) -> tuple[int, int, bytes]:
    """What decoding depends on (the bitrate is the encoder's target, and does not)."""
    return t.rate, t.channels, t.config


def audio_facts(
    plan: AudioPlan,
    mp4: Mp4Result | None,
    output: dict[str, Any],
    events: list[dict[str, Any]],
    spans: dict[int, tuple[int, int]],
) -> dict[str, Any]:
    """report.json's ``audio`` object of one recording (``output`` is its entry so far,
    ``events`` the verified audit events, oldest first; ``spans`` its segments' first and last
    video pts)."""
    facts: dict[str, Any] = {
        "present": bool(mp4 and mp4.audio_packets),
        "declared": plan.declared,
        "format": plan.track.to_json() if plan.track else None,
        "pre_event_audio": plan.pre_event_audio,
        "timing": plan.timing,
        "not_exported": [
            {"seq": seq, "packets": n, "reason": plan.excluded.get(seq, "")}
            for seq, n in sorted(plan.dropped.items())
        ],
    }
    if mp4 is None:
        return facts
    zero = mp4.first_pts_us
    frame_us = plan.track.frame_us if plan.track else 0.0
    facts |= {
        "packets": mp4.audio_packets,
        "first_pts_us": mp4.audio_first_pts_us,
        "in_file_s": None,
        "duration_s": round(mp4.audio_duration_s, 6),
        "dropped_before_video": mp4.audio_dropped_before_video,
        "dropped_out_of_order": mp4.audio_dropped_out_of_order,
    }
    if mp4.audio_first_pts_us is not None:
        at = (mp4.audio_first_pts_us - zero) / 1e6
        facts["in_file_s"] = [round(at, 6), round(at + mp4.audio_duration_s, 6)]
    from recorder.export.report.timeline import build_timeline  # not on every command's import

    tl = build_timeline(output, events, {})
    facts["muted"] = [
        {"in_file_s": [round(s.t0, 6), round(s.t1, 6)], "reason": MUTED} for s in tl.of("mute")
    ]
    trigger = next((m.t for m in tl.marks if m.kind == "trigger" and m.t is not None), None)
    if trigger is None and type(output.get("pre_roll_s")) in (int, float):
        trigger = float(output["pre_roll_s"])  # the header's: trigger less the first frame
    end = zero + round(mp4.duration_s * 1e6)
    found = _Spans(zero, end, plan, output, spans, _microphone(events, output))
    first, last = mp4.audio_first_pts_us, mp4.audio_last_pts_us
    start = zero
    if plan.pre_event_audio is False and trigger is not None:
        start = max(zero, min(zero + round(trigger * 1e6), end, end if first is None else first))
        why = "before the trigger: no pre-event sound, by policy (pre_event_audio false)"
        found.add(zero, start, "policy", why)
    if first is None or last is None:
        if not plan.declared:
            why = "no microphone: no header declares audio"
        elif plan.track is None:
            why = "no header declares an audio format this export can use"
        else:
            why = "no audio packet recorded (a microphone fault the whole time?)"
        found.add(start, end, "none", f"no sound at all: {why}", opening=True)
    else:
        if first - start > GAP_FRAMES * frame_us:
            found.add(start, first, "gap", "no sound before the first packet", opening=True)
        for a, b in mp4.audio_gaps:
            found.add(a, b, "gap", "samples lost between two packets (an overrun or a fault)")
        last_end = last + round(frame_us)
        if end - last_end > TAIL_S * 1e6:
            found.add(last_end, end, "gap", "no sound after the last packet")
    facts["missing"] = found.rows
    return facts


class _Spans:
    """The spans with no sound, each with its kind, reason and faults."""

    def __init__(
        self,
        zero: int,
        end: int,
        plan: AudioPlan,
        output: dict[str, Any],
        spans: dict[int, tuple[int, int]],
        faults: list[dict[str, Any]],
    ) -> None:
        self.zero, self.end = zero, end
        self.plan, self.output, self.spans, self.faults = plan, output, spans, faults
        self.rows: list[dict[str, Any]] = []

    def add(self, a: int, b: int, kind: str, reason: str, *, opening: bool = False) -> None:
        if b <= a:
            return
        t0, t1 = (a - self.zero) / 1e6, (b - self.zero) / 1e6
        if kind != "policy":
            kind, reason = self._cause(a, b, t0, t1, kind, reason)
        row: dict[str, Any] = {
            "kind": kind,
            "in_file_s": [round(t0, 6), round(t1, 6)],
            "from_device_us": a,
            "to_device_us": b,
            "seconds": round(t1 - t0, 6),
            "reason": reason,
        }
        if kind != "policy":
            row["faults"] = self._faults(a, b, opening)
        self.rows.append(row)

    def _cause(
        self, a: int, b: int, t0: float, t1: float, kind: str, reason: str
    ) -> tuple[str, str]:
        """A missing segment or a segment whose sound was left out explains a span first."""
        holes = []
        for h in self.output.get("holes") or []:
            span = h.get("in_file_s")
            if isinstance(span, list) and len(span) == 2 and span[0] < t1 and span[1] > t0:
                holes.append(hole_words(h))
        if holes:
            return "hole", "; ".join(holes) + ": no picture either"
        left = [
            f"segment #{seq}'s sound is not in the MP4: {self.plan.excluded[seq]}"
            for seq, (v0, v1) in sorted(self.spans.items())
            if seq in self.plan.excluded and self.plan.dropped[seq] and v0 < b and v1 >= a
        ]
        if left:
            return "not_exported", "; ".join(left)
        return kind, reason

    def _faults(self, a: int, b: int, opening: bool) -> list[dict[str, Any]]:
        """The microphone's faults in ``a..b``, and the one it was in at ``a`` (``opening``)."""
        inside = [
            e
            for e in self.faults
            if a <= e["mono_us"] <= b
            or (b < e["mono_us"] <= b + NOTICED_US and "resumed" not in str(e.get("what")))
        ]
        before = [e for e in self.faults if e["mono_us"] < a]
        if opening and before and "resumed" not in str(before[-1].get("what")):
            inside.insert(0, before[-1])
        return [_fault(e, self.zero) for e in inside]


def _microphone(events: list[dict[str, Any]], output: dict[str, Any]) -> list[dict[str, Any]]:
    """The microphone's fault events of the recording's boot (from the boot before its
    ``record_start`` to the next boot), with a whole-number ``mono_us``, in log order."""
    rid = output.get("recording_id")
    start = next(
        (
            i
            for i, e in enumerate(events)
            if e.get("event") == "record_start" and e.get("recording_id") == rid
        ),
        None,
    )
    if start is None:
        return []
    first = max((i for i in range(start) if events[i].get("event") == "boot"), default=0)
    last = next(
        (i for i in range(start + 1, len(events)) if events[i].get("event") == "boot"),
        len(events),
    )
    return [
        e
        for e in events[first:last]
        if e.get("event") == "fault"
        and isinstance(e.get("what"), str)
        and e["what"].startswith("microphone")
        and type(e.get("mono_us")) is int
    ]


def _fault(e: dict[str, Any], zero: int) -> dict[str, Any]:
    keys = ("audit_seq", "n", "what", "error", "wall", "mono_us")
    out: dict[str, Any] = {k: e[k] for k in keys if k in e}
    out["in_file_s"] = round((e["mono_us"] - zero) / 1e6, 6)
    return out


def audio_text(audio: dict[str, Any]) -> list[str]:
    """report.txt's lines for a recording's ``audio`` facts (every value from evidence goes
    through ``printable``)."""
    fmt = audio.get("format")
    if fmt:
        config = bytes.fromhex(fmt["config"])
        head = AudioTrack(fmt["rate"], fmt["channels"], config, fmt["bitrate"]).describe()
    else:
        head = "none declared" if not audio["declared"] else "no usable format declared"
    if audio.get("packets"):
        at, until = audio["in_file_s"]
        head += f"; {audio['packets']} packets, {at:.3f} s to {until:.3f} s in the file"
    elif "packets" in audio:
        head += "; no sound in the MP4"
    lines = [f"    {'audio:':<14}{head}"]
    clocks = [
        f"segment #{r['seq']} anchor {r['anchor_us'] / 1e6:.6f} s, drift {r['drift_ppm']:+.2f} ppm"
        for r in audio["timing"]
        if "anchor_us" in r and "drift_ppm" in r
    ]
    if clocks:
        lines.append(f"    {'audio clock:':<14}" + "; ".join(clocks))
    for m in audio.get("missing", []):
        at, until = m["in_file_s"]
        lines.append(
            f"    {'NO AUDIO:':<14}{at:.3f} s to {until:.3f} s ({m['seconds']:.3f} s): "
            + printable(m["reason"])
        )
        for f in m.get("faults", []):
            error = f" ({printable(f['error'])})" if "error" in f else ""
            lines.append(
                f"        fault:       {printable(f.get('what'))}{error} at "
                f"{f['in_file_s']:.3f} s in the file, {printable(f.get('wall', '?'))}"
            )
    for m in audio.get("muted", []):
        at, until = m["in_file_s"]
        lines.append(f"    {'MUTED:':<14}{at:.3f} s to {until:.3f} s: {m['reason']}")
    for n in audio["not_exported"]:
        lines.append(
            f"    {'NOT IN MP4:':<14}segment #{n['seq']}'s sound, {n['packets']} packets: "
            + printable(n["reason"])
        )
    for key, what in (
        ("dropped_before_video", "before the first video frame"),
        ("dropped_out_of_order", "whose time did not follow the packet before"),
    ):
        if audio.get(key):
            lines.append(f"    {'audio note:':<14}{audio[key]} packets {what} were left out")
    return lines
