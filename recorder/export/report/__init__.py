"""report.html: the export's case report for people, one self-contained HTML file.

It is made from the same document as report.json (the verdicts, the recordings, their holes and
the hashes), the verified audit events the export wrote to audit.jsonl, and the exported MP4s
(thumbnails). It needs nothing else to be read: its pictures are ``data:`` URIs, its timelines
and routes inline SVG, its style inline, and a Content-Security-Policy forbids it to load
anything, so it opens from a USB stick on a machine with no network, and prints for a court
bundle.

Every string in it that comes from evidence (a device or officer id, a file name, an audit
field, a reason that quotes one) is untrusted: the Jinja2 environment escapes everything it
puts in the page (autoescape), and the report adds no markup from data.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import jinja2

from recorder.evidence.text import printable
from recorder.export.report.route import Route, build_route
from recorder.export.report.thumbnails import Thumbnail, thumbnails
from recorder.export.report.timeline import Timeline, build_timeline

__all__ = ["THUMBNAIL_EVERY_S", "load_audit", "render_html", "write_html"]

THUMBNAIL_EVERY_S = 10.0
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'"
)

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("recorder.export.report", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["p"] = lambda v: "-" if v is None else printable(v)
_ENV.filters["secs"] = lambda t: f"{t:.1f} s" if t % 1 else f"{t:.0f} s"
_ENV.filters["shell_safe"] = lambda name: (
    isinstance(name, str)
    and bool(
        re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", name)  # pasted into a shell: nothing else
    )
)


def _vclass(verdict: object) -> str:
    """The style of a verdict: OK green, INCOMPLETE amber, anything else red."""
    return {"OK": "ok", "INCOMPLETE": "incomplete"}.get(str(verdict), "bad")


def _hole(h: dict[str, Any]) -> str:
    from recorder.export.exporter import hole_summary  # the exporter imports this module

    return hole_summary(h)


def _resume(cut: dict[str, Any]) -> str:
    from recorder.export.exporter import resume_text

    return resume_text(cut)


_ENV.filters |= {"vclass": _vclass, "hole": _hole, "resume": _resume}


@dataclass
class RecordingView:
    """What the template shows of one recording."""

    output: dict[str, Any]
    timeline: Timeline
    route: Route | None
    thumbs: list[tuple[Thumbnail, str]] = field(default_factory=list)
    """(thumbnail, caption)."""
    thumb_error: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)


def load_audit(out_dir: Path) -> list[dict[str, Any]]:
    """The verified audit events the export wrote (audit.jsonl), oldest first; a line that is
    not a JSON object is skipped (the export writes none)."""
    events = []
    try:
        text = (out_dir / "audit.jsonl").read_text()
    except (OSError, UnicodeDecodeError):
        return []
    for line in text.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if isinstance(e, dict):
            events.append(e)
    return events


def write_html(doc: dict[str, Any], out_dir: Path) -> Path:
    """Write ``out_dir/report.html`` for the export report ``doc`` (report.json's document)."""
    path = out_dir / "report.html"
    tmp = out_dir / ".report.html.tmp"
    tmp.write_text(render_html(doc, load_audit(out_dir), out_dir), encoding="utf-8")
    os.replace(tmp, path)
    return path


def render_html(doc: dict[str, Any], events: list[dict[str, Any]], out_dir: Path) -> str:
    """The report as one HTML document; MP4s named in ``doc`` are read from ``out_dir``."""
    verdicts: dict[int, str] = {}
    for ln in doc["verification"]["lines"]:  # a duplicate's line comes after the copy taken
        if ln.get("kind") == "segment" and str(ln.get("seq")).isdigit():
            verdicts.setdefault(int(ln["seq"]), ln["verdict"])
    views = [_recording(o, events, verdicts, out_dir) for o in doc["outputs"]]
    return _ENV.get_template("report.html.j2").render(
        doc=doc,
        recordings=views,
        events=events,
        csp=CSP,
        envelope=("audit_seq", "n", "event", "wall", "mono_us", "media"),
        every=THUMBNAIL_EVERY_S,
    )


def _recording(
    o: dict[str, Any], events: list[dict[str, Any]], verdicts: dict[int, str], out_dir: Path
) -> RecordingView:
    tl = build_timeline(o, events, verdicts)
    markers = [(m.wall, m.label) for m in tl.markers]
    view = RecordingView(o, tl, build_route(o, markers))
    rid = o.get("recording_id")
    view.events = [e for e in events if rid is not None and e.get("recording_id") == rid]
    name = o.get("file")
    if isinstance(name, str) and tl.duration:
        asked = [i * THUMBNAIL_EVERY_S for i in range(int(tl.duration // THUMBNAIL_EVERY_S) + 1)]
        labels = ["" for _ in asked]
        for m in tl.markers:
            if m.t is not None:
                asked.append(m.t)
                labels.append(m.label)
        order = sorted(range(len(asked)), key=lambda i: asked[i])
        try:
            got = thumbnails(out_dir / Path(name).name, [asked[i] for i in order])
        except (av.FFmpegError, OSError) as e:
            view.thumb_error = f"no thumbnails: {printable(str(e))}"
        else:
            view.thumbs = [(th, labels[i]) for i, th in zip(order, got, strict=True) if th]
    return view
