"""report.html from a report document: the timeline, the moments that get a thumbnail, the route,
FORCED, that nothing from evidence can add markup, and the template compiled ahead of time.
(Real footage, thumbnails and the browser: test_report_html_browser.py.)"""

from __future__ import annotations

import copy
import itertools
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from recorder.export.report import _compiled, page, template
from recorder.export.report.moments import MAX_EVEN, MAX_GAP_S, choose
from recorder.export.report.page import CSP, render_html
from recorder.export.report.route import build_route
from recorder.export.report.timeline import Mark, Span, Timeline, build_timeline
from tests.profiles import examples

RID = "d42944a826d0"
T0 = 30_000_000  # the trigger, device clock (us)


def _event(n: int, event: str, mono_us: int, **fields: Any) -> dict[str, Any]:
    wall = f"2026-11-29T12:00:{mono_us // 1_000_000 % 60:02d}.000000Z"
    return {"audit_seq": 1, "n": n, "event": event, "wall": wall, "mono_us": mono_us, **fields}


def _events() -> list[dict[str, Any]]:
    """A boot; stealth on and mute on before the recording; inside it a marker, unmute, stealth
    off; then its stop."""
    return [
        _event(0, "boot", 0),
        _event(1, "stealth_on", 5_000_000),
        _event(2, "mute", 6_000_000, recording_id=None),
        _event(
            3,
            "record_start",
            T0 + 300_000,
            recording_id=RID,
            trigger="button",
            trigger_us=T0,
            pre_roll_s=30.0,
        ),
        _event(4, "marker", T0 + 45_000_000, recording_id=RID),
        _event(5, "unmute", T0 + 50_000_000, recording_id=RID),
        _event(6, "stealth_off", T0 + 55_000_000),
        _event(7, "record_stop", T0 + 60_000_000, recording_id=RID, reason="button"),
        _event(8, "marker", T0 + 61_000_000, recording_id="another"),
    ]


def _output(**over: Any) -> dict[str, Any]:
    o: dict[str, Any] = {
        "recording_id": RID,
        "segments": [1, 3],
        "belongs": [1, 3],
        "verdict": "MISSING",
        "reasons": [],
        "holes": [
            {
                "first": 2,
                "last": 2,
                "kind": "missing",
                "found": "no file here verifies as it",
                "known_by": "its header",
                "from_device_us": T0 + 20_000_000,
                "to_device_us": T0 + 40_000_000,
                "from": "2026-11-29T12:00:20Z",
                "to": "2026-11-29T12:00:40Z",
                "gap_s": 20.0,
                "timed_by": "from the last frame of #1 to the first frame of #3",
                "in_file_s": [50.0, 70.0],
            }
        ],
        "notes": [],
        "device_id": "BC-1",
        "officer_id": "4711",
        "trigger": "button",
        "pre_roll_s": 30.0,
        "wall_start": "2026-11-29T12:00:00Z",
        "clock_source": "ntp",
        "clock_set": True,
        "sha256": "ab" * 32,
        "frames": 2700,
        "duration_s": 90.0,
        "width": 1280,
        "height": 720,
        "first_pts_us": 0,
        "segment_pts_us": [[1, 0, 49_966_667], [3, 70_000_000, 89_966_667]],
    }
    return o | over


def _doc(forced: bool = False, outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    line = {"kind": "segment", "file": "segment-00000001.bcam", "records": 3, "reason": ""}
    return {
        "tool": "bodycam 0.1.0",
        "exported_at": "2026-11-29T13:00:00+00:00",
        "forced": forced,
        "verification": {
            "worst": "MISSING",
            "exit_code": 3,
            "lines": [
                line | {"verdict": "OK", "seq": "1"},
                line | {"verdict": "MISSING", "seq": "2", "file": ""},
                line | {"verdict": "OK", "seq": "3", "file": "segment-00000003.bcam"},
            ],
        },
        "inputs": [{"file": "segment-00000001.bcam", "sha256": "cd" * 32}],
        "outputs": outputs if outputs is not None else [_output()],
        "failed": [],
        "unattributed_holes": [],
        "audit_events": 9,
        "device_key": "e31d cd8b 53a7 9b4e",
        "agency_key": "f7ee 0092 05c2 e95a",
        "audit_export": {"file": "audit.jsonl", "sha256": "ef" * 32},
    }


FIXES = [
    {
        "t": f"2026-11-29T12:00:{s:02d}Z",
        "lat": 52.5 + s * 1e-5,
        "lon": 13.4 + s * 2e-5,
        "alt_m": 34.0,
        "accuracy_m": 3.5,
        "speed_mps": 1.4,
        "mode": "3d",
    }
    for s in [*range(0, 20), *range(40, 60)]
]
GAPS = [{"from": "2026-11-29T12:00:19Z", "to": "2026-11-29T12:00:40Z"}]


def test_the_timeline_places_trigger_marker_mute_stealth_segments_and_holes() -> None:
    tl = build_timeline(_output(), _events(), {1: "OK", 3: "OK"})
    marks = {m.kind: m for m in tl.marks}
    assert marks["trigger"].t == 30.0 and marks["start"].t == 30.3
    assert [(m.t, m.label) for m in tl.markers] == [(75.0, "marker 1")]  # not another's marker
    assert marks["stop"].t == 90.0 and marks["stop"].label == "stop (button)"
    # mute and stealth were on before the press: they span from the trigger to their off events
    assert [(s.t0, s.t1) for s in tl.of("mute")] == [(30.0, 80.0)]
    assert [(s.t0, s.t1) for s in tl.of("stealth")] == [(30.0, 85.0)]
    assert [(s.t0, s.t1) for s in tl.of("pre_roll")] == [(0.0, 30.0)]
    assert [(s.label, s.t0, s.t1) for s in tl.of("segment")] == [
        ("segment #1 OK", 0.0, 49.966667),
        ("segment #3 OK", 70.0, 89.966667),
    ]
    assert [(s.label, s.t0, s.t1) for s in tl.of("hole")] == [("MISSING", 50.0, 70.0)]
    assert tl.wall_at(30.3) == "2026-11-29T12:00:30.000Z"  # the record_start event's wall


def test_a_boot_ends_the_state_before_it_and_a_cut_recording_runs_to_its_end() -> None:
    events = _events()[:5]  # no unmute, no stealth_off, no stop: a power cut
    events.insert(2, _event(9, "boot", 0))  # stealth_on was in the boot before
    tl = build_timeline(_output(), events, {})
    assert tl.of("stealth") == []
    assert [(s.t0, s.t1) for s in tl.of("mute")] == [(30.0, 90.0)]
    assert not [m for m in tl.marks if m.kind == "stop"]


def test_each_switch_of_mute_and_stealth_during_the_recording_is_listed() -> None:
    events = _events()
    events.insert(5, _event(9, "mute", T0 + 46_000_000, recording_id=RID))  # already muted
    events.insert(7, _event(10, "stealth_on", T0 + 52_000_000))
    tl = build_timeline(_output(), events, {})
    # mute and stealth on before the press are states, not switches; a mute while muted is none
    assert [(m.kind, m.t, m.label) for m in tl.switches] == [
        ("unmute", 80.0, "unmuted"),
        ("stealth_off", 85.0, "stealth off"),
    ]
    assert all(m.wall for m in tl.switches)  # the clock was set: each has its wall time


def test_a_thumbnail_is_asked_at_the_trigger_markers_switches_segments_and_before_holes() -> None:
    tl = build_timeline(_output(), _events(), {1: "OK", 3: "OK"})
    assert choose(tl) == [
        (0.0, "segment #1 OK"),
        (30.0, "trigger"),
        (50.0, "end before the hole"),
        (70.0, "segment #3 OK"),
        (75.0, "marker 1"),
        (80.0, "unmuted"),
        (85.0, "stealth off"),
    ]  # nothing more: no stretch is longer than MAX_GAP_S


def test_without_a_trigger_the_start_is_shown_and_long_stretches_are_filled() -> None:
    tl = Timeline(200.0, marks=[Mark("start", 12.0, None, "start (pre-roll durable)")])
    assert choose(tl) == [(12.0, "start"), (59.0, ""), (106.0, ""), (153.0, "")]
    assert choose(Timeline(None)) == []


def _timeline(
    duration: float, events: list[float], starts: list[float], holes: list[float]
) -> Timeline:
    tl = Timeline(duration)
    tl.marks = [Mark("trigger", events[0], None, "trigger (button)")] if events else []
    tl.marks += [Mark("marker", t, None, f"marker {i}") for i, t in enumerate(events[1:], 1)]
    tl.switches = [Mark("mute", t, None, "muted") for t in events[1::3]]
    tl.spans = [Span("segment", t, t + 1, f"segment #{i} OK", "OK") for i, t in enumerate(starts)]
    tl.spans += [Span("hole", t, t + 1, "MISSING", "MISSING") for t in holes]
    return tl


TIMES = st.floats(-5.0, 1e5, allow_nan=False)


@settings(max_examples=examples(200), deadline=None)
@given(
    duration=st.floats(0.5, 1e5, allow_nan=False),
    events=st.lists(TIMES, max_size=30),
    starts=st.one_of(
        st.lists(TIMES, max_size=30),
        st.integers(0, 3000).map(lambda n: [i * 60.0 for i in range(n)]),
    ),
    holes=st.lists(TIMES, max_size=5),
)
@example(duration=36_000.0, events=[30.0, 75.0], starts=[i * 60.0 for i in range(600)], holes=[])
def test_every_event_is_shown_and_the_rest_is_capped_and_evenly_spread(
    duration: float, events: list[float], starts: list[float], holes: list[float]
) -> None:
    tl = _timeline(duration, events, starts, holes)
    chosen = choose(tl)
    assert chosen == sorted(chosen, key=lambda m: m[0])
    assert all(0.0 <= t <= duration for t, _ in chosen)

    def at(t: float) -> float:
        return min(max(t, 0.0), duration)

    shown = set(chosen)
    wanted = [(m.t, m.label.split(" (")[0]) for m in [*tl.marks, *tl.switches]]
    assert all((at(t), what) in shown for t, what in wanted if t is not None)
    before = {at(t) for t, what in shown if what == "end before the hole"}
    assert before == {at(t) for t in holes if t > 0}
    segments = [m for m in chosen if m[1].startswith("segment")]
    assert len(segments) == min(len(starts), MAX_EVEN)
    assert len([m for m in chosen if m[1] == ""]) <= MAX_EVEN
    step = max(MAX_GAP_S, duration / MAX_EVEN)
    edges = [0.0, *(t for t, _ in chosen), duration]
    assert max(b - a for a, b in itertools.pairwise(edges)) <= step * (1 + 1e-9)


def test_the_route_breaks_where_the_fix_was_lost_and_places_start_end_and_markers() -> None:
    route = build_route(
        _output(fixes=FIXES, fix_gaps=GAPS),
        [("2026-11-29T12:00:05.500Z", "marker 1"), ("2026-11-29T12:00:30Z", "marker 2")],
    )
    assert route is not None and route.fixes == 40 and route.skipped == 0
    assert [len(r) for r in route.runs] == [20, 20]
    [(a, b, what)] = route.breaks
    assert (a, b) == (route.runs[0][-1], route.runs[1][0]) and "no fix from" in what
    assert route.start == route.runs[0][0] and route.end == route.runs[1][-1]
    # marker 1 is between the 6th and 7th fix; marker 2 fell while the fix was lost
    [(x, y, label)] = route.markers
    (x5, y5), (x6, y6) = route.runs[0][5], route.runs[0][6]
    assert label == "marker 1" and abs(x - (x5 + x6) / 2) < 0.02 and abs(y - (y5 + y6) / 2) < 0.02
    # north up: the route goes north-east, so y falls and x grows
    assert route.end[0] > route.start[0] and route.end[1] < route.start[1]


def test_fixes_that_are_not_what_the_format_says_are_counted_not_drawn() -> None:
    bad = [
        {"t": "yesterday", "lat": 1.0, "lon": 1.0},
        {"t": FIXES[0]["t"], "lat": 95.0},
        {"t": FIXES[0]["t"], "lat": float("nan"), "lon": 1.0},
        "not a fix",
    ]
    route = build_route(_output(fixes=[*bad, *FIXES[:3]]), [])
    assert route is not None and (route.fixes, route.skipped) == (3, 4)


def _render(doc: dict[str, Any], events: list[dict[str, Any]] | None = None) -> str:
    return render_html(doc, _events() if events is None else events, Path("/nonexistent"))


def test_no_fixes_says_no_location_recorded_and_fixes_draw_the_route() -> None:
    html = _render(_doc())
    assert "no location recorded" in html and "route-map" not in html
    html = _render(_doc(outputs=[_output(fixes=FIXES, fix_gaps=GAPS)]))
    assert "no location recorded" not in html
    assert html.count('class="route"') == 2 and html.count('class="lost"') == 1
    assert "fix lost:" in html


def test_forced_is_in_the_title_and_at_the_top_of_every_recording() -> None:
    doc = _doc(forced=True, outputs=[_output(), _output(recording_id="second")])
    html = _render(doc)
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None and "FORCED" in title.group(1)
    sections = html.split('<section class="recording"')[1:]
    assert len(sections) == 2
    for s in sections:
        assert s.index('class="forced"') < s.index("<h2>")
    assert "FORCED" not in _render(_doc())


def test_the_page_can_load_nothing() -> None:
    html = _render(_doc(outputs=[_output(fixes=FIXES)]))
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in html.replace(
        "&#39;", "'"
    )
    assert "default-src 'none'" in CSP and "img-src data:" in CSP
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(?!data:)""", html)
    assert not re.search(r"url\(", html)


def test_every_hole_has_its_time_range_and_the_reverify_command_is_there() -> None:
    html = _render(_doc())
    assert "MISSING: segment #2 missing at 50.0-70.0 s in the file, 20.0 s" in html
    assert "50 s to 70 s" in html and "2026-11-29T12:00:20Z to 2026-11-29T12:00:40Z" in html
    assert "bodycam verify EVIDENCE --device-pub device.pub" in html
    assert "e31d cd8b 53a7 9b4e" in html


class _Shape(HTMLParser):
    """The document's markup: every tag with its attribute names, and its comments."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shape: list[tuple[str, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.shape.append((tag, *sorted(k for k, _ in attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.shape.append(("/" + tag,))

    def handle_comment(self, data: str) -> None:
        self.shape.append(("<!--",))

    def handle_pi(self, data: str) -> None:
        self.shape.append(("<?",))


def _shape(html: str) -> list[tuple[str, ...]]:
    p = _Shape()
    p.feed(html)
    p.close()
    return p.shape


HOSTILE = st.one_of(
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            '"><img src=x onerror=alert(1)>',
            "</title><script>x</script>",
            "]]><svg onload=alert(1)>",
            "<!--",
            "</pre><a href='http://evil.example/'>",
            "javascript:alert(1)",
            "\u202eevil",
            "x\noverall: OK",
        ]
    ),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
)


def _audio(a: str, k: str, why: str, n: str) -> dict[str, Any]:
    """A recording's ``audio`` facts with every kind of span, whose strings (reasons that quote
    headers, fault events' fields, the format's codec) are the given ones."""

    def fault(what: str, error: str, wall: str, at: float) -> dict[str, Any]:
        return {"what": what, "error": error, "wall": wall, "mono_us": 1, "in_file_s": at}

    def span(kind: str, t0: float, t1: float, *faults: dict[str, Any]) -> dict[str, Any]:
        return {"kind": kind, "in_file_s": [t0, t1], "reason": why, "faults": list(faults)}

    return {
        "present": True,
        "declared": True,
        "format": {"codec": a, "rate": 48_000, "channels": 1, "bitrate": 64_000, "config": k},
        "timing": [{"seq": 1, "anchor_us": 0, "drift_ppm": 1.5}],
        "in_file_s": [30.0, 90.0],
        "missing": [
            span("policy", 0.0, 30.0),
            span("gap", 40.0, 45.0, fault(a, why, n, 41.0), fault("microphone", k, a, 42.0)),
            span("not_exported", 45.0, 50.0),
            span("hole", 50.0, 70.0, fault("microphone resumed", n, why, 60.0)),
            span("none", 85.0, 90.0, fault(why, a, k, 86.0)),
        ],
        "muted": [{"in_file_s": [30.0, 80.0], "reason": why}],
        "not_exported": [{"seq": 2, "packets": 5, "reason": why}],
        "dropped_before_video": 2,
    }


@settings(max_examples=examples(60), deadline=None)
@given(
    device=HOSTILE,
    officer=HOSTILE,
    rid=HOSTILE,
    audit=HOSTILE,
    key=HOSTILE,
    reason=HOSTILE,
    name=HOSTILE,
)
@example(*(["<script>alert(1)</script>"] * 7))
def test_nothing_from_evidence_adds_markup(
    device: str, officer: str, rid: str, audit: str, key: str, reason: str, name: str
) -> None:
    """The same report with hostile strings in every evidence field has exactly the markup of
    the report with plain ones: no tag, attribute or comment can come from evidence."""

    def report(d: str, o: str, r: str, a: str, k: str, why: str, n: str) -> str:
        doc = _doc(
            outputs=[
                _output(
                    device_id=d,
                    officer_id=o,
                    recording_id=r,
                    trigger=a,
                    clock_source=a,
                    reasons=[why],
                    notes=[why],
                    audio=_audio(a, k, why, n),
                )
            ]
        )
        doc["verification"]["lines"][0] |= {"file": n, "reason": why}
        doc["inputs"][0]["file"] = n
        doc["unattributed_holes"] = [copy.deepcopy(doc["outputs"][0]["holes"][0]) | {"found": n}]
        doc["failed"] = [r]
        events = _events()
        for e in events:
            if e.get("recording_id") == RID:
                e["recording_id"] = r
        events[7]["reason"] = a
        events.append(_event(9, a, 1, **{k: a, "x": [a, {k: a}]}))
        events.append(_event(10, "fault", 2, what=a, error=why))
        return _render(doc, events)

    hostile = report(device, officer, rid, audit, key, reason, name)
    plain = report("BC-1", "4711", "r1", "button", "key", "reason", "segment-00000001.bcam")
    assert _shape(hostile) == _shape(plain)


def test_the_template_is_loaded_compiled_and_renders_as_its_source_does(monkeypatch: Any) -> None:
    compiled = template.report_template()
    assert compiled.filename == _compiled.__file__  # not compiled again from the .j2
    cut = {"gap_s": 2.5, "recording_id": "r0", "torn_segment": 4, "from": "x", "to": None}
    doc = _doc(forced=True, outputs=[_output(fixes=FIXES, fix_gaps=GAPS, resumes=cut)])
    html = _render(doc)
    assert "torn" in html and "FORCED" in html and 'class="route"' in html
    source = template.ENV.get_template(template.NAME)
    assert source is not compiled
    monkeypatch.setattr(page, "report_template", lambda: source)
    assert html == _render(doc)


def test_the_compiled_template_is_the_template_as_it_is() -> None:
    """Fails when report.html.j2 (or how it is compiled) changed and _compiled.py was not made
    again: run `python -m recorder.export.report.template`."""
    assert Path(_compiled.__file__).read_text(encoding="utf-8") == template.compiled_source()


def test_a_compiled_template_of_another_text_or_none_is_not_used(monkeypatch: Any) -> None:
    def from_source() -> bool:
        template.report_template.cache_clear()
        filename = template.report_template().filename
        return filename is not None and filename.endswith("report.html.j2")

    try:
        with monkeypatch.context() as m:
            m.setattr(_compiled, "KEY", template.key("<p>another template</p>"))
            assert from_source()
            assert "bodycam case report" in _render(_doc())
        with monkeypatch.context() as m:
            m.setitem(sys.modules, "recorder.export.report._compiled", None)  # not made yet
            assert from_source()
        assert not from_source()
    finally:
        template.report_template.cache_clear()


def test_a_command_that_writes_no_report_does_not_import_jinja2() -> None:
    """Every command imports the exporter; Jinja2 and the page are imported by the first report."""
    code = (
        "import sys, recorder.cli; from recorder.export.report import write_html; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'jinja2' "
        "or m.startswith('recorder.export.report')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['recorder.export.report']"
