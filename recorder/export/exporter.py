"""Verify, decrypt and export evidence (a directory, or a bucket prefix: any ``Source``): one MP4
per recording event, with its sound as a second track, and a report that says, among the rest,
where each recording has no sound and why (``recorder.export.audio``).

The export refuses anything worse than INCOMPLETE unless forced; a forced export marks both the
report and the file names. Verification always runs first, and a record is decrypted only after it
has verified (the reader guarantees it). Nothing where the evidence is is changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import recorder
from recorder.evidence.chain import FileCheck, Report, verify_dir
from recorder.evidence.errors import DecryptError, EvidenceError, NoRecipientError
from recorder.evidence.header import Kind
from recorder.evidence.keys import fingerprint, raw_public
from recorder.evidence.media import STREAM_AUDIO, STREAM_VIDEO, Frame, decode_frames
from recorder.evidence.reader import Verdict, decrypt_file
from recorder.evidence.source import Source
from recorder.evidence.text import printable
from recorder.export.audio import AudioPlan, audio_facts, audio_text, plan_audio
from recorder.export.location import (
    FixCollector,
    first_fix_ahead,
    fix_gaps,
    gpx,
    iso6709,
    tag_location,
)
from recorder.export.mp4 import Mp4Result, RemuxError, remux_to_mp4
from recorder.export.recordings import (
    Hole,
    Recording,
    hole_segments,
    hole_words,
    plan,
    power_cut,
    time_hole,
)
from recorder.export.report import write_html

__all__ = ["ExportRefused", "ExportReport", "export", "hole_summary"]

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) as segments are read."""


class ExportRefused(EvidenceError):
    """Verification found something worse than INCOMPLETE, or a recording with a hole, and the
    export was not forced."""

    def __init__(self, report: Report, holes: list[str] | None = None) -> None:
        bad = [str(ln).strip() for ln in report.lines if ln.verdict.rank > Verdict.INCOMPLETE.rank]
        bad += holes or []
        super().__init__(
            "refusing to export: "
            + "; ".join(bad[:5])
            + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else "")
            + ". Use --force to export what verifies; the output will be marked."
        )
        self.report = report


@dataclass
class ExportReport:
    verification: Report
    forced: bool
    outputs: list[dict[str, Any]] = field(default_factory=list)
    audit_events: int = 0
    undecryptable: bool = False
    """Some recording has no recipient stanza for the agency key given."""
    failed: list[str] = field(default_factory=list)
    """Recordings with footage here that could not be written as MP4 (their ids)."""
    unattributed: list[Hole] = field(default_factory=list)
    """Missing segments that no signed source ties to a recording."""

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": f"bodycam {recorder.__version__}",
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "forced": self.forced,
            "verification": self.verification.to_json(),
            "inputs": [_input(c) for c in self.verification.checks],
            "outputs": self.outputs,
            "failed": self.failed,
            "unattributed_holes": [h.to_json() for h in self.unattributed],
            "audit_events": self.audit_events,
        }


def _input(c: FileCheck) -> dict[str, Any]:
    """An input file with its SHA-256; one verification could not read (a FIFO would block),
    with why instead."""
    if c.outcome.verdict is Verdict.UNREADABLE:
        return {"file": c.name, "sha256": None, "unreadable": c.outcome.reason}
    try:
        with c.entry.open() as f:
            return {"file": c.name, "sha256": _sha256(f)}
    except OSError as e:  # gone or unreadable since it was verified
        return {"file": c.name, "sha256": None, "unreadable": f"cannot read: {e.strerror or e}"}


def _sha256(f: BinaryIO) -> str:
    h = hashlib.sha256()
    while chunk := f.read(1 << 20):
        h.update(chunk)
    return h.hexdigest()


def _sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return _sha256(f)


def _frames(
    rec: Recording,
    device_pub: Ed25519PublicKey,
    identity: X25519PrivateKey,
    progress: Callable[[int], None],
    spans: dict[int, tuple[int, int]],
    audio: AudioPlan,
) -> Iterator[Frame]:
    """The recording's frames, segment after segment; ``spans`` learns each segment's first and
    last video pts as they go by. The audio of a segment whose format is not the track's is
    left out, and counted in ``audio.dropped``."""
    for seg in rec.segments:
        keep_audio = audio.keeps(seg.seq)
        try:
            with seg.entry.open() as f:
                reader, plaintexts = decrypt_file(f, device_pub, identity)
                for pt in plaintexts:
                    for frame in decode_frames(pt):
                        if frame.stream == STREAM_VIDEO:
                            first = spans.get(seg.seq, (frame.pts_us, 0))[0]
                            spans[seg.seq] = (first, frame.pts_us)
                        elif frame.stream == STREAM_AUDIO and not keep_audio:
                            audio.dropped[seg.seq] += 1
                            continue
                        yield frame
                    progress(len(pt))
        except OSError as e:  # removed, or the store stopped answering, since it was verified
            raise ChangedSinceVerified(
                f"{printable(seg.name)} could not be read again after its verification "
                f"({e.strerror or e}): not exported"
            ) from None
        # This second read is what the MP4 is made of: it must be the file that was verified.
        now, then = reader.outcome, seg.outcome
        if (now.header, now.valid, now.chain, now.final) != (
            then.header,
            then.valid,
            then.chain,
            then.final,
        ):
            raise ChangedSinceVerified(
                f"{printable(seg.name)} changed between verification and export "
                f"({then.valid} records verified, {now.valid} read now): not exported"
            )


class ChangedSinceVerified(DecryptError):
    """A segment read for the MP4 is not the file the verification judged."""


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:64]


def export(
    evidence: Path | Source,
    identity: X25519PrivateKey,
    device_pub: Ed25519PublicKey,
    out_dir: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> ExportReport:
    """Verify ``evidence``, then write one MP4 per recording event and the report."""
    verification = verify_dir(evidence, device_pub, identity=identity)
    if verification.worst.rank > Verdict.INCOMPLETE.rank and not force:
        raise ExportRefused(verification)
    layout = plan(verification)
    holes = [
        f"recording {printable(r.recording_id)}: segment {h.span} "
        + ("cut short" if h.cut else "missing")
        for r in layout.recordings
        for h in r.holes
    ] + [f"segment {h.span} missing" for h in layout.unattributed]
    if holes and not force:  # the verifier reports these too; never rely on it alone
        raise ExportRefused(verification, holes)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ExportReport(verification, forced=force)
    total = sum(s.entry.size() for r in layout.recordings for s in r.segments)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    events = _audit_events(verification)
    exported: dict[int, tuple[int, int]] = {}
    by_recording: dict[str, dict[int, tuple[int, int]]] = {}
    for rec in layout.recordings:
        spans: dict[int, tuple[int, int]] = {}
        verdict = rec.verdict
        name = f"recording-{rec.first:08d}-{_safe(rec.recording_id)}"
        marked = verdict.rank > Verdict.INCOMPLETE.rank
        path = out_dir / (f"{name}.FORCED-{verdict.value}.mp4" if marked else f"{name}.mp4")
        meta = rec.meta
        try:
            start = datetime.fromisoformat(str(meta.get("wall_start", "")).replace("Z", "+00:00"))
        except ValueError:
            start = None
        tags = {"title": f"bodycam {meta.get('device_id', '?')} {rec.recording_id}"}
        tags["comment"] = f"segments {rec.span}; verdict {verdict}" + (
            f"; missing {', '.join(h.span for h in rec.holes)}" if rec.holes else ""
        )
        mp4: Mp4Result | None = None
        located = FixCollector(())
        sound = plan_audio(
            [(s.seq, s.outcome.header.meta) for s in rec.segments if s.outcome.header]
        )
        if not rec.segments:
            error = f"none of its segments ({rec.span}) is here"
        else:
            try:
                located = FixCollector(_frames(rec, device_pub, identity, advance, spans, sound))
                first_fix, frames = first_fix_ahead(iter(located))
                if first_fix is not None:
                    tags["location"] = iso6709(first_fix)
                mp4 = remux_to_mp4(
                    frames,
                    path,
                    audio=sound.track,
                    creation_time=start if meta.get("clock_set", False) else None,
                    metadata=tags,
                )
                if first_fix is None and located.fixes:  # it began without a fix
                    tag_location(path, iso6709(located.fixes[0]))
            except (RemuxError, DecryptError) as e:
                error = str(e)
                result.undecryptable |= isinstance(e, NoRecipientError)
                result.failed.append(rec.recording_id)
            else:
                error = ""
        exported |= spans
        by_recording[rec.recording_id] = spans
        for hole in rec.holes:
            file_span = (mp4.first_pts_us, mp4.duration_s) if mp4 else None
            time_hole(hole, layout, spans, file_span)
        output = _output(rec, verdict, path, mp4, error, spans)
        output["audio"] = audio_facts(sound, mp4, output, events, spans)
        output |= _location(located, path, f"{meta.get('device_id', '?')} {rec.recording_id}")
        if (cut := power_cut(rec, layout, by_recording)) is not None:
            output["resumes"] = cut
        result.outputs.append(output)
    for hole in layout.unattributed:
        time_hole(hole, layout, exported)
    result.unattributed = layout.unattributed
    result.audit_events = _export_audit(events, out_dir)
    _write_reports(result, out_dir, identity, device_pub)
    return result


def _output(
    rec: Recording,
    verdict: Verdict,
    path: Path,
    mp4: Mp4Result | None,
    error: str,
    spans: dict[int, tuple[int, int]],
) -> dict[str, Any]:
    meta = rec.meta
    out: dict[str, Any] = {
        "recording_id": rec.recording_id,
        "segments": [s.seq for s in rec.segments],
        "belongs": [rec.first, rec.last],
        "verdict": verdict.value,
        "reasons": rec.reasons,
        "holes": [h.to_json() for h in rec.holes],
        "notes": rec.notes,
        "device_id": meta.get("device_id"),
        "officer_id": meta.get("officer_id"),
        "trigger": meta.get("trigger"),
        "pre_roll_s": meta.get("pre_roll_s"),
        "wall_start": meta.get("wall_start"),
        "clock_source": meta.get("clock_source"),
        "clock_set": meta.get("clock_set"),
    }
    if mp4 is not None:
        out |= {
            "file": path.name,
            "sha256": _sha256_file(path),
            "frames": mp4.frames,
            "duration_s": round(mp4.duration_s, 6),
            "width": mp4.width,
            "height": mp4.height,
            # device clock: file time 0, and each segment's first and last frame (report.html)
            "first_pts_us": mp4.first_pts_us,
            "segment_pts_us": [[seq, a, b] for seq, (a, b) in sorted(spans.items())],
        }
    else:
        out["error"] = error
    return out


def _location(located: FixCollector, mp4: Path, name: str) -> dict[str, Any]:
    """The recording's fixes and lost-fix spans for report.json, and its GPX file."""
    out: dict[str, Any] = {
        "fixes": located.fixes,
        "fix_gaps": fix_gaps(located.fixes, located.video_span_utc()),
    }
    if located.bad:
        out["fix_problems"] = located.bad[:20]
    if located.fixes:
        track = mp4.with_name(mp4.name.removesuffix(".mp4") + ".gpx")
        track.write_text(gpx(name, located.fixes, out["fix_gaps"]), encoding="utf-8")
        out["gpx"] = track.name
        out["gpx_sha256"] = _sha256_file(track)
    return out


def _audit_events(report: Report) -> list[dict[str, Any]]:
    """The verified audit events, oldest first, each with its ``audit_seq``."""
    logs = [c for c in report.checks if c.outcome.header and c.outcome.header.kind is Kind.AUDIT]
    return [{"audit_seq": c.seq, **e} for c in sorted(logs, key=lambda c: c.seq) for e in c.events]


def _export_audit(events: list[dict[str, Any]], out_dir: Path) -> int:
    """Write the verified audit events as JSON lines."""
    with (out_dir / "audit.jsonl").open("w") as f:
        for e in events:
            f.write(json.dumps(e, sort_keys=True) + "\n")
    return len(events)


def _write_reports(
    result: ExportReport, out_dir: Path, identity: X25519PrivateKey, device_pub: Ed25519PublicKey
) -> None:
    doc = result.to_json()
    doc["device_key"] = fingerprint(raw_public(device_pub))
    doc["agency_key"] = fingerprint(raw_public(identity.public_key()))
    audit_sha = _sha256_file(out_dir / "audit.jsonl")
    doc["audit_export"] = {"file": "audit.jsonl", "sha256": audit_sha}
    tmp = out_dir / ".report.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, out_dir / "report.json")
    (out_dir / "report.txt").write_text(render_text(doc))
    write_html(doc, out_dir)


def render_text(doc: dict[str, Any]) -> str:
    """report.txt: every value from signed data (file names, meta, audit fields, reasons that
    quote them) goes through ``printable``, so none can start a line of its own."""
    v = doc["verification"]
    lines = [
        "bodycam evidence export",
        "=======================",
        f"tool:         {doc['tool']}",
        f"exported at:  {doc['exported_at']}",
        f"device key:   {doc['device_key']}",
        f"agency key:   {doc['agency_key']}",
        f"overall:      {v['worst']}"
        + ("   ** FORCED EXPORT: NOT FULLY VERIFIED **" if doc["forced"] else ""),
        "",
        "Verification",
        "------------",
    ]
    for ln in v["lines"]:
        where = f"{ln['kind']} #{ln['seq']}" if ln["seq"] else ln["kind"]
        reason = f"  ({printable(ln['reason'])})" if ln["reason"] else ""
        lines.append(f"{ln['verdict']:<10} {where:<16} {printable(ln['file']) or '-'}{reason}")
    lines += ["", "Recordings", "----------"]
    for o in doc["outputs"]:
        lines.append(printable(o.get("file", f"(not exported) recording {o['recording_id']}")))
        for key in (
            "verdict",
            "segments",
            "trigger",
            "pre_roll_s",
            "wall_start",
            "clock_source",
            "officer_id",
            "frames",
            "duration_s",
            "sha256",
            "error",
        ):
            if o.get(key) is not None:
                lines.append(f"    {key + ':':<14}{printable(o[key])}")
        if (cut := o.get("resumes")) is not None:
            lines.append(f"    resumes:      {resume_text(cut)}")
        lines += [f"    because:      {printable(r)}" for r in o["reasons"]]
        for h in o["holes"]:
            lines += _hole_text(h)
        if o.get("audio") is not None:
            lines += audio_text(o["audio"])
        lines += [f"    note:         {printable(n)}" for n in o["notes"]]
    if doc["unattributed_holes"]:
        lines += [
            "",
            "Missing segments tied to no recording",
            "-------------------------------------",
        ]
        for h in doc["unattributed_holes"]:
            lines += _hole_text(h)
    if doc["failed"]:
        failed = ", ".join(map(printable, doc["failed"]))
        lines += ["", f"NOT EXPORTED (see the errors above): {failed}"]
    lines += ["", "Inputs (SHA-256)", "----------------"]
    lines += [f"{i['sha256'] or 'UNREADABLE':<64}  {printable(i['file'])}" for i in doc["inputs"]]
    lines += [
        "",
        f"Audit events exported: {doc['audit_events']} "
        f"(audit.jsonl, SHA-256 {doc['audit_export']['sha256']})",
        "",
    ]
    return "\n".join(lines)


def resume_text(cut: dict[str, Any]) -> str:
    """A recording the camera started by itself after a power cut, and what the cut cost."""
    gap = f"{cut['gap_s']} s" if cut["gap_s"] is not None else "a length no signed time gives"
    rid, torn = printable(cut["recording_id"]), printable(cut["torn_segment"])
    start, end = printable(cut["from"] or "?"), printable(cut["to"] or "?")
    return (
        f"recording {rid} after a power cut (segment #{torn} torn): no footage from {start} "
        f"to {end}, {gap}"
    )


def hole_summary(h: dict[str, Any]) -> str:
    """One line for a hole: which segments, and where and how long, as far as known."""
    where = " at {:.1f}-{:.1f} s in the file".format(*h["in_file_s"]) if "in_file_s" in h else ""
    gap = f", {h['gap_s']:.1f} s" if h.get("gap_s") is not None else ""
    return f"{hole_words(h)}{where}{gap}"


def _hole_text(h: dict[str, Any]) -> list[str]:
    """A hole in words: which segments, what stands there, and when, as the report says it."""
    what = "CUT SHORT" if h["kind"] == "cut" else "MISSING"
    out = [f"    {what + ':':<14}{hole_segments(h)}: {printable(h['found'])}"]
    out.append(f"        belongs by:  {printable(h['known_by'])}")

    def when(us: int | None, wall: str | None) -> str:
        if us is None:
            return "unknown"
        return f"{printable(wall or 'wall clock not set')} (device clock {us / 1e6:.6f} s)"

    if h.get("timed_by"):
        out.append(f"        from:        {when(h['from_device_us'], h['from'])}")
        out.append(f"        to:          {when(h['to_device_us'], h['to'])}")
        if h["gap_s"] is not None:
            out.append(f"        gap:         {h['gap_s']:.3f} s")
        if "in_file_s" in h:
            at, until = h["in_file_s"]
            out.append(f"        in the file: {at:.3f} s to {until:.3f} s")
        out.append(f"        timed by:    {printable(h['timed_by'])}")
    return out
