"""report.html's sound: the view of each recording's ``audio`` facts (one line with its format
and the microphone's drift; no sound at all said apart; each span with no sound, and each muted
one, with its reason in words), built from the report.json of real exports: a simulated camera
whose microphone is muted, unplugged, overruns and is unplugged through a whole recording, the
same evidence with a segment deleted, and recordings written as the camera writes them with two
formats and with no microphone. (In a real browser: test_report_html_browser.py.)"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recorder.cli import main
from recorder.export.audio import audio_facts, plan_audio
from recorder.export.exporter import export
from recorder.export.report.page import render_html
from recorder.export.report.sound import MUTED, POLICY, Sound, build_sound
from tests import test_report_html as report_doc
from tests.avclip import flash_frames
from tests.profiles import examples
from tests.simdevice import SimDevice, scenario
from tests.test_export_audio import Camera, _sound
from tests.test_export_audio import S as SECOND

from .conftest import Device


def _hold(at: float, what: str, seconds: float = 0.2) -> str:
    return f'[[step]]\nat = {at}\ndo = "hold"\ninput = "{what}"\nseconds = {seconds}\n'


def _mic_fail(at: float, error: str, seconds: float) -> str:
    return f'[[step]]\nat = {at}\ndo = "mic_fail"\nerror = "{error}"\nseconds = {seconds}\n'


# Recording 1: pressed at 10 s (5 s of pre-roll, no pre-event sound), muted from 15 s to 18 s,
# the microphone unplugged at 22 s for 3 s, an overrun at 28 s; stopped at 32 s. Then the
# microphone is unplugged at 40 s for 30 s, through all of recording 2 (pressed at 45 s).
STEPS = (
    "[sound]\nskew_ppm = 50.0\n"
    + _hold(10.0, "record")
    + _hold(15.0, "mute")
    + _hold(18.0, "mute")
    + _mic_fail(22.0, "missing", 3.0)
    + _mic_fail(28.0, "overrun", 0.5)
    + _hold(32.0, "record", 3.5)
    + _mic_fail(40.0, "missing", 30.0)
    + _hold(45.0, "record")
    + _hold(52.0, "record", 3.5)
)
UNPLUGGED = '"microphone: no such device (simulated: unplugged)"'


@dataclass
class Exported:
    out: Path
    doc: dict[str, Any]

    def audio(self, i: int) -> dict[str, Any]:
        audio: dict[str, Any] = self.doc["outputs"][i]["audio"]
        return audio

    def sound(self, i: int) -> Sound:
        sound = build_sound(self.audio(i), self.doc["outputs"][i]["clock_set"] is True)
        assert sound is not None
        return sound


def _export(cam: SimDevice, evidence: Path, out: Path, *force: str) -> Exported:
    keys = ["--agency-key", str(cam.root / "keys" / "agency.key")]
    keys += ["--device-pub", str(cam.root / "state" / "device.pub")]
    main(["export", str(evidence), *keys, "--out", str(out), *force])
    return Exported(out, json.loads((out / "report.json").read_text()))


@pytest.fixture(scope="module")
def patrol(tmp_path_factory: pytest.TempPathFactory) -> tuple[Exported, Exported]:
    """The clean export, and a forced one of the same evidence without segment #3."""
    root = tmp_path_factory.mktemp("sound")
    cam = SimDevice.provision(root / "cam")
    cam.run(scenario(root / "s.toml", 60, STEPS))
    clean = _export(cam, cam.evidence, root / "clean")
    damaged = root / "damaged"
    shutil.copytree(cam.evidence, damaged)
    (damaged / "segment-00000003.bcam").unlink()
    return clean, _export(cam, damaged, root / "forced", "--force")


def _utc(fault: dict[str, Any]) -> str:
    """The time of day of a fault's wall time, to the millisecond."""
    assert re.fullmatch(r"2024-06-01T\d\d:\d\d:\d\d\.\d{6}Z", fault["wall"])
    return str(fault["wall"][11:23])


def _drift(audio: dict[str, Any]) -> str:
    """The segments' drift as from lowest to highest, or one value."""
    drift = sorted({r["drift_ppm"] + 0.0 for r in audio["timing"]})
    return " to ".join(f"{d:+.2f}" for d in sorted({drift[0], drift[-1]}))


def _in_file(row: dict[str, Any]) -> tuple[float, float]:
    a, b = row["in_file_s"]
    return a, b


@pytest.mark.slow
def test_a_recording_with_sound_says_its_format_and_drift_and_why_each_span_has_none(
    patrol: tuple[Exported, Exported],
) -> None:
    clean, _ = patrol
    audio, sound = clean.audio(0), clean.sound(0)
    at, until = audio["in_file_s"]
    assert sound.line == (
        f"yes: AAC-LC 48 kHz mono, 64 kbit/s, from {at:.1f} s to {until:.1f} s in the file; "
        f"microphone clock drift {_drift(audio)} ppm (measured by the camera at each of its 4 "
        "segments)"
    )
    assert 49 < max(r["drift_ppm"] for r in audio["timing"]) < 51  # the microphone's 50 ppm
    assert sound.silent == "" and sound.heard == (at, until)
    assert [(s.kind, s.style) for s in sound.spans] == [
        ("policy", "policy"),
        ("muted", "muted"),
        ("gap", "lost"),
        ("gap", "lost"),
    ]
    policy, muted, unplugged, overrun = sound.spans
    [p, g1, g2] = audio["missing"]
    assert [(s.t0, s.t1) for s in (policy, unplugged, overrun)] == [
        _in_file(p),
        _in_file(g1),
        _in_file(g2),
    ]
    assert (muted.t0, muted.t1) == _in_file(audio["muted"][0])
    assert policy.words == POLICY == "no sound before the trigger: pre-event audio is off by policy"
    assert muted.words == MUTED == "muted: digital silence, by the officer"
    fault = g1["faults"][0]
    assert unplugged.words == (
        "no sound: samples lost between two packets (an overrun or a fault); "
        f"the microphone failed: {UNPLUGGED} "
        f"(fault at {_utc(fault)} UTC, {fault['in_file_s']:.1f} s in the file)"
    )
    noticed = g2["faults"][0]  # audited as the capture came back, just after the gap
    assert noticed["what"] == "microphone overrun"
    assert overrun.words == (
        "no sound: samples lost between two packets (an overrun or a fault); "
        "the microphone overran: samples were lost "
        f"(fault at {_utc(noticed)} UTC, {noticed['in_file_s']:.1f} s in the file)"
    )
    assert [s.label for s in sound.spans] == ["no sound: policy", "muted", "no sound", "no sound"]


@pytest.mark.slow
def test_a_recording_with_no_sound_at_all_says_so_and_why(
    patrol: tuple[Exported, Exported],
) -> None:
    clean, _ = patrol
    sound = clean.sound(1)
    assert sound.line == (
        "NO SOUND: AAC-LC 48 kHz mono, 64 kbit/s declared, but no sound was recorded; "
        f"microphone clock drift {_drift(clean.audio(1))} ppm (measured by the camera at each of "
        "its 2 segments)"
    )
    assert sound.heard is None
    assert [(s.kind, s.style, s.label) for s in sound.spans] == [
        ("policy", "policy", "no sound: policy"),
        ("none", "lost", "NO SOUND"),
    ]
    # the fault it was in when the recording began, in its pre-roll
    fault = clean.audio(1)["missing"][1]["faults"][0]
    assert sound.silent == (
        "no audio packet recorded (a microphone fault the whole time?); the microphone failed: "
        f"{UNPLUGGED} (fault at {_utc(fault)} UTC, {fault['in_file_s']:.1f} s in the file)"
    )
    assert sound.spans[1].words == "no sound at all: " + sound.silent


@pytest.mark.slow
def test_a_missing_segment_is_no_sound_and_no_pictures_with_the_faults_in_it(
    patrol: tuple[Exported, Exported],
) -> None:
    _, forced = patrol
    sound = forced.sound(0)
    [hole] = [s for s in sound.spans if s.kind == "hole"]
    assert hole.style == "lost" and hole.label == "no sound"
    row = next(m for m in forced.audio(0)["missing"] if m["kind"] == "hole")
    assert (hole.t0, hole.t1) == _in_file(row)
    failed, resumed, overran = row["faults"]
    assert hole.words == (
        "no sound: segment #3 missing: no picture either; "
        f"the microphone failed: {UNPLUGGED} "
        f"(fault at {_utc(failed)} UTC, {failed['in_file_s']:.1f} s in the file); "
        f"the microphone came back (at {_utc(resumed)} UTC, {resumed['in_file_s']:.1f} s "
        "in the file); the microphone overran: samples were lost "
        f"(fault at {_utc(overran)} UTC, {overran['in_file_s']:.1f} s in the file)"
    )


@pytest.mark.slow
def test_another_format_and_no_microphone_are_named(device: Device, tmp_path: Path) -> None:
    """Written as the camera writes them: a recording whose second segment's sound is in
    another format (left out of the MP4), and one from a camera without a microphone."""
    video = flash_frames(120, start_pts_us=10 * SECOND)
    sound, meta = _sound(4.2, 10 * SECOND - 100_000)
    cam = Camera(device)
    cam.record(
        "r-formats",
        video,
        sound,
        trigger_us=10 * SECOND,
        parts=2,
        audio_meta=[meta, meta | {"config": "1188"}],
    )
    cam.record(
        "r-no-mic",
        flash_frames(60, start_pts_us=30 * SECOND),
        [],
        trigger_us=31 * SECOND,
        parts=1,
        audio_meta=[None],
    )
    cam.close()
    export(device.evidence, device.agency, device.pub, tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    formats, no_mic = (build_sound(o["audio"], True) for o in doc["outputs"])
    assert formats is not None and no_mic is not None
    [left] = [s for s in formats.spans if s.kind == "not_exported"]
    assert left.style == "lost" and left.label == "no sound"
    assert left.words.startswith("no sound: segment #2's sound is not in the MP4: its format (")
    assert "is not the file's (AAC-LC 48000 Hz mono" in left.words
    left_out, before = formats.notes
    assert re.fullmatch(
        r"segment #2's sound, \d+ packets, is not in the MP4: its format .*", left_out
    )
    # the sound began 0.1 s before the first picture
    n = doc["outputs"][0]["audio"]["dropped_before_video"]
    assert (
        n > 1 and before == f"{n} sound packets from before the first picture left out of the MP4"
    )
    assert no_mic.line == "NO SOUND: the camera declared no microphone"
    assert no_mic.silent == "no microphone: no header declares audio"
    assert [s.kind for s in no_mic.spans] == ["none"]


def test_a_recording_not_exported_has_no_sound_known_and_no_alarm_for_it() -> None:
    """No MP4 was made (its segments could not be decrypted, say): what its headers declared,
    and nothing said to be missing."""
    _, meta = _sound(0.1, 0)
    plan = plan_audio([(1, {"audio": meta})])
    audio = audio_facts(plan, None, {"recording_id": "r"}, [], {})
    sound = build_sound(json.loads(json.dumps(audio)), True)
    assert sound is not None and (sound.silent, sound.spans, sound.says_muted) == ("", [], False)
    assert sound.line == "not known: no MP4 was made (AAC-LC 48 kHz mono, 64 kbit/s declared)"


def test_the_mute_is_one_row_of_the_table_with_or_without_the_sounds_view() -> None:
    """The sound's muted span replaces the audit log's "muted" row; where the sound's view has
    none (no MP4 was made, or no ``audio`` at all), the audit log's row stays."""
    _, meta = _sound(0.1, 0)
    no_mp4 = audio_facts(plan_audio([(1, {"audio": meta})]), None, {"recording_id": "r"}, [], {})
    heard = {"present": True, "missing": [], "muted": [{"in_file_s": [30.0, 80.0]}]}
    for audio, row in (
        (None, "<td>muted</td>"),
        (no_mp4, "<td>muted</td>"),
        (heard, f"<td>{MUTED}</td>"),
    ):
        output = report_doc._output() | ({} if audio is None else {"audio": audio})
        html = render_html(report_doc._doc(outputs=[output]), report_doc._events(), Path("/none"))
        table = html.split('<table class="events">')[1].split("</table>")[0]
        assert re.findall(r"<td>muted[^<]*</td>", table) == [row]


def _section(html: str, i: int) -> str:
    return html.split('<section class="recording"')[i + 1].split("</section>")[0]


@pytest.mark.slow
def test_the_page_shows_the_sound_line_lane_rows_and_the_no_sound_banner(
    patrol: tuple[Exported, Exported],
) -> None:
    clean, _ = patrol
    html = render_html(clean.doc, [], clean.out)
    first, second = _section(html, 0), _section(html, 1)
    for section, sound in ((first, clean.sound(0)), (second, clean.sound(1))):
        assert '<dt>sound</dt><dd class="sound-line">' in section
        timeline = section.split('<svg class="timeline"')[1].split("</svg>")[0]
        table = section.split('<table class="events">')[1].split("</table>")[0]
        for s in sound.spans:
            # drawn on the sound lane, with its reason; and a row of the table under it
            assert re.search(rf'<rect class="snd snd-{s.style}[^"]*" x="[^"]+" y="50"', timeline)
            words = s.words.replace('"', "&#34;").replace("'", "&#39;")
            assert f"<title>{words}: " in timeline
            assert f'<tr class="snd-row snd-row-{s.style}"><td>{words}</td>' in table
    assert '<rect class="snd-on"' in first and '<rect class="snd-on"' not in second
    assert 'class="nosound"' not in first
    banner = second.index('<p class="nosound"><strong>This recording has no sound at all:')
    assert banner < second.index("<h3>Timeline</h3>")
    # the mute is one row, the sound's; no second "muted" row from the audit log
    assert first.count("<td>muted") == 1


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_pair = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=2) | _json
_fault = st.fixed_dictionaries(
    {},
    optional={
        "what": st.sampled_from(["microphone", "microphone overrun", "microphone resumed"]) | _json,
        "error": _json,
        "wall": st.sampled_from(["2024-06-01T00:00:22.066667Z", "2024-06-01T00:00:22+02:00"])
        | _json,
        "in_file_s": st.floats() | _json,
    },
)
_audio = st.fixed_dictionaries(
    {},
    optional={
        "present": _json,
        "declared": _json,
        "format": st.fixed_dictionaries(
            {},
            optional={k: _json for k in ("codec", "rate", "channels", "bitrate")},
        )
        | _json,
        "in_file_s": _pair,
        "timing": st.lists(
            st.fixed_dictionaries({}, optional={"drift_ppm": st.floats() | _json}) | _json,
            max_size=3,
        )
        | _json,
        "missing": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "kind": st.sampled_from(["policy", "hole", "not_exported", "none", "gap"])
                    | _json,
                    "in_file_s": _pair,
                    "reason": _json,
                    "faults": st.lists(_fault | _json, max_size=3) | _json,
                },
            )
            | _json,
            max_size=4,
        )
        | _json,
        "muted": st.lists(
            st.fixed_dictionaries({}, optional={"in_file_s": _pair}) | _json, max_size=3
        )
        | _json,
        "not_exported": st.lists(
            st.fixed_dictionaries({}, optional={"seq": _json, "packets": _json, "reason": _json})
            | _json,
            max_size=2,
        )
        | _json,
        "dropped_before_video": _json,
        "dropped_out_of_order": _json,
    },
)


@settings(max_examples=examples(300), deadline=None)
@given(audio=_audio | _json, clock_set=st.booleans())
@example(audio={"missing": 1.0, "not_exported": True, "timing": {}}, clock_set=False)
@example(
    audio={"missing": [{"kind": "none", "in_file_s": [0, 1], "reason": "x\u202e"}]}, clock_set=True
)
def test_the_view_is_made_from_any_audio_object_without_a_traceback(
    audio: Any, clock_set: bool
) -> None:
    """report.json's ``audio`` is the export's, but the page takes what it can place from any
    JSON: every word of it is one line of printable text, every span in order and in a closed
    set of kinds and styles."""
    sound = build_sound(audio, clock_set)
    if not isinstance(audio, dict):
        assert sound is None
        return
    assert sound is not None
    for text in (sound.line, sound.silent, *sound.notes, *(s.words for s in sound.spans)):
        assert text.isprintable()
    assert sound.spans == sorted(sound.spans, key=lambda s: (s.t0, s.t1))
    for s in sound.spans:
        assert s.t0 <= s.t1
        assert s.kind in ("policy", "hole", "not_exported", "none", "gap", "muted")
    made = isinstance(audio.get("missing"), list)  # an MP4 was made
    assert bool(sound.silent) == (made and audio.get("present") is not True)
    assert sound.spans == [] or made
