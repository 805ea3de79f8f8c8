"""report.html's page: the view of each recording (its timeline, route and thumbnails) and the
whole document, rendered by the template (see the package's docstring for what the page is)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from recorder.evidence.text import printable
from recorder.export.report.moments import MAX_GAP_S, choose
from recorder.export.report.route import Route, build_route
from recorder.export.report.sound import Sound, build_sound
from recorder.export.report.template import report_template
from recorder.export.report.thumbnails import Thumbnail, thumbnails
from recorder.export.report.timeline import Timeline, build_timeline

__all__ = ["CSP", "load_audit", "render_html", "write_html"]

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'"
)


@dataclass
class RecordingView:
    """What the template shows of one recording."""

    output: dict[str, Any]
    timeline: Timeline
    route: Route | None
    sound: Sound | None = None
    """Its sound; None when report.json says nothing of it (a recording not exported)."""
    thumbs: list[tuple[Thumbnail, str, bool]] = field(default_factory=list)
    """(thumbnail, what it shows, whether that is a marker), one per keyframe shown."""
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
    return report_template().render(
        doc=doc,
        recordings=views,
        events=events,
        csp=CSP,
        envelope=("audit_seq", "n", "event", "wall", "mono_us", "media"),
        every=MAX_GAP_S,
    )


def _recording(
    o: dict[str, Any], events: list[dict[str, Any]], verdicts: dict[int, str], out_dir: Path
) -> RecordingView:
    tl = build_timeline(o, events, verdicts)
    markers = [(m.wall, m.label) for m in tl.markers]
    view = RecordingView(
        o, tl, build_route(o, markers), build_sound(o.get("audio"), o.get("clock_set") is True)
    )
    rid = o.get("recording_id")
    view.events = [e for e in events if rid is not None and e.get("recording_id") == rid]
    name = o.get("file")
    moments = choose(tl)
    if isinstance(name, str) and moments:
        try:
            got = thumbnails(out_dir / Path(name).name, [t for t, _ in moments])
        except (av.FFmpegError, OSError) as e:
            view.thumb_error = f"no thumbnails: {printable(str(e))}"
        else:
            view.thumbs = _by_keyframe(got, [what for _, what in moments])
    return view


def _by_keyframe(
    got: list[Thumbnail | None], whats: list[str]
) -> list[tuple[Thumbnail, str, bool]]:
    """One picture per keyframe, in time order, saying every moment it shows."""
    shown: dict[float, tuple[Thumbnail, list[str]]] = {}
    for th, what in zip(got, whats, strict=True):
        if th is not None:
            shown.setdefault(th.t, (th, []))[1].append(what)
    return [
        (th, ", ".join(w for w in whats if w), any(w.startswith("marker") for w in whats))
        for th, whats in sorted(shown.values(), key=lambda v: v[0].t)
    ]
