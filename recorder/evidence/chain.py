"""Sections 8 and 11: completeness across the files of a stream, and the report of a source.

:func:`verify_dir` checks every entry of a directory or a bucket (``source``) alone
(``reader``), then each stream as a whole, and reports one line per file, per gap and per
reserved number, in signed sequence order:

- a file that cannot be opened or read is UNREADABLE: nothing is known of its bytes;
- of several files claiming one number, the file the successor's signed link names is the one;
  the others are TAMPERED duplicates;
- a predecessor that does not match its successor's link (id, record count, chain), or holds
  fewer records than the link says, is TAMPERED;
- a number absent from the stream is MISSING, except one the camera reserved and never wrote
  (the successor's link is a TORN note of 0 records and no chain: a cut or a failed open between
  reserving the number and writing the header) when no other signed evidence shows that it had a
  header (:func:`_header_seen`, the one place that decides). Its line of its own is then OK, tied
  to the audit log's ``recovered`` event, and :attr:`Report.reserved` lists it for export;
- a regular file with no readable header (empty, torn, unreadable) is named by the kind and
  number its file name gives (spec section 12) when no signed file holds that number, and is
  held to what its successor signed about that number. Anything else under such a name (a FIFO,
  a directory, a device) is UNREADABLE on a line of its own and stands in for nothing.

A media segment that is not there but that a ``freed`` event names (spec section 10.2) is OK on
the camera's word where the source is a copy of the camera's files (``Source.freed_excuses``),
TAMPERED where signed evidence contradicts the event (:func:`_contradiction`), and MISSING in
the bucket, the store of record, whatever the event says.

It also cross-checks the media stream against the audit log's ``segment_open`` and
``segment_close`` events and media heads, and the audit stream against the media headers'
``audit_seq``, which catches the deletion or truncation of the newest files.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from recorder.evidence.audit import decode_event, media_head
from recorder.evidence.errors import FormatError
from recorder.evidence.header import Kind, Link, LinkState
from recorder.evidence.keys import key_id, raw_public
from recorder.evidence.reader import FileReader, Outcome, Verdict
from recorder.evidence.records import RecordType
from recorder.evidence.source import Entry, NotAFile, Source, source_of
from recorder.evidence.text import printable

__all__ = [
    "EXIT_CODES",
    "FileCheck",
    "Line",
    "Report",
    "gaps",
    "noted_nothing",
    "verify_dir",
    "verify_dir_kind",
]

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2, 3, 4
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE: no code a verdict uses
EXIT_CODES = {
    EXIT_OK: "every file and stream is OK",
    EXIT_INCOMPLETE: "nothing worse than INCOMPLETE (power cuts)",
    EXIT_USAGE: "bad command line (a bad s3:// URL, --endpoint or --region, or a --device-pub "
    "that is not the key id the URL names)",
    EXIT_FAILED: "at least one TAMPERED, MISSING, FOREIGN or MALFORMED",
    EXIT_UNREADABLE: "nothing worse than UNREADABLE: a file, the evidence directory or a key "
    "could not be read, or the bucket is missing, refuses the credentials (or there are none) "
    "or does not answer, or the key was refused (a weak key, spec section 2.1), or a checkpoint, "
    "witness key or listing given was refused, or there is no evidence",
    EXIT_INTERNAL: "internal error, a bug in bodycam: no verdict was reached",
}

_LABEL = {Kind.MEDIA: "segment", Kind.AUDIT: "audit"}
_ORDER = {Kind.AUDIT: 0, Kind.MEDIA: 1}
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class FileCheck:
    """One file's outcome plus what the stream checks add to it."""

    entry: Entry
    """Where it was read from; :attr:`name` is what the report calls it."""
    outcome: Outcome
    events: list[dict[str, Any]] = field(default_factory=list)
    named: tuple[Kind, int] | None = None
    """A file with no readable header: the kind and number its name gives, set when no signed
    file holds that number."""
    duplicate: bool = False
    """Another file holds the same signed number and is taken for it."""
    regular: bool = True
    """Whether it is a regular file: only one may stand in for a number by its name."""

    @property
    def name(self) -> str:
        return self.entry.name

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

    def note(self, reason: str) -> None:
        self.downgrade(self.outcome.verdict, reason)


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
        text = f"{self.verdict.value:<10} {where:<16} {printable(self.file) or '-'}"
        if self.records:
            text += f"  {self.records} records"
        return text + (f"  ({printable(self.reason)})" if self.reason else "")


@dataclass
class Report:
    lines: list[Line]
    checks: list[FileCheck]
    reserved: dict[Kind, set[int]] = field(default_factory=dict)
    """Per stream checked, the numbers judged reserved and never written (spec section 8): no
    file is expected for them. A number whose successor noted nothing but that other signed
    evidence shows had a header is not among them: it is MISSING. Export uses this decision."""
    freed: dict[int, Freed] = field(default_factory=dict)
    """Media segments not here that a ``freed`` event accounts for (spec section 10.2), on the
    camera's word that the bucket holds them and a cosigned checkpoint covers them; only where
    the source is a copy of the camera's files (``Source.freed_excuses``): in the bucket, the
    store of record, a segment that is not there is MISSING whatever the camera says."""

    @property
    def worst(self) -> Verdict:
        return max((line.verdict for line in self.lines), key=lambda v: v.rank, default=Verdict.OK)

    @property
    def exit_code(self) -> int:
        if not self.lines:
            return EXIT_UNREADABLE
        return {
            Verdict.OK: EXIT_OK,
            Verdict.INCOMPLETE: EXIT_INCOMPLETE,
            Verdict.UNREADABLE: EXIT_UNREADABLE,
        }.get(self.worst, EXIT_FAILED)

    def to_json(self) -> dict[str, Any]:
        return {
            "worst": self.worst.value,
            "exit_code": self.exit_code,
            "lines": [line.to_json() for line in self.lines],
        }


@dataclass(frozen=True)
class Freed:
    """A ``freed`` event: the segment, as the log had it, and where it went."""

    seq: int
    records: int
    chain: bytes
    bucket: str
    key: str
    checkpoint: int
    """The size of the cosigned checkpoint the event says covers it."""
    audit: tuple[int, int]
    """(the audit log, the event number)."""

    @property
    def event(self) -> str:
        return f"audit #{self.audit[0]} event {self.audit[1]}"


# --- one file ----------------------------------------------------------------------------------


def _check_one(
    entry: Entry, device_pub: Ed25519PublicKey, identity: X25519PrivateKey | None
) -> FileCheck:
    try:
        with entry.open() as f:
            reader = FileReader(f, device_pub, identity)
            check = FileCheck(entry, reader.outcome)
            for rec in reader.records():
                h = reader.outcome.header
                if h is not None and h.kind is Kind.AUDIT and rec.type is RecordType.DATA:
                    try:
                        check.events.append(decode_event(rec.body))
                    except FormatError as e:
                        check.downgrade(Verdict.MALFORMED, f"record {rec.index}: {e}")
                        break
    except NotAFile as e:
        return FileCheck(entry, Outcome(Verdict.UNREADABLE, str(e)), regular=False)
    except OSError as e:
        return FileCheck(entry, Outcome(Verdict.UNREADABLE, f"cannot read: {e.strerror or e}"))
    if reader.no_recipient is not None:
        check.note("contents not checked: the agency key is not a recipient")
    return check


# --- what the audit log says about the streams ---------------------------------------------------


@dataclass
class _AuditFacts:
    read: bool = False
    """Whether any audit log was read at all."""
    opened: dict[int, int] = field(default_factory=dict)
    """Media seq -> the audit log that saw it opened."""
    closed: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Media seq -> (its record count at close, the audit log that says so)."""
    recovered: dict[tuple[Kind, int], tuple[int, int]] = field(default_factory=dict)
    """(stream, seq) -> (the audit log, event number) of its ``recovered`` event."""
    heads: dict[int, tuple[int, bytes, int, int]] = field(default_factory=dict)
    """Media seq -> the furthest head of it an event carries (section 10.1): (records, chain,
    the audit log, the event number)."""
    headed: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Media seq -> (the audit log, the event number) of an event whose head names it with a
    chain value: the header hash or later, so its header was durable then."""
    freed: dict[int, Freed] = field(default_factory=dict)
    """Media seq -> the first ``freed`` event of it."""

    @classmethod
    def of(cls, audit: list[FileCheck]) -> _AuditFacts:
        facts = cls(read=bool(audit))
        streams = {k.name.lower(): k for k in Kind}
        for a in audit:
            for e in a.events:
                head = media_head(e)  # decode_event has checked it
                if head is not None and head[1] >= facts.heads.get(head[0], (-1,))[0]:
                    facts.heads[head[0]] = (head[1], head[2], a.seq, e["n"])
                if head is not None and head[2] != bytes(32):
                    facts.headed.setdefault(head[0], (a.seq, e["n"]))
                seq = e.get("seq")  # decode_event admits a whole number or null only
                if seq is None:
                    continue
                if e["event"] == "segment_open":
                    facts.opened.setdefault(seq, a.seq)
                elif e["event"] == "segment_close" and e.get("records") is not None:
                    facts.closed[seq] = (e["records"], a.seq)
                elif e["event"] == "recovered" and e.get("stream") in streams:
                    facts.recovered[streams[e["stream"]], seq] = (a.seq, e["n"])
                elif e["event"] == "freed" and (f := _freed(e, a.seq)) is not None:
                    facts.freed.setdefault(f.seq, f)
        return facts

    def recovery(self, kind: Kind, seq: int) -> str:
        if not self.read:
            return ""
        found = self.recovered.get((kind, seq))
        if found is None:
            return "; no audit log here has a 'recovered' event for it"
        return f"; audit #{found[0]} event {found[1]} records the recovery"


def _freed(e: dict[str, Any], audit_seq: int) -> Freed | None:
    """The ``freed`` event's facts, or None if it is not a media segment's with a chain, a
    bucket, a key and a checkpoint (then it accounts for nothing)."""
    chain, records, checkpoint = e.get("chain"), e.get("records"), e.get("checkpoint")
    bucket, key = e.get("bucket"), e.get("key")
    if e.get("stream") != "media" or type(records) is not int or type(checkpoint) is not int:
        return None
    if not isinstance(chain, str) or not _HEX64.fullmatch(chain):
        return None
    if not isinstance(bucket, str) or not isinstance(key, str):
        return None
    return Freed(
        e["seq"], records, bytes.fromhex(chain), bucket, key, checkpoint, (audit_seq, e["n"])
    )


# --- one stream ----------------------------------------------------------------------------------


def _ranges(numbers: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint ranges covering the same numbers as ``spans``."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


def gaps(lo: int, hi: int, taken: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ranges within ``lo..hi`` that no range of ``taken`` covers, without listing every
    number (a signed header may claim a seq near 2**64)."""
    out, at = [], lo
    for a, b in _merge(taken):
        if b < at or a > hi:
            continue
        if a > at:
            out.append((at, a - 1))
        at = b + 1
    if at <= hi:
        out.append((at, hi))
    return out


def _span(lo: int, hi: int) -> str:
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def noted_nothing(link: Link) -> bool:
    """A TORN note of 0 records and no chain: at recovery there was no file of that number with
    a valid header (the camera reserved the number and was cut before writing one, or the file
    was removed before the camera restarted: :func:`_header_seen` tells them apart where signed
    evidence can)."""
    return link.state is LinkState.TORN and link.records == 0 and link.chain == bytes(32)


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


def _check_named(pred: FileCheck, link: Link, succ_seq: int) -> None:
    """Hold a file with no readable header to its successor's link, which saw a header."""
    if pred.outcome.verdict is not Verdict.UNREADABLE:
        pred.downgrade(
            Verdict.TAMPERED,
            f"#{succ_seq} signed #{link.seq} as {link.state.name} with {link.records} records, "
            "but no valid header is left",
        )


_PickKey = tuple[bool, bool, bool, int, int, bool, str]


def _pick_key(link: Link | None, kind: Kind, seq: int) -> Callable[[FileCheck], _PickKey]:
    """Orders the files claiming #seq, best first: the one the successor's link names (by
    segment id, then by its records and chain); then the one that verifies further (its FINAL
    record, then more valid records, then the better verdict); then the one under the camera's
    own name; then by name."""

    def key(c: FileCheck) -> _PickKey:
        o = c.outcome
        assert o.header is not None
        named = link is not None and o.header.segment_id == link.segment_id
        matches = (
            named
            and link is not None
            and o.valid >= link.records
            and o.chains[link.records] == link.chain
        )
        own_name = c.entry.named == (kind, seq)
        return (
            not named,
            not matches,
            not o.final,
            -o.valid,
            o.verdict.rank,
            not own_name,
            c.name,
        )

    return key


_WHY_PICKED = (
    "#{succ}'s link names {pick}",
    "{pick} holds the records #{succ} signed",
    "{pick} has its FINAL record",
    "{pick} verifies more records",
    "{pick} verifies better",
    "{pick} has the camera's name for it",
    "{pick} comes first by name",
)


def _pick(candidates: list[FileCheck], link: Link | None, kind: Kind, seq: int) -> FileCheck:
    """The file that is #seq; every other claimant is blamed as a TAMPERED duplicate."""
    key = _pick_key(link, kind, seq)
    pick = min(candidates, key=key)
    for dup in candidates:
        if dup is pick:
            continue
        dup.duplicate = True
        same = dup.outcome.header == pick.outcome.header
        what = f"a copy of #{seq}" if same else f"also claims #{seq}"
        pair = zip(key(pick), key(dup), strict=True)
        decided_by = next(i for i, (a, b) in enumerate(pair) if a != b)  # names always differ
        why = _WHY_PICKED[decided_by].format(succ=seq + 1, pick=printable(pick.name))
        dup.downgrade(Verdict.TAMPERED, f"duplicate: {what}; {why}")
    return pick


@dataclass
class _Stream:
    kind: Kind
    genuine: dict[int, FileCheck] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    noted: dict[int, FileCheck | None] = field(default_factory=dict)
    """Seq -> the file with no header named for it, or None: the numbers whose successor noted
    nothing of them (:func:`noted_nothing`), for :func:`_judge_noted`."""
    reserved: set[int] = field(default_factory=set)
    """The noted numbers judged reserved and never written."""
    freed: dict[int, Freed] = field(default_factory=dict)
    """The segments not here that a ``freed`` event accounts for, and that nothing contradicts."""

    @property
    def label(self) -> str:
        return _LABEL[self.kind]

    def line(self, verdict: Verdict, lo: int, hi: int, reason: str) -> None:
        self.lines.append(Line(verdict, self.label, _span(lo, hi), "", 0, reason))


def _check_stream(
    kind: Kind,
    signed: list[FileCheck],
    headerless: list[FileCheck],
    facts: _AuditFacts,
    cross_check: bool,
    excuses: bool,
    key_id: str,
) -> _Stream:
    s = _Stream(kind)
    by_seq: dict[int, list[FileCheck]] = defaultdict(list)
    for c in signed:
        by_seq[c.seq].append(c)
    # From the newest down, so that each number's file is picked by its successor's pick.
    for seq in sorted(by_seq, reverse=True):
        succ = s.genuine.get(seq + 1)
        link = succ.outcome.header.prev if succ and succ.outcome.header else None
        link = link if link is not None and link.state is not LinkState.NONE else None
        s.genuine[seq] = _pick(by_seq[seq], link, kind, seq)
    named: dict[int, FileCheck] = {}
    for c in headerless:
        n = c.entry.named
        if n is None or n[0] is not kind:
            continue
        if n[1] in s.genuine:
            holder = printable(s.genuine[n[1]].name)
            c.note(f"its name says #{n[1]}, but {holder} holds the signed #{n[1]}")
        elif not c.regular:
            c.note(f"its name says #{n[1]}, but only a regular file can stand in for a number")
        else:
            c.named, named[n[1]] = n, c
            c.note("kind and number from its name")
    for seq, c in sorted(s.genuine.items()):
        link = c.outcome.header.prev  # type: ignore[union-attr]
        if link.state is LinkState.NONE:
            continue
        if seq - 1 in s.genuine:
            _check_link(s.genuine[seq - 1], link, seq)
        elif noted_nothing(link):
            s.noted[seq - 1] = named.get(seq - 1)
        elif seq - 1 in named:
            _check_named(named[seq - 1], link, seq)
    freed = _judge_freed(s, facts, excuses, key_id) if kind is Kind.MEDIA else []
    highest = max(s.genuine, default=0)
    for lo, hi in gaps(1, highest, ((n, n) for n in [*s.genuine, *named, *s.noted, *freed])):
        s.line(Verdict.MISSING, lo, hi, "gap in the chain")
    if kind is Kind.MEDIA and cross_check:
        _cross_check(s, named, facts)
    return s


def _judge_freed(s: _Stream, facts: _AuditFacts, excuses: bool, key_id: str) -> list[int]:
    """The segments a ``freed`` event names that are not here, each with a line: TAMPERED if
    signed evidence contradicts the event (:func:`_contradiction`); else, where a freed event
    excuses (a copy of the camera's files), OK on the camera's word, to be confirmed from the
    bucket; in the bucket itself, MISSING: it is not kept."""
    out = []
    for seq, f in sorted(facts.freed.items()):
        if seq in s.genuine:
            continue  # a cut between the event and the deletion, or a copy put back
        out.append(seq)
        why = _contradiction(f, s, facts, key_id)
        if why:
            gone = "" if excuses else "; not in the bucket either"
            s.line(Verdict.TAMPERED, seq, seq, f"{f.event} says it was freed, but {why}{gone}")
        elif not excuses:
            s.line(
                Verdict.MISSING,
                seq,
                seq,
                f"freed on the camera ({f.event}), but not in the bucket",
            )
        else:
            s.freed[seq] = f
            s.line(
                Verdict.OK,
                seq,
                seq,
                f"freed (the camera's word): {f.event}; confirm it with "
                f"bodycam verify s3://{f.bucket}/{key_id}",
            )
    return out


def bucket_key(key_id: str, seq: int) -> str:
    """The key offload sends media segment #seq under (docs/offload.md)."""
    return f"{key_id}/media/{seq:08d}.bcam"


def _contradiction(f: Freed, s: _Stream, facts: _AuditFacts, key_id: str) -> str:
    """What signed evidence says against a ``freed`` event, in words, or "": the key is not the
    segment's, or its records and chain are not what the successor's link, the furthest head
    an event carries or the audit log's ``segment_close`` say of it."""
    if f.key != bucket_key(key_id, f.seq):
        return f"its key {f.key!r} is not the segment's, {bucket_key(key_id, f.seq)}"
    succ = s.genuine.get(f.seq + 1)
    link = succ.outcome.header.prev if succ and succ.outcome.header else None
    if link is not None and (link.records, link.chain) != (f.records, f.chain):
        return f"#{f.seq + 1} links to another file"
    head = facts.heads.get(f.seq)
    if head is not None:
        records, chain, audit_seq, n = head
        if records > f.records:
            return f"audit #{audit_seq} event {n} saw {records} records of it, not {f.records}"
        if records == f.records and chain != f.chain:
            return f"audit #{audit_seq} event {n} saw other records of it"
    closed = facts.closed.get(f.seq)
    if closed is not None and closed[0] != f.records:
        return f"audit #{closed[1]} saw it closed with {closed[0]} records, not {f.records}"
    return ""


def _header_seen(kind: Kind, seq: int, facts: _AuditFacts, audit_named: dict[int, int]) -> str:
    """The signed evidence that #seq of ``kind`` had a header once, in words, or "" if there is
    none (spec section 8, reserved numbers). The camera logs a segment's ``segment_open``, and
    heads with a chain value of it, only once its header is durable; a segment's header names
    the audit log that was open, so it had a header too."""
    if kind is Kind.MEDIA:
        if (audit := facts.opened.get(seq)) is not None:
            return f"audit #{audit} saw it opened"
        if (event := facts.headed.get(seq)) is not None:
            return f"audit #{event[0]} event {event[1]} saw its header"
    elif (segment := audit_named.get(seq)) is not None:
        return f"segment #{segment}'s header names it"
    return ""


def _judge_noted(s: _Stream, facts: _AuditFacts, audit_named: dict[int, int]) -> None:
    """Each number whose successor noted nothing of it: reserved and never written (a cut, or an
    open that failed, between reserving it and writing the header), unless signed evidence shows
    it had a header, which was then removed before the camera restarted."""
    for seq, c in sorted(s.noted.items()):
        seen = _header_seen(s.kind, seq, facts, audit_named)
        if c is not None:  # a file with no header stands there
            if not seen:
                c.note(
                    f"#{seq + 1}'s recovery note confirms it had no header"
                    + facts.recovery(s.kind, seq)
                )
            elif c.outcome.verdict is not Verdict.UNREADABLE:
                c.downgrade(Verdict.TAMPERED, f"{seen}, but its header is gone")
        elif seen:
            s.line(
                Verdict.MISSING,
                seq,
                seq,
                f"#{seq + 1}'s recovery note found no header, yet {seen}: "
                "removed before the camera restarted",
            )
        else:
            s.reserved.add(seq)
            s.line(
                Verdict.OK,
                seq,
                seq,
                "reserved, never written (a cut or a failed open before its header): "
                f"#{seq + 1}'s recovery note records it" + facts.recovery(s.kind, seq),
            )


def _cross_check(media: _Stream, named: dict[int, FileCheck], facts: _AuditFacts) -> None:
    """The audit log names every media segment opened and closed; hold the segments to it."""
    highest = max(media.genuine, default=0)
    gone = []
    for seq, audit_seq in facts.opened.items():
        if seq in named:
            if named[seq].outcome.verdict is not Verdict.UNREADABLE and seq not in media.noted:
                named[seq].downgrade(
                    Verdict.TAMPERED, f"audit #{audit_seq} saw it opened, but its header is gone"
                )
        elif seq > highest and seq not in facts.freed:
            gone.append(seq)
    for seq, (records, chain, audit_seq, n) in facts.heads.items():
        if records == 0 and chain == bytes(32):
            continue  # a number reserved and never written (as noted_nothing): no file to hold
        c = media.genuine.get(seq)
        where = f"audit #{audit_seq} event {n}"
        if c is None:
            if seq > highest and seq not in named and seq not in facts.freed:
                gone.append(seq)
        elif c.outcome.verdict.rank <= Verdict.INCOMPLETE.rank:
            if c.outcome.valid < records:
                c.downgrade(Verdict.TAMPERED, f"truncated: {where} saw {records} records of it")
            elif c.outcome.chains[records] != chain:
                c.downgrade(Verdict.TAMPERED, f"records differ from what {where} saw of it")
    for lo, hi in _ranges(gone):
        media.line(Verdict.MISSING, lo, hi, "in the audit log, not here")
    for seq, (records, _) in facts.closed.items():
        c = media.genuine.get(seq)
        if c and c.outcome.verdict.rank <= Verdict.INCOMPLETE.rank and c.outcome.valid < records:
            c.downgrade(
                Verdict.TAMPERED,
                f"truncated: the audit log saw it closed with {records} records",
            )


def _positions(media: _Stream) -> list[tuple[int, int, int]]:
    """(segment, audit_seq, audit_n) for each segment whose header names its audit position
    (section 10.1), by segment number."""
    out = []
    for seq, c in sorted(media.genuine.items()):
        meta = c.outcome.header.meta  # type: ignore[union-attr]
        a, n = meta.get("audit_seq"), meta.get("audit_n")
        if type(a) is int and type(n) is int and a >= 1 and n >= 0:
            out.append((seq, a, n))  # else written before the streams named each other
    return out


def _audit_named_by_media(audit: _Stream, positions: list[tuple[int, int, int]]) -> None:
    """Each segment's header names the audit log and event its opening went to (section 10.1):
    an audit log withheld from the end of its stream shows as MISSING, and one that lacks that
    event, or has another there, as TAMPERED."""
    highest = max(audit.genuine, default=0)
    gone: dict[int, int] = {}
    for seq, a, n in positions:
        log = audit.genuine.get(a)
        if log is None:
            if a > highest:
                gone.setdefault(a, seq)
            continue
        if log.outcome.verdict.rank > Verdict.INCOMPLETE.rank:
            continue
        event = next((e for e in log.events if e["n"] == n), None)
        if event is None:
            if log.outcome.final:  # a torn log may have lost it to the cut
                log.downgrade(Verdict.TAMPERED, f"has no event {n}, which segment #{seq} names")
        elif event["event"] != "segment_open" or event.get("seq") != seq:
            log.downgrade(
                Verdict.TAMPERED, f"event {n} is not the segment_open segment #{seq} names"
            )
    for lo, hi in _ranges(gone):
        named_by = ", ".join(f"#{gone[a]}" for a in range(lo, hi + 1) if a in gone)
        audit.line(Verdict.MISSING, lo, hi, f"named by segment {named_by}'s header, not here")


# --- a source ---------------------------------------------------------------------------------


def _file_line(c: FileCheck) -> tuple[tuple[int, int, int, str], Line]:
    o, h = c.outcome, c.outcome.header
    kind, seq = (h.kind, h.seq) if h else c.named or (None, 0)
    label = _LABEL[kind] if kind else "?"
    key = (_ORDER[kind] if kind else 2, seq, int(c.duplicate), c.name)
    return key, Line(o.verdict, label, str(seq) if seq else "", c.name, o.valid, o.reason)


def verify_dir_kind(evidence: Path | Source, device_pub: Ed25519PublicKey, kind: Kind) -> Report:
    """Check only the camera's own files of one stream, by their names (the camera checks its
    audit log this way, without reading gigabytes of footage). Not for evidence custody: a
    renamed file would be missed; :func:`verify_dir` reads every file."""
    return verify_dir(evidence, device_pub, only=kind)


def verify_dir(
    evidence: Path | Source,
    device_pub: Ed25519PublicKey,
    *,
    only: Kind | None = None,
    identity: X25519PrivateKey | None = None,
) -> Report:
    """Check every entry of ``evidence`` (a directory, or any :class:`Source`) and every stream
    they form; with the agency key (``identity``), media contents too (see ``reader``). Raises
    SourceError only when the source cannot be listed (a directory that does not exist holds
    nothing)."""
    source = source_of(evidence)
    entries = source.entries(only)
    checks = [_check_one(e, device_pub, identity) for e in entries]
    signed: dict[Kind, list[FileCheck]] = {Kind.MEDIA: [], Kind.AUDIT: []}
    headerless: list[FileCheck] = []
    for c in checks:
        h = c.outcome.header
        (signed[h.kind] if h else headerless).append(c)
    facts = _AuditFacts.of(signed[Kind.AUDIT])
    kinds = (Kind.AUDIT, Kind.MEDIA) if only is None else (only,)
    kid = key_id(raw_public(device_pub)).hex()
    streams = {
        k: _check_stream(k, signed[k], headerless, facts, only is None, source.freed_excuses, kid)
        for k in kinds
    }
    positions = _positions(streams[Kind.MEDIA]) if Kind.MEDIA in streams else []
    audit_named: dict[int, int] = {}
    for seq, a, _ in positions:
        audit_named.setdefault(a, seq)
    for s in streams.values():
        _judge_noted(s, facts, audit_named)
    if only is None:
        _audit_named_by_media(streams[Kind.AUDIT], positions)
    keyed = [_file_line(c) for c in checks]
    for s in streams.values():
        for line in s.lines:
            lo = int(line.seq.split("-")[0])
            keyed.append(((_ORDER[s.kind], lo, 0, ""), line))
    keyed.sort(key=lambda kl: kl[0])
    reserved = {k: s.reserved for k, s in streams.items()}
    freed = streams[Kind.MEDIA].freed if Kind.MEDIA in streams else {}
    return Report([line for _, line in keyed], checks, reserved, freed)
