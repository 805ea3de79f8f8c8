"""Which media segments make up each recording, by what the signed evidence says, and its holes.

A recording's verdict must account for every segment that belongs to it, not only for the
segments that happen to be in the evidence directory. Four signed sources say what belongs:

* a segment's header: ``recording_id`` and ``part``. A recording's parts take consecutive numbers
  of the media stream (one recording is written at a time), so part ``p`` at seq ``s`` also says
  that seqs ``s-p+1 .. s-1`` were its parts 1 to ``p-1``;
* the audit log's ``segment_open`` (``seq``, ``recording_id``, ``part``) and ``record_stop``
  (``recording_id`` and the list of its ``segments``);
* the chain: every number from 1 to the highest named is a segment, except one the verifier
  judged reserved and never written (``Report.reserved``: the next file's link notes it as TORN
  with 0 records and no chain, and no signed evidence shows that it had a header).

A number that is not here (or whose file does not verify) is a hole. When no source ties it to a
recording, it is charged to the recording just before it, unless a ``record_stop`` says where that
recording ended: the missing segments may be its tail. Otherwise it is reported on its own.

Two files that both verify as one seq are one segment taken once (the copy the verifier took);
when their contents differ, the recording is TAMPERED. A segment that verifies only in part
(TAMPERED, no FINAL record), or that another verified copy of the same file shows to be shorter
than it was, leaves a hole from its last verified record to the next segment.

This module decides from the verification report alone; the exporter adds the holes' times once it
has read the frames around them (``Hole.timing``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recorder.evidence.audit import rfc3339
from recorder.evidence.chain import FileCheck, Report, gaps
from recorder.evidence.header import Kind
from recorder.evidence.reader import Verdict

__all__ = [
    "AuditFacts",
    "Hole",
    "Plan",
    "Recording",
    "frame_wall",
    "hole_segments",
    "hole_words",
    "plan",
    "power_cut",
    "time_hole",
]

_UNSIGNED = (Verdict.FOREIGN, Verdict.MALFORMED)


@dataclass
class Hole:
    """Footage that belongs to a recording (or to the stream) and is not in the export."""

    first: int
    last: int
    """The seq range of the missing segments; for a segment cut short, its own seq twice."""
    found: str
    """What stands in its place."""
    known_by: str
    """Which signed source ties it to its recording."""
    cut: bool = False
    """A segment exported in part, not a missing one."""
    timing: dict[str, Any] = field(default_factory=dict)
    """Its time range and how it was inferred; filled in by the exporter."""

    @property
    def span(self) -> str:
        return _span(self.first, self.last)

    def to_json(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "last": self.last,
            "kind": "cut" if self.cut else "missing",
            "found": self.found,
            "known_by": self.known_by,
            **self.timing,
        }


@dataclass
class Recording:
    recording_id: str
    first: int
    last: int
    """The seq range that belongs to it, whether here or not (a recording's parts are
    consecutive)."""
    segments: list[FileCheck] = field(default_factory=list)
    """The one verified copy of each of its segments that is here, in seq order."""
    holes: list[Hole] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Duplicates taken once, and the like: reported, not held against the footage."""
    conflicts: list[str] = field(default_factory=list)
    """Signed sources or files that disagree about its segments: TAMPERED."""

    @property
    def span(self) -> str:
        return _span(self.first, self.last)

    @property
    def meta(self) -> dict[str, Any]:
        h = self.segments[0].outcome.header if self.segments else None
        return h.meta if h else {}

    @property
    def verdict(self) -> Verdict:
        worst = max(
            (s.outcome.verdict for s in self.segments), key=lambda v: v.rank, default=Verdict.OK
        )
        if any(not h.cut for h in self.holes) and worst.rank < Verdict.MISSING.rank:
            worst = Verdict.MISSING
        cut = any(h.cut for h in self.holes)  # records were taken from a segment after the fact
        if (self.conflicts or cut) and worst.rank < Verdict.TAMPERED.rank:
            worst = Verdict.TAMPERED
        return worst

    @property
    def reasons(self) -> list[str]:
        """Why the verdict is what it is, besides its holes: one line each."""
        out = [
            f"segment #{s.seq} {s.outcome.verdict}: {s.outcome.reason}"
            for s in self.segments
            if s.outcome.verdict is not Verdict.OK
        ]
        return out + self.conflicts


@dataclass
class Plan:
    recordings: list[Recording]
    unattributed: list[Hole]
    """Holes in the media stream that no signed source ties to a recording."""
    chosen: dict[int, FileCheck]
    """seq -> the one copy of it that is exported."""
    audit: AuditFacts


@dataclass(frozen=True)
class _Claim:
    """A signed source says that seqs ``lo..hi`` belong to recording ``rid``."""

    rid: str
    lo: int
    hi: int
    source: str


def hole_segments(h: dict[str, Any]) -> str:
    """``segment #2`` or ``segments #2-3``, for a hole as the report gives it."""
    if h["first"] == h["last"]:
        return f"segment #{h['first']}"
    return f"segments #{h['first']}-{h['last']}"


def hole_words(h: dict[str, Any]) -> str:
    """``segment #2 missing`` or ``segments #2-3 cut short``, for a hole as the report gives
    it."""
    return f"{hole_segments(h)} {'cut short' if h.get('kind') == 'cut' else 'missing'}"


def _span(lo: int, hi: int) -> str:
    return f"#{lo}" if lo == hi else f"#{lo}-{hi}"


def _same_segment(a: FileCheck, b: FileCheck) -> bool:
    """Both are (possibly shorter) copies of one signed file."""
    n = min(len(a.outcome.chains), len(b.outcome.chains))
    return a.outcome.header == b.outcome.header and a.outcome.chains[:n] == b.outcome.chains[:n]


def _further(a: FileCheck, b: FileCheck) -> bool:
    """``a`` verifies further than ``b``: its FINAL record where ``b`` has none, or more valid
    records."""
    return (a.outcome.final, a.outcome.valid) > (b.outcome.final, b.outcome.valid)


def _taken(copies: list[FileCheck]) -> FileCheck:
    """The copy the verifier took for this number (the others it marked as duplicates: it
    prefers the one the next file's signed link names, then the one that verifies further)."""
    return next((c for c in copies if not c.duplicate), copies[0])


def _what_is_here(lo: int, hi: int, report: Report) -> str:
    """What stands at missing seqs: files named for them that do not verify, or nothing."""
    found = []
    for c in report.checks:
        if c.outcome.header is not None and c.outcome.verdict not in _UNSIGNED:
            continue
        named = c.entry.named
        if named is not None and named[0] is Kind.MEDIA and lo <= named[1] <= hi:
            found.append(f"{c.name} is here but {c.outcome.verdict}: {c.outcome.reason}")
    return "; ".join(found) or "no file here verifies as it"


@dataclass
class AuditFacts:
    """What the verified audit events say about the media segments."""

    opened: dict[int, dict[str, Any]] = field(default_factory=dict)
    """seq -> its segment_open event."""
    closed: dict[int, dict[str, Any]] = field(default_factory=dict)
    """seq -> its segment_close event."""
    stopped: dict[str, list[int]] = field(default_factory=dict)
    """recording_id -> the segments its record_stop lists."""
    resumed: dict[str, dict[str, Any]] = field(default_factory=dict)
    """recording_id -> its record_start, for a recording that resumed after a power cut."""

    @classmethod
    def of(cls, report: Report) -> AuditFacts:
        facts = cls()
        for c in report.checks:
            h = c.outcome.header
            if h is None or h.kind is not Kind.AUDIT:
                continue
            for e in c.events:
                seq, rid = _seq(e.get("seq")), e.get("recording_id")
                if e["event"] == "segment_open" and seq and isinstance(rid, str):
                    facts.opened.setdefault(seq, e)
                elif e["event"] == "segment_close" and seq:
                    facts.closed.setdefault(seq, e)
                elif e["event"] == "record_start" and e.get("trigger") == "resume":
                    if isinstance(rid, str):
                        facts.resumed.setdefault(rid, e)
                elif e["event"] == "record_stop" and isinstance(rid, str):
                    listed = e.get("segments")
                    if isinstance(listed, list):
                        facts.stopped[rid] = [s for s in map(_seq, listed) if s]
        return facts

    def claims(self) -> list[_Claim]:
        out = [
            _Claim(e["recording_id"], s, s, "the audit log's segment_open")
            for s, e in self.opened.items()
        ]
        for rid, seqs in self.stopped.items():
            out += [_Claim(rid, s, s, "the audit log's record_stop") for s in seqs]
        return out


def _seq(value: Any) -> int | None:
    """A seq from an audit event, if it is one (a positive integer)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if ok else None


def plan(report: Report) -> Plan:
    """Group the verified media segments of ``report`` into recordings, and find their holes."""
    copies: dict[int, list[FileCheck]] = defaultdict(list)
    for c in report.checks:
        h = c.outcome.header
        # never export footage this device did not sign
        if h is not None and h.kind is Kind.MEDIA and c.outcome.verdict not in _UNSIGNED:
            copies[h.seq].append(c)
    chosen = {seq: _taken(cs) for seq, cs in copies.items()}
    audit = AuditFacts.of(report)
    claims = _header_claims(chosen) + audit.claims()
    reserved = report.reserved.get(Kind.MEDIA, set())  # the verifier's decision, never our own
    extent: dict[str, tuple[int, int]] = {}
    for cl in claims:
        lo, hi = extent.get(cl.rid, (cl.lo, cl.hi))
        extent[cl.rid] = (min(lo, cl.lo), max(hi, cl.hi))

    # Numbers no source ties to a recording: charged to the one before, unless its end is known.
    highest = max([*chosen, *(hi for _, hi in extent.values())], default=0)
    taken = [*extent.values(), *((s, s) for s in [*chosen, *reserved])]
    ends = {hi: rid for rid, (_, hi) in extent.items()}
    unattributed: list[Hole] = []
    for lo, hi in gaps(1, highest, taken):
        rid = ends.get(lo - 1)
        if rid is not None and rid not in audit.stopped:
            how = (
                f"following #{lo - 1}, its last part here, when no record_stop says where it ended"
            )
            claims.append(_Claim(rid, lo, hi, how))
            extent[rid] = (extent[rid][0], hi)
        else:
            found = _what_is_here(lo, hi, report)
            unattributed.append(Hole(lo, hi, found, "the numbering of the chain"))

    recordings = [Recording(rid, lo, hi) for rid, (lo, hi) in extent.items()]
    recordings.sort(key=lambda r: (r.first, r.last))
    by_id = {r.recording_id: r for r in recordings}
    for _, c in sorted(chosen.items()):
        by_id[_rid(c)].segments.append(c)
    reach: Recording | None = None  # of the recordings so far, the one that reaches furthest
    for rec in recordings:
        if reach is not None and rec.first <= reach.last:
            why = f"recordings {reach.recording_id} ({reach.span}) and {rec.recording_id} "
            why += f"({rec.span}) claim the same segments"
            reach.conflicts.append(why)
            rec.conflicts.append(why)
        if reach is None or rec.last > reach.last:
            reach = rec
    for rec in recordings:
        _holes(rec, claims, chosen, reserved, copies, report)
    return Plan(recordings, unattributed, chosen, audit)


def _rid(c: FileCheck) -> str:
    meta = c.outcome.header.meta  # type: ignore[union-attr]
    return str(meta.get("recording_id", f"seq{c.seq}"))


def _header_claims(chosen: dict[int, FileCheck]) -> list[_Claim]:
    out = []
    for seq, c in sorted(chosen.items()):
        out.append(_Claim(_rid(c), seq, seq, "its header"))
        part = c.outcome.header.meta.get("part")  # type: ignore[union-attr]
        if isinstance(part, int) and not isinstance(part, bool) and part > 1:
            out.append(
                _Claim(
                    _rid(c), max(1, seq - part + 1), seq - 1, f"the part number in #{seq}'s header"
                )
            )
    return out


def _holes(
    rec: Recording,
    claims: list[_Claim],
    chosen: dict[int, FileCheck],
    reserved: set[int],
    copies: dict[int, list[FileCheck]],
    report: Report,
) -> None:
    taken = [(s, s) for s in [*chosen, *reserved] if rec.first <= s <= rec.last]
    for lo, hi in gaps(rec.first, rec.last, taken):
        how = {
            cl.source: None
            for cl in claims
            if cl.rid == rec.recording_id and cl.lo <= hi and cl.hi >= lo
        }
        rec.holes.append(Hole(lo, hi, _what_is_here(lo, hi, report), ", ".join(how)))
    for seq, c in chosen.items():
        if rec.first <= seq <= rec.last and _rid(c) != rec.recording_id:
            rec.conflicts.append(f"segment #{seq} is in its range, but its header names {_rid(c)}")
    for seg in rec.segments:
        o = seg.outcome
        if o.verdict.rank > Verdict.INCOMPLETE.rank and not o.final:
            found = f"only {o.valid} of its records verify ({o.reason})"
            rec.holes.append(Hole(seg.seq, seg.seq, found, "its header", cut=True))
        others = [c for c in copies[seg.seq] if c is not seg]
        if not others:
            continue
        names = ", ".join(c.name for c in others)
        longer = [c for c in others if _same_segment(seg, c) and _further(c, seg)]
        if longer and not any(h.cut and h.first == seg.seq for h in rec.holes):
            found = f"exported {seg.name}, but {longer[0].name} verifies further"
            rec.holes.append(Hole(seg.seq, seg.seq, found, "its header", cut=True))
        if all(_same_segment(seg, c) for c in others):
            rec.notes.append(f"segment #{seg.seq}: took {seg.name} once; {names} is a copy")
        else:
            rec.conflicts.append(
                f"segment #{seg.seq}: {names} and {seg.name} are different files that "
                f"both verify as #{seg.seq}; exported {seg.name}"
            )
    rec.holes.sort(key=lambda h: (h.first, h.cut))


def frame_wall(check: FileCheck, pts_us: int) -> str | None:
    """The device's wall time of a frame, from its segment's header, when the clock was set."""
    meta = check.outcome.header.meta  # type: ignore[union-attr]
    start, mono = meta.get("wall_start"), meta.get("mono_start_us")
    if meta.get("clock_set") is not True or not isinstance(mono, int) or not start:
        return None
    try:
        wall = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        return rfc3339(wall.timestamp() + (pts_us - mono) / 1e6)
    except (ValueError, OverflowError, OSError):  # not a time, or beyond the years datetime holds
        return None


def _side(
    plan: Plan,
    spans: dict[int, tuple[int, int]],
    seq: int | None,
    end: int,
    event: dict[str, Any] | None,
    label: str,
) -> tuple[int | None, str | None, str]:
    """One end of a hole: the frame of segment ``seq`` beside it (``end`` 0: its first frame,
    1: its last), else the audit ``event`` that opened or closed the file, else nothing."""
    if seq is not None:
        pts = spans[seq][end]
        which = ("first", "last")[end]
        return pts, frame_wall(plan.chosen[seq], pts), f"the {which} frame of #{seq}"
    if event is not None:
        return _int(event.get("mono_us")), _str(event.get("wall")), f"the audit log's {label}"
    return None, None, "nothing signed"


def time_hole(
    hole: Hole,
    plan: Plan,
    spans: dict[int, tuple[int, int]],
    file_span: tuple[int, float] | None = None,
) -> None:
    """Fill in ``hole.timing``: from the frames on either side of it, else from the audit log.

    ``spans`` maps each seq whose frames were exported (within the hole's recording, or in the
    whole export for an unattributed hole) to its (first, last) video pts. ``file_span`` is the
    recording's MP4 (first pts, duration in seconds), to say where in the file the hole falls.
    """
    before = [s for s in spans if s < hole.first or (hole.cut and s == hole.first)]
    after = [s for s in spans if s > hole.last]
    sides = [
        _side(
            plan,
            spans,
            max(before) if before else None,
            1,
            plan.audit.opened.get(hole.first),
            f"segment_open of #{hole.first}",
        ),
        _side(
            plan,
            spans,
            min(after) if after else None,
            0,
            plan.audit.closed.get(hole.last),
            f"segment_close of #{hole.last}",
        ),
    ]
    (t0, w0, how0), (t1, w1, how1) = sides
    timing: dict[str, Any] = {
        "from_device_us": t0,
        "to_device_us": t1,
        "from": w0,
        "to": w1,
        "gap_s": round((t1 - t0) / 1e6, 6) if t0 is not None and t1 is not None else None,
        "timed_by": f"from {how0} to {how1}",
    }
    if file_span is not None:
        first, duration = file_span
        at = round((t0 - first) / 1e6, 6) if before and t0 is not None else 0.0
        until = round((t1 - first) / 1e6, 6) if after and t1 is not None else round(duration, 6)
        timing["in_file_s"] = [at, until]
    hole.timing = timing


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def power_cut(
    rec: Recording, plan: Plan, exported: dict[str, dict[int, tuple[int, int]]]
) -> dict[str, Any] | None:
    """For a recording the camera started by itself after a power cut (trigger ``resume``):
    which recording the cut ended, and the footage it cost, from that recording's last exported
    frame to this one's first (wall times from the segments' headers; each boot has its own
    device clock, so only wall times compare across the cut).

    ``exported`` maps each recording id to its exported segments' (first, last) video pts."""
    start = plan.audit.resumed.get(rec.recording_id)
    if start is None:
        return None
    cut_rid, after = start.get("resumes"), _seq(start.get("after_seq"))
    out: dict[str, Any] = {
        "recording_id": cut_rid if isinstance(cut_rid, str) else None,
        "torn_segment": after,
        "from": None,
        "to": None,
        "gap_s": None,
    }
    before = exported.get(out["recording_id"] or "", {})
    mine = exported.get(rec.recording_id, {})
    if before:
        seq = max(before)
        out["from"] = frame_wall(plan.chosen[seq], before[seq][1])
    if mine:
        seq = min(mine)
        out["to"] = frame_wall(plan.chosen[seq], mine[seq][0])
    if out["from"] and out["to"]:
        t0, t1 = (
            datetime.fromisoformat(w.replace("Z", "+00:00")) for w in (out["from"], out["to"])
        )
        out["gap_s"] = round((t1 - t0).total_seconds(), 3)
    return out


def _parse_wall(wall: str) -> datetime:
    return datetime.fromisoformat(wall.replace("Z", "+00:00"))
