"""Export with sound: the MP4's second track, and where a recording has no sound, and why.

The evidence is written as the camera writes it (signed, chained, encrypted segments of real
H.264 and of real AAC packets made by the camera's own pipeline, with the headers' ``audio``
object, and a signed audit log); then it is verified and exported, and the report and the MP4
are read back.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.cli import main
from recorder.evidence.audit import AuditLog
from recorder.evidence.chain import verify_dir
from recorder.evidence.keys import ed25519_public_key
from recorder.evidence.media import STREAM_AUDIO, STREAM_VIDEO, Frame, decode_frames, encode_frames
from recorder.evidence.reader import Verdict, decrypt_file
from recorder.evidence.state import EvidenceStream
from recorder.export.aac import AudioFormatError, AudioTrack
from recorder.export.audio import AudioPlan, audio_facts, audio_text, plan_audio
from recorder.export.avsync import measure
from recorder.export.exporter import export
from recorder.export.mp4 import Mp4Result, remux_to_mp4
from tests.avclip import click_packets, flash_frames, interleave
from tests.h264 import make_h264_frames
from tests.profiles import examples
from tests.simdevice import SimDevice, scenario
from tests.test_vectors import load

from .conftest import Device

WALL = 1_800_000_000.0
S = 1_000_000  # one second, in microseconds
ENCODER_CONFIG = "118856e500"


@dataclass
class Camera:
    """Writes recordings as the recorder does: records of about a second, segments that start
    on a keyframe, and the audit events around them."""

    device: Device
    media: EvidenceStream = field(init=False)
    log: AuditLog = field(init=False)
    n: int = 0

    def __post_init__(self) -> None:
        self.media = self.device.media()
        self.log = self.device.audit()
        self.event("boot", 0)

    def event(self, kind: str, mono_us: int, **fields: Any) -> None:
        self.log.log(kind, wall=WALL + mono_us / 1e6, mono_us=mono_us, **fields)

    def record(
        self,
        rid: str,
        video: list[Frame],
        audio: list[Frame],
        *,
        trigger_us: int,
        parts: int,
        audio_meta: list[dict[str, Any] | None],
        events: list[tuple[str, int, dict[str, Any]]] = (),  # type: ignore[assignment]
        summary_counts_audio: bool = False,
    ) -> list[int]:
        """Write one recording in ``parts`` segments, each holding an equal share of the video
        (from a keyframe) and the audio that came with it; log ``events`` at their times."""
        first = video[0].pts_us
        self.event(
            "record_start",
            trigger_us + 50_000,
            trigger="button",
            trigger_us=trigger_us,
            recording_id=rid,
            pre_roll_s=round((trigger_us - first) / 1e6, 3),
        )
        pending = sorted(events, key=lambda e: e[1])
        frames = interleave(video, audio)
        per = len(video) // parts
        cuts = [video[i * per].pts_us for i in range(1, parts)]
        seqs = []
        for part in range(parts):
            lo = video[part * per].pts_us
            hi = cuts[part] if part < len(cuts) else 2**62
            mine = [f for f in frames if lo <= _video_time(f, frames) < hi]
            meta = {
                "recording_id": rid,
                "part": part + 1,
                "trigger": "button",
                "pre_roll_s": round((trigger_us - first) / 1e6, 3) if part == 0 else 0.0,
                "wall_start": "2027-01-15T08:00:00.000000Z",
                "mono_start_us": lo,
                "clock_set": True,
            }
            if audio_meta[part] is not None:
                meta["audio"] = audio_meta[part]
            f = self.media.open(meta)
            self.event("segment_open", lo, seq=f.seq, recording_id=rid, part=part + 1)
            for record in _records(mine):
                f.append(encode_frames(record))
                while pending and pending[0][1] <= record[-1].pts_us:
                    kind, at, extra = pending.pop(0)
                    self.event(kind, at, **extra)
            n_video = sum(fr.stream == STREAM_VIDEO for fr in mine)
            link = self.media.close(
                {"frames": len(mine) if summary_counts_audio else n_video, "reason": "stop"}
            )
            self.event("segment_close", mine[-1].pts_us, seq=link.seq, records=link.records)
            seqs.append(link.seq)
        for kind, at, extra in pending:
            self.event(kind, at, **extra)
        self.event("record_stop", video[-1].pts_us + 1, recording_id=rid, segments=seqs)
        return seqs

    def close(self) -> None:
        self.log.close(wall=WALL, reason="shutdown")


def _video_time(f: Frame, frames: list[Frame]) -> int:
    """The time of the video frame an audio frame is written after (its record's)."""
    return f.pts_us if f.stream == STREAM_VIDEO else f.pts_us + 43_000


def _records(frames: list[Frame]) -> list[list[Frame]]:
    """One record per second of video (a new one at each keyframe)."""
    out: list[list[Frame]] = []
    for f in frames:
        if not out or (f.stream == STREAM_VIDEO and f.keyframe):
            out.append([])
        out[-1].append(f)
    return out


def _export(device: Device, out: Path) -> tuple[dict[str, Any], str]:
    export(device.evidence, device.agency, device.pub, out)
    return json.loads((out / "report.json").read_text()), (out / "report.txt").read_text()


def _sound(seconds: float, start_us: int, **kw: Any) -> tuple[list[Frame], dict[str, Any]]:
    return click_packets(seconds, start_us=start_us, tone_hz=300, **kw)


def test_a_recording_with_sound_has_it_in_sync_and_says_where_it_has_none(
    device: Device, tmp_path: Path
) -> None:
    """Pre-roll kept without sound by policy, a microphone fault losing half a second, a mute:
    the MP4 has the sound in sync with the pictures across its two segments (a clap at 5 s, read
    back from the file alone), and the report names each span with its reason."""
    t0 = 10 * S
    video = flash_frames(180, start_pts_us=t0, flashes=[150])  # 6 s; a flash at 15 s
    trigger = t0 + 2 * S
    sound, meta = _sound(4.5, trigger - 200_000, clicks_us=[video[150].pts_us])
    kept = [f for f in sound if f.pts_us >= trigger]  # pre_event_audio false
    lost = [f for f in kept if not 14 * S <= f.pts_us < 14 * S + 500_000]
    cam = Camera(device)
    cam.record(
        "r-sound",
        video,
        lost,
        trigger_us=trigger,
        parts=2,
        audio_meta=[meta, meta | {"anchor_us": 13_000_000.5, "drift_ppm": 48.5}],
        events=[
            ("fault", 14 * S + 100_000, {"what": "microphone", "error": "overrun"}),
            ("fault", 14 * S + 490_000, {"what": "microphone resumed"}),
            ("mute", 14 * S + 800_000, {}),
            ("unmute", 15 * S + 300_000, {}),
        ],
    )
    cam.close()
    out = tmp_path / "out"
    report, text = _export(device, out)
    [o] = report["outputs"]
    a = o["audio"]
    mp4 = out / o["file"]

    assert a["present"] and a["declared"] and a["pre_event_audio"] is False
    assert a["format"] == {
        "codec": "aac-lc",
        "rate": 48_000,
        "channels": 1,
        "bitrate": 64_000,
        "config": ENCODER_CONFIG,
    }
    assert [r["seq"] for r in a["timing"]] == [1, 2]
    assert a["timing"][1] | {} == {"seq": 2, "anchor_us": 13_000_000.5, "drift_ppm": 48.5}
    assert a["packets"] == len(lost) and a["first_pts_us"] == lost[0].pts_us
    assert a["dropped_before_video"] == a["dropped_out_of_order"] == 0
    policy, gap = a["missing"]
    assert policy["kind"] == "policy" and policy["in_file_s"] == [0.0, 2.0]
    assert "pre_event_audio false" in policy["reason"] and "faults" not in policy
    assert gap["kind"] == "gap" and "samples lost" in gap["reason"]
    assert 3.98 < gap["in_file_s"][0] < 4.03 and 4.5 <= gap["in_file_s"][1] < 4.53
    assert [f["what"] for f in gap["faults"]] == ["microphone", "microphone resumed"]
    assert gap["faults"][0]["in_file_s"] == 4.1 and gap["faults"][0]["error"] == "overrun"
    assert a["muted"] == [{"in_file_s": [4.8, 5.3], "reason": "muted (digital silence)"}]

    assert "    audio:        AAC-LC 48000 Hz mono, 64 kbit/s, config 118856e500; " in text
    assert "segment #2 anchor 13.000001 s, drift +48.50 ppm" in text
    assert "    NO AUDIO:     0.000 s to 2.000 s (2.000 s): before the trigger" in text
    assert "fault:       microphone (overrun) at 4.100 s in the file" in text
    assert "    MUTED:        4.800 s to 5.300 s: muted (digital silence)" in text

    with av.open(str(mp4)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
    sync = measure(mp4)
    assert sync.flashes == pytest.approx([5.0], abs=1e-6)
    assert sync.offsets_ms == pytest.approx([0.0], abs=0.5)
    assert "<html" in (out / "report.html").read_text()[:200].lower()


def test_without_a_microphone_or_without_packets_the_whole_recording_is_named(
    device: Device, tmp_path: Path
) -> None:
    """No header declares audio: no microphone. Declared but no packet came, the microphone
    having failed before the recording: no sound at all, and that fault is named."""
    cam = Camera(device)
    video = flash_frames(60, start_pts_us=10 * S)
    cam.record("r-mute-camera", video, [], trigger_us=11 * S, parts=1, audio_meta=[None])
    _, meta = _sound(0.1, 0)
    cam.event("fault", 20 * S, what="microphone", error="no such device")
    video2 = flash_frames(60, start_pts_us=30 * S)
    cam.record("r-failed", video2, [], trigger_us=31 * S, parts=1, audio_meta=[meta])
    cam.close()
    report, text = _export(device, tmp_path / "out")
    none, failed = (o["audio"] for o in report["outputs"])
    assert not none["present"] and not none["declared"] and none["format"] is None
    [span] = [m for m in none["missing"] if m["kind"] == "none"]
    assert span["reason"] == "no sound at all: no microphone: no header declares audio"
    assert span["in_file_s"] == [0.0, 2.0] and span["faults"] == []
    assert none["missing"][0]["kind"] == "none"  # no policy span: no header says so
    assert failed["declared"] and not failed["present"]
    policy, whole = failed["missing"]
    assert policy["kind"] == "policy" and policy["in_file_s"] == [0.0, 1.0]
    assert whole["kind"] == "none" and whole["in_file_s"] == [1.0, 2.0]
    assert "a microphone fault the whole time" in whole["reason"]
    assert [(f["what"], f["error"]) for f in whole["faults"]] == [("microphone", "no such device")]
    assert "    audio:        none declared" in text
    with av.open(str(tmp_path / "out" / report["outputs"][0]["file"])) as container:
        assert not container.streams.audio


def test_a_segment_in_another_format_keeps_its_pictures_and_its_sound_is_named(
    device: Device, tmp_path: Path
) -> None:
    """One track has one decoder configuration: the first segment's. The second segment's
    sound, in another configuration, is left out, counted and named with both formats; its
    pictures are exported."""
    video = flash_frames(120, start_pts_us=10 * S)
    sound, meta = _sound(4.2, 10 * S - 100_000)
    cam = Camera(device)
    other = meta | {"config": "1188"}
    cam.record("r-two-formats", video, sound, trigger_us=10 * S, parts=2, audio_meta=[meta, other])
    cam.close()
    report, text = _export(device, tmp_path / "out")
    [o] = report["outputs"]
    a = o["audio"]
    assert o["frames"] == 120
    [left] = a["not_exported"]
    assert left["seq"] == 2 and left["packets"] > 80
    assert "config 1188) is not the file's (AAC-LC 48000 Hz mono" in left["reason"]
    [span] = [m for m in a["missing"] if m["kind"] == "not_exported"]
    assert span["in_file_s"][0] == pytest.approx(2.0, abs=0.05)
    assert span["in_file_s"][1] == pytest.approx(4.0, abs=1e-6)
    assert "segment #2's sound is not in the MP4" in span["reason"]
    assert "    NOT IN MP4:   segment #2's sound, " in text


@pytest.mark.parametrize("counts_audio", [False, True])
def test_a_segment_with_sound_verifies_ok_with_the_agency_key(
    device: Device, counts_audio: bool
) -> None:
    """MUST 8 holds the FINAL summary's ``records`` to the file, and nothing else: a summary's
    ``frames`` counts the video frames (as the recorder writes it), and a reader that counted
    every frame would call such a segment TAMPERED. Neither count is checked, so either
    verifies: with the device key alone, and with the agency key, which decrypts every record
    and checks its framing, stream 1 included."""
    video = flash_frames(60, start_pts_us=10 * S)
    sound, meta = _sound(2.0, 10 * S)
    cam = Camera(device)
    cam.record(
        "r",
        video,
        sound,
        trigger_us=10 * S,
        parts=1,
        audio_meta=[meta],
        summary_counts_audio=counts_audio,
    )
    cam.close()
    for identity in (None, device.agency):
        report = verify_dir(device.evidence, device.pub, identity=identity)
        assert report.worst is Verdict.OK, [str(ln) for ln in report.lines]


# --- bad input: whatever a header or an event holds ------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_audio_meta = st.fixed_dictionaries(
    {},
    optional={
        "codec": st.sampled_from(["aac-lc", "AAC", "opus"]) | _json,
        "rate": st.sampled_from([48_000, 44_100, 47_999]) | _json,
        "channels": st.sampled_from([1, 2, True]) | _json,
        "bitrate": st.sampled_from([64_000, 0, -1]) | _json,
        "config": st.sampled_from([ENCODER_CONFIG, "1188", "1190", "", "zz", "0988", "f8"])
        | st.binary(max_size=6).map(bytes.hex)
        | _json,
    },
)


@settings(max_examples=examples(300), deadline=None)
@given(audio=_audio_meta | _json)
def test_any_audio_object_is_a_track_or_a_clear_error(audio: Any) -> None:
    try:
        track = AudioTrack.from_meta(audio)
    except AudioFormatError as e:
        message = str(e)
        assert message.isprintable() and message.startswith(("'audio'", "audio '"))
        return
    assert track.channels == 1 and track.rate in (44_100, 48_000)
    assert track.config[0] in (0x11, 0x12)  # AAC-LC, 48 or 44.1 kHz, by its first bits
    assert track.describe().startswith("AAC-LC ")


_event = st.fixed_dictionaries(
    {"event": st.sampled_from(["boot", "record_start", "fault", "mute", "unmute", "record_stop"])},
    optional={
        "recording_id": st.sampled_from(["r", "x"]) | _json,
        "mono_us": st.integers(-(2**40), 2**40) | _json,
        "trigger_us": st.integers(0, 10**8) | _json,
        "what": st.sampled_from(["microphone", "microphone resumed", "camera"]) | _json,
        "error": _json,
        "wall": _json,
    },
)


@settings(max_examples=examples(200), deadline=None)
@given(
    events=st.lists(_event, max_size=12),
    gaps=st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 10**6)), max_size=3),
    packets=st.integers(0, 3),
    pre_event=st.sampled_from([True, False, None]),
    holes=st.lists(
        st.fixed_dictionaries(
            {"first": st.integers(1, 4), "last": st.integers(1, 4), "kind": _json}
        ).map(lambda h: h | {"in_file_s": [1.0, 2.0]}),
        max_size=2,
    ),
)
def test_the_facts_are_made_from_any_events_without_a_traceback(
    events: list[dict[str, Any]],
    gaps: list[tuple[int, int]],
    packets: int,
    pre_event: bool | None,
    holes: list[dict[str, Any]],
) -> None:
    """Signed audit events may hold any JSON: the audio facts take what they can place, and
    the text report prints them."""
    track = AudioTrack.from_meta(_sound(0.1, 0)[1])
    plan = AudioPlan(track=track, declared=True, pre_event_audio=pre_event)
    mp4 = Mp4Result(
        Path("x.mp4"),
        300,
        10,
        10.0,
        160,
        120,
        1_000_000,
        10_966_667,
        0,
        0,
        audio_packets=packets,
        audio_first_pts_us=1_500_000 if packets else None,
        audio_last_pts_us=9_000_000 if packets else None,
        audio_duration_s=7.5 if packets else 0.0,
        audio_gaps=tuple((1_000_000 + a, 1_000_000 + a + b) for a, b in gaps),
    )
    output = {"recording_id": "r", "first_pts_us": 1_000_000, "duration_s": 10.0, "holes": holes}
    facts = audio_facts(plan, mp4, output, events, {1: (1_000_000, 10_966_667)})
    json.dumps(facts)
    for m in facts["missing"]:
        assert m["in_file_s"][0] < m["in_file_s"][1]
    for line in audio_text(facts):
        assert line.isprintable()
    assert [m["kind"] for m in facts["missing"]].count("policy") <= (pre_event is False)
    assert {m["kind"] for m in facts["missing"]} <= {"policy", "gap", "none", "hole"}
    assert all(type(f["mono_us"]) is int for m in facts["missing"] for f in m.get("faults", []))


def test_the_audio_vector_is_a_real_recording_a_video_only_reader_also_reads(
    tmp_path: Path,
) -> None:
    """valid-with-audio.vec (spec section 13): its stream-0 frames are the H.264 frames alone, as
    a reader that knows no stream 1 takes them; its stream-1 frames are AAC-LC packets that
    decode with the header's configuration; and together they remux to an MP4 with both
    tracks."""
    fields, blob = load(Path(__file__).parent / "vectors" / "valid-with-audio.vec")
    device = ed25519_public_key(bytes.fromhex(fields["device-pub"]), "vector")
    agency = X25519PrivateKey.from_private_bytes(bytes.fromhex(fields["agency-key"]))
    reader, plaintexts = decrypt_file(io.BytesIO(blob), device, agency)
    frames = [f for pt in plaintexts for f in decode_frames(pt)]
    assert reader.outcome.verdict is Verdict.OK
    header = reader.outcome.header
    assert header is not None
    track = AudioTrack.from_meta(header.meta["audio"])
    video = [f for f in frames if f.stream == STREAM_VIDEO]
    sound = [f for f in frames if f.stream == STREAM_AUDIO]
    assert video == make_h264_frames(9, gop=9, start_pts_us=1_000_000)
    assert len(sound) == 14 and all(not f.keyframe for f in sound)
    assert all(a.pts_us < b.pts_us for a, b in itertools.pairwise(sound))
    decoder = av.CodecContext.create("aac", "r")
    decoder.extradata = track.config
    pcm = np.concatenate(
        [p.to_ndarray().reshape(-1) for f in sound for p in decoder.decode(av.Packet(f.data))]
    )
    spectrum = np.abs(np.fft.rfft(pcm[2048:]))
    assert np.argmax(spectrum) * 48_000 / len(pcm[2048:]) == pytest.approx(440, abs=10)
    result = remux_to_mp4(iter(frames), tmp_path / "vector.mp4", audio=track)
    assert (result.frames, result.audio_packets) == (9, 14)


@settings(max_examples=examples(200), deadline=None)
@given(
    audios=st.lists(
        st.one_of(st.just(None), _audio_meta, _json).map(
            lambda a: a | {"anchor_us": 1.5, "drift_ppm": True} if isinstance(a, dict) else a
        ),
        min_size=1,
        max_size=5,
    )
)
def test_the_track_is_the_first_valid_format_whatever_the_headers_hold(
    audios: list[Any],
) -> None:
    """Each segment either gives its sound to the track (the first valid format's, and the
    segments of the same format) or has a printable reason why not."""
    headers = [(i + 1, {} if a is None else {"audio": a}) for i, a in enumerate(audios)]
    plan = plan_audio(headers)
    valid = []
    for seq, meta in headers:
        with contextlib.suppress(KeyError, AudioFormatError):
            valid.append((seq, AudioTrack.from_meta(meta["audio"])))
    assert plan.declared == any(a is not None for a in audios)
    assert plan.track == (valid[0][1] if valid else None)
    for seq, _ in headers:
        if plan.keeps(seq):
            assert plan.track is not None and seq in dict(valid)
            assert dict(valid)[seq].config == plan.track.config
        else:
            assert plan.excluded[seq].isprintable()
    for row in plan.timing:
        assert row.get("anchor_us", 1.5) == 1.5 and "drift_ppm" not in row  # a bool is no number


def test_the_simulators_export_is_in_sync_and_its_silences_are_explained(tmp_path: Path) -> None:
    """The simulated camera records claps with a microphone 50 ppm fast, a mute and an unplugged
    microphone: read from the MP4 alone, every clap heard is within a millisecond of its flash;
    the flashes with no click are those of the pre-roll (no pre-event sound), the mute and the
    fault, and the report says so."""
    cam = SimDevice.provision(tmp_path / "cam")
    steps = """
        [sound]
        claps_every = 3.0
        skew_ppm = 50.0
        [[step]]
        at = 20.0
        do = "press"
        input = "record"
        [[step]]
        at = 20.2
        do = "release"
        input = "record"
        [[step]]
        at = 40.0
        do = "hold"
        input = "mute"
        seconds = 0.2
        [[step]]
        at = 45.0
        do = "hold"
        input = "mute"
        seconds = 0.2
        [[step]]
        at = 50.0
        do = "mic_fail"
        error = "missing"
        seconds = 3.0
        [[step]]
        at = 68.0
        do = "hold"
        input = "record"
        seconds = 3.5
        """
    cam.run(scenario(tmp_path / "s.toml", 75, steps))
    out = tmp_path / "out"
    keys = ["--agency-key", str(cam.root / "keys" / "agency.key")]
    keys += ["--device-pub", str(cam.root / "state" / "device.pub")]
    assert main(["export", str(cam.evidence), *keys, "--out", str(out)]) == 0
    [o] = json.loads((out / "report.json").read_text())["outputs"]
    sync = measure(out / o["file"])
    assert len(sync.pairs) >= 12
    assert max(map(abs, sync.offsets_ms)) < 1.0
    audio = o["audio"]
    trigger = audio["missing"][0]["in_file_s"][1]
    [muted] = audio["muted"]
    [gap] = [m for m in audio["missing"] if m["kind"] == "gap"]
    assert audio["missing"][0]["kind"] == "policy" and len(audio["missing"]) == 2
    assert [f["what"] for f in gap["faults"]][:1] == ["microphone"]
    for flash in sync.unpaired_flashes:
        assert (
            flash < trigger
            or muted["in_file_s"][0] <= flash <= muted["in_file_s"][1]
            or gap["in_file_s"][0] <= flash <= gap["in_file_s"][1]
        ), (flash, audio)
    assert sync.unpaired_clicks == []
