"""Verify, decrypt and export an evidence directory: one MP4 per recording event, and a report.

The export refuses anything worse than INCOMPLETE unless forced; a forced export marks both the
report and the file names. Verification always runs first, and a record is decrypted only after it
has verified (the reader guarantees it). Nothing in the evidence directory is changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import recorder
from recorder.evidence.chain import FileCheck, Report, verify_dir
from recorder.evidence.errors import DecryptError, EvidenceError, NoRecipientError
from recorder.evidence.header import Kind
from recorder.evidence.keys import fingerprint, raw_public
from recorder.evidence.media import Frame, decode_frames
from recorder.evidence.reader import Verdict, decrypt_file
from recorder.export.mp4 import Mp4Result, RemuxError, remux_to_mp4

__all__ = ["ExportRefused", "ExportReport", "export"]

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) as segments are read."""


class ExportRefused(EvidenceError):
    """Verification found something worse than INCOMPLETE and the export was not forced."""

    def __init__(self, report: Report) -> None:
        bad = [ln for ln in report.lines if ln.verdict.rank > Verdict.INCOMPLETE.rank]
        super().__init__(
            "refusing to export: "
            + "; ".join(str(ln).strip() for ln in bad[:5])
            + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else "")
            + ". Use --force to export what verifies; the output will be marked."
        )
        self.report = report


@dataclass
class Recording:
    recording_id: str
    segments: list[FileCheck] = field(default_factory=list)

    @property
    def meta(self) -> dict[str, Any]:
        h = self.segments[0].outcome.header
        return h.meta if h else {}

    @property
    def worst(self) -> Verdict:
        return max((s.outcome.verdict for s in self.segments), key=lambda v: v.rank)


@dataclass
class ExportReport:
    verification: Report
    forced: bool
    outputs: list[dict[str, Any]] = field(default_factory=list)
    audit_events: int = 0
    undecryptable: bool = False
    """Some recording has no recipient stanza for the agency key given."""

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": f"bodycam {recorder.__version__}",
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "forced": self.forced,
            "verification": self.verification.to_json(),
            "inputs": [
                {"file": c.path.name, "sha256": _sha256(c.path)} for c in self.verification.checks
            ],
            "outputs": self.outputs,
            "audit_events": self.audit_events,
        }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _recordings(report: Report) -> list[Recording]:
    by_id: dict[str, Recording] = {}
    media = [c for c in report.checks if c.outcome.header and c.outcome.header.kind is Kind.MEDIA]
    for c in sorted(media, key=lambda c: c.seq):
        if c.outcome.verdict in (Verdict.FOREIGN, Verdict.MALFORMED):
            continue  # never export footage this device did not sign
        assert c.outcome.header is not None
        rid = str(c.outcome.header.meta.get("recording_id", f"seq{c.seq}"))
        by_id.setdefault(rid, Recording(rid)).segments.append(c)
    return list(by_id.values())


def _frames(
    rec: Recording,
    device_pub: Ed25519PublicKey,
    identity: X25519PrivateKey,
    progress: Callable[[int], None],
) -> Iterator[Frame]:
    for seg in rec.segments:
        with seg.path.open("rb", buffering=1 << 20) as f:
            _, plaintexts = decrypt_file(f, device_pub, identity)
            for pt in plaintexts:
                yield from decode_frames(pt)
                progress(len(pt))


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:64]


def export(
    evidence_dir: Path,
    identity: X25519PrivateKey,
    device_pub: Ed25519PublicKey,
    out_dir: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> ExportReport:
    """Verify ``evidence_dir``, then write one MP4 per recording event and the report."""
    verification = verify_dir(evidence_dir, device_pub, identity=identity)
    if verification.worst.rank > Verdict.INCOMPLETE.rank and not force:
        raise ExportRefused(verification)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ExportReport(verification, forced=force)
    recordings = _recordings(verification)
    total = sum(s.path.stat().st_size for r in recordings for s in r.segments)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    for rec in recordings:
        first = rec.segments[0]
        marked = rec.worst.rank > Verdict.INCOMPLETE.rank
        name = f"recording-{first.seq:08d}-{_safe(rec.recording_id)}"
        path = out_dir / (f"{name}.FORCED-{rec.worst.value}.mp4" if marked else f"{name}.mp4")
        meta = rec.meta
        try:
            start = datetime.fromisoformat(str(meta.get("wall_start", "")).replace("Z", "+00:00"))
        except ValueError:
            start = None
        tags = {"title": f"bodycam {meta.get('device_id', '?')} {rec.recording_id}"}
        tags["comment"] = f"segments {first.seq}-{rec.segments[-1].seq}; verdict {rec.worst}"
        try:
            mp4: Mp4Result | None = remux_to_mp4(
                _frames(rec, device_pub, identity, advance),
                path,
                creation_time=start if meta.get("clock_set", False) else None,
                metadata=tags,
            )
        except (RemuxError, DecryptError) as e:
            mp4, error = None, str(e)
            result.undecryptable |= isinstance(e, NoRecipientError)
        else:
            error = ""
        out: dict[str, Any] = {
            "recording_id": rec.recording_id,
            "segments": [s.seq for s in rec.segments],
            "verdict": rec.worst.value,
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
                "sha256": _sha256(path),
                "frames": mp4.frames,
                "duration_s": round(mp4.duration_s, 6),
                "width": mp4.width,
                "height": mp4.height,
            }
        else:
            out["error"] = error
        result.outputs.append(out)
    result.audit_events = _export_audit(verification, out_dir)
    _write_reports(result, out_dir, identity, device_pub)
    return result


def _export_audit(report: Report, out_dir: Path) -> int:
    """Write the verified audit events, oldest first, as JSON lines."""
    logs = [c for c in report.checks if c.outcome.header and c.outcome.header.kind is Kind.AUDIT]
    n = 0
    with (out_dir / "audit.jsonl").open("w") as f:
        for c in sorted(logs, key=lambda c: c.seq):
            for e in c.events:
                f.write(json.dumps({"audit_seq": c.seq, **e}, sort_keys=True) + "\n")
                n += 1
    return n


def _write_reports(
    result: ExportReport, out_dir: Path, identity: X25519PrivateKey, device_pub: Ed25519PublicKey
) -> None:
    doc = result.to_json()
    doc["device_key"] = fingerprint(raw_public(device_pub))
    doc["agency_key"] = fingerprint(raw_public(identity.public_key()))
    audit_sha = _sha256(out_dir / "audit.jsonl")
    doc["audit_export"] = {"file": "audit.jsonl", "sha256": audit_sha}
    tmp = out_dir / ".report.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, out_dir / "report.json")
    (out_dir / "report.txt").write_text(render_text(doc))


def render_text(doc: dict[str, Any]) -> str:
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
        reason = f"  ({ln['reason']})" if ln["reason"] else ""
        lines.append(f"{ln['verdict']:<10} {where:<16} {ln['file'] or '-'}{reason}")
    lines += ["", "Recordings", "----------"]
    for o in doc["outputs"]:
        lines.append(f"{o.get('file', '(not exported)')}")
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
                lines.append(f"    {key + ':':<14}{o[key]}")
    lines += ["", "Inputs (SHA-256)", "----------------"]
    lines += [f"{i['sha256']}  {i['file']}" for i in doc["inputs"]]
    lines += [
        "",
        f"Audit events exported: {doc['audit_events']} "
        f"(audit.jsonl, SHA-256 {doc['audit_export']['sha256']})",
        "",
    ]
    return "\n".join(lines)
