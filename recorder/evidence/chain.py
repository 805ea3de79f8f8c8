"""Sections 8 and 11: completeness across the files of a stream, and the verdict of a directory.

:func:`verify_dir` checks every ``*.bcam`` file alone (``reader``), then each stream as a whole:
sequence gaps are MISSING; a predecessor that does not match its successor's signed link, or that
holds fewer records than the link says, is TAMPERED; duplicate sequence numbers are TAMPERED.
It also cross-checks the media stream against the audit log's ``segment_open`` and
``segment_close`` events, which catches the deletion or truncation of the newest segments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recorder.evidence.audit import decode_event
from recorder.evidence.errors import FormatError
from recorder.evidence.header import Kind, Link, LinkState
from recorder.evidence.reader import FileReader, Outcome, Verdict
from recorder.evidence.records import RecordType

__all__ = ["EXIT_CODES", "FileCheck", "Line", "Report", "verify_dir", "verify_dir_kind"]

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2, 3, 4
EXIT_CODES = {
    EXIT_OK: "every file and stream is OK",
    EXIT_INCOMPLETE: "nothing worse than INCOMPLETE (power cuts)",
    EXIT_USAGE: "bad command line",
    EXIT_FAILED: "at least one TAMPERED, MISSING, FOREIGN or MALFORMED",
    EXIT_UNREADABLE: "the evidence directory could not be read, or holds no evidence",
}


@dataclass
class FileCheck:
    """One file's outcome plus what the stream checks add to it."""

    path: Path
    outcome: Outcome
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def seq(self) -> int:
        assert self.outcome.header is not None
        return self.outcome.header.seq

    def downgrade(self, verdict: Verdict, reason: str) -> None:
        o = self.outcome
        if verdict.rank > o.verdict.rank:
            o.verdict, o.reason = verdict, reason
        else:
            o.reason = f"{o.reason}; {reason}" if o.reason else reason


@dataclass(frozen=True)
class Line:
    """One line of a verification report."""

    verdict: Verdict
    kind: str
    seq: str
    file: str
    records: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "kind": self.kind,
            "seq": self.seq,
            "file": self.file,
            "records": self.records,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        where = f"{self.kind} #{self.seq}" if self.seq else self.kind
        text = f"{self.verdict.value:<10} {where:<16} {self.file or '-'}"
        if self.records:
            text += f"  {self.records} records"
        return text + (f"  ({self.reason})" if self.reason else "")


@dataclass
class Report:
    lines: list[Line]
    checks: list[FileCheck]

    @property
    def worst(self) -> Verdict:
        return max((line.verdict for line in self.lines), key=lambda v: v.rank, default=Verdict.OK)

    @property
    def exit_code(self) -> int:
        if not self.lines:
            return EXIT_UNREADABLE
        if self.worst is Verdict.OK:
            return EXIT_OK
        return EXIT_INCOMPLETE if self.worst is Verdict.INCOMPLETE else EXIT_FAILED

    def to_json(self) -> dict[str, Any]:
        return {
            "worst": self.worst.value,
            "exit_code": self.exit_code,
            "lines": [line.to_json() for line in self.lines],
        }


def _check_one(path: Path, device_pub: Ed25519PublicKey) -> FileCheck:
    with path.open("rb", buffering=1 << 20) as f:
        reader = FileReader(f, device_pub)
        check = FileCheck(path, reader.outcome)
        for rec in reader.records():
            h = reader.outcome.header
            if h is not None and h.kind is Kind.AUDIT and rec.type is RecordType.DATA:
                try:
                    check.events.append(decode_event(rec.body))
                except FormatError as e:
                    check.downgrade(Verdict.MALFORMED, f"record {rec.index}: {e}")
                    break
    return check


def _ranges(numbers: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _check_link(pred: FileCheck, link: Link, succ_seq: int) -> None:
    """Hold ``pred`` to what its successor signed about it (reader MUST 7)."""
    o = pred.outcome
    assert o.header is not None
    if o.header.segment_id != link.segment_id:
        pred.downgrade(Verdict.TAMPERED, f"is not the file that #{succ_seq} names as #{link.seq}")
        return
    if o.verdict.rank > Verdict.INCOMPLETE.rank:
        return
    if o.valid < link.records:
        when = "after it was closed" if link.state is LinkState.CLOSED else "after recovery"
        pred.downgrade(
            Verdict.TAMPERED,
            f"truncated {when}: holds {o.valid} of the {link.records} records #{succ_seq} signed",
        )
    elif o.chains[link.records] != link.chain:
        pred.downgrade(Verdict.TAMPERED, f"records differ from what #{succ_seq} signed")
    elif link.state is LinkState.CLOSED and not o.final:
        pred.downgrade(Verdict.TAMPERED, f"#{succ_seq} saw it closed, but its FINAL is gone")
    elif link.state is LinkState.TORN and o.verdict is Verdict.INCOMPLETE:
        pred.downgrade(Verdict.INCOMPLETE, f"#{succ_seq}'s recovery note confirms the cut")


def _check_stream(kind: Kind, checks: list[FileCheck], lines: list[Line]) -> None:
    by_seq: dict[int, list[FileCheck]] = defaultdict(list)
    for c in checks:
        by_seq[c.seq].append(c)
    for seq, group in by_seq.items():
        first = group[0]
        for dup in group[1:]:
            same = dup.outcome.header == first.outcome.header
            what = f"a copy of {first.path.name}" if same else f"claims #{seq} too"
            dup.downgrade(Verdict.TAMPERED, f"duplicate: {what}")
    highest = max(by_seq, default=0)
    absent = set(range(1, highest + 1)) - by_seq.keys()
    for seq in sorted(by_seq):
        link = by_seq[seq][0].outcome.header.prev  # type: ignore[union-attr]
        if link.state is LinkState.TORN and link.records == 0:
            absent.discard(seq - 1)  # the torn file never got a complete header
        pred = by_seq.get(seq - 1)
        if pred and link.state is not LinkState.NONE:
            _check_link(pred[0], link, seq)
    name = "segment" if kind is Kind.MEDIA else "audit"
    for lo, hi in _ranges(absent):
        span = f"{lo}" if lo == hi else f"{lo}-{hi}"
        lines.append(Line(Verdict.MISSING, name, span, "", 0, "gap in the chain"))


def _cross_check(media: list[FileCheck], audit: list[FileCheck], lines: list[Line]) -> None:
    """The audit log names every media segment opened and closed; hold the segments to it."""
    by_seq = {c.seq: c for c in media}
    closed: dict[int, int] = {}
    opened: set[int] = set()
    for a in audit:
        for e in a.events:
            seq = e.get("seq")
            if not isinstance(seq, int):
                continue
            if e["event"] == "segment_open":
                opened.add(seq)
            elif e["event"] == "segment_close" and isinstance(e.get("records"), int):
                closed[seq] = e["records"]
    highest = max(by_seq, default=0)
    gone = sorted(s for s in opened if s > highest)
    for lo, hi in _ranges(gone):
        span = f"{lo}" if lo == hi else f"{lo}-{hi}"
        lines.append(Line(Verdict.MISSING, "segment", span, "", 0, "in the audit log, not here"))
    for seq, records in closed.items():
        c = by_seq.get(seq)
        if c and c.outcome.verdict.rank <= Verdict.INCOMPLETE.rank and c.outcome.valid < records:
            c.downgrade(
                Verdict.TAMPERED,
                f"truncated: the audit log saw it closed with {records} records",
            )


def verify_dir_kind(evidence_dir: Path, device_pub: Ed25519PublicKey, kind: Kind) -> Report:
    """Check only the camera's own files of one stream, by their names (the camera checks its
    audit log this way, without reading gigabytes of footage). Not for evidence custody: a
    renamed file would be missed; :func:`verify_dir` reads every file."""
    return verify_dir(evidence_dir, device_pub, only=kind)


def verify_dir(
    evidence_dir: Path, device_pub: Ed25519PublicKey, *, only: Kind | None = None
) -> Report:
    """Check every ``*.bcam`` file under ``evidence_dir`` and every stream they form."""
    prefix = {None: "", Kind.MEDIA: "segment-", Kind.AUDIT: "audit-"}[only]
    paths = sorted(p for p in evidence_dir.glob(f"{prefix}*.bcam") if p.is_file())
    checks = [_check_one(p, device_pub) for p in paths]
    lines: list[Line] = []
    streams: dict[Kind, list[FileCheck]] = {Kind.MEDIA: [], Kind.AUDIT: []}
    for c in checks:
        if c.outcome.header is not None:
            streams[c.outcome.header.kind].append(c)
    for kind, members in streams.items():
        _check_stream(kind, members, lines)
    if only is None:
        _cross_check(streams[Kind.MEDIA], streams[Kind.AUDIT], lines)
    file_lines = []
    for c in checks:
        o, h = c.outcome, c.outcome.header
        name = {None: "?", Kind.MEDIA: "segment", Kind.AUDIT: "audit"}[h.kind if h else None]
        file_lines.append(
            Line(o.verdict, name, str(h.seq) if h else "", c.path.name, o.valid, o.reason)
        )
    return Report(file_lines + lines, checks)
