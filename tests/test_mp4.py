"""MP4 export: remuxed files must be what ffprobe, ffmpeg and a decoder say they are."""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
import statistics
import subprocess
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from recorder.evidence.media import STREAM_AUDIO, STREAM_SENSOR, Frame
from recorder.export.aac import AudioTrack
from recorder.export.avsync import clicks
from recorder.export.mp4 import (
    DEFAULT_FRAME_DURATION_US,
    Mp4Result,
    RemuxError,
    remux_to_mp4,
)
from tests.avclip import click_packets, interleave
from tests.h264 import NAL_IDR, NAL_PPS, NAL_SPS, annexb_nal_types, make_h264_frames, read_counter

FRAME_US = 1e6 / 30


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found on PATH: run `make tools` to install it")
    return path


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [
            _tool("ffprobe"),
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames,nb_frames,duration",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert out.stderr == ""
    streams = json.loads(out.stdout)["streams"]
    assert len(streams) == 1
    stream: dict[str, Any] = streams[0]
    return stream


def ffprobe_tags(path: Path) -> dict[str, str]:
    out = subprocess.run(
        [_tool("ffprobe"), "-v", "error", "-show_entries", "format_tags", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    tags: dict[str, str] = json.loads(out.stdout)["format"].get("tags", {})
    return tags


def ffmpeg_decodes_cleanly(path: Path) -> None:
    out = subprocess.run(
        [_tool("ffmpeg"), "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""


def decode_mp4(path: Path) -> list[tuple[int, int]]:
    """(pts in microseconds, counter) of every picture PyAV decodes from the file."""
    result: list[tuple[int, int]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for picture in container.decode(stream):
            assert picture.pts is not None and picture.time_base is not None
            pts_us = picture.pts * picture.time_base * 1_000_000
            assert pts_us.denominator == 1
            result.append((int(pts_us), read_counter(picture.to_ndarray(format="gray"))))
    return result


def check_file(result: Mp4Result, frames: list[Frame]) -> None:
    """The file holds exactly ``frames`` (video, from the first keyframe on), with their timing."""
    assert result.frames == len(frames)
    assert result.keyframes == sum(f.keyframe for f in frames)
    assert result.first_pts_us == frames[0].pts_us
    assert result.last_pts_us == frames[-1].pts_us

    probe = ffprobe(result.path)
    assert probe["codec_name"] == "h264"
    assert (probe["width"], probe["height"]) == (160, 120) == (result.width, result.height)
    assert int(probe["nb_frames"]) == len(frames)
    assert int(probe["nb_read_frames"]) == len(frames)
    span_s = (frames[-1].pts_us - frames[0].pts_us) / 1e6
    assert abs(float(probe["duration"]) - (span_s + FRAME_US / 1e6)) <= FRAME_US / 1e6
    assert float(probe["duration"]) == pytest.approx(result.duration_s, abs=1e-6)

    ffmpeg_decodes_cleanly(result.path)


def gen(frames: Iterable[Frame]) -> Iterator[Frame]:
    """Feed the exporter a one-shot generator, as a real recording would."""
    yield from frames


def test_remux_basic(tmp_path: Path) -> None:
    frames = make_h264_frames(75)
    result = remux_to_mp4(gen(frames), tmp_path / "out.mp4")
    assert result.path == tmp_path / "out.mp4"
    assert (result.dropped_before_keyframe, result.skipped_other_streams) == (0, 0)
    assert result.keyframes == 3
    check_file(result, frames)
    # Exact timing and exactly the pictures given, in order: no loss, no duplicate.
    assert decode_mp4(result.path) == [(f.pts_us, i) for i, f in enumerate(frames)]
    assert result.duration_s == (frames[-1].pts_us + 33_333) / 1e6


def test_samples_are_the_recorded_bytes(tmp_path: Path) -> None:
    """Stream copy, not re-encoding: every MP4 sample has the recorded NAL units, byte for byte."""
    frames = make_h264_frames(40)
    assert annexb_nal_types(frames[0].data)[:2] == [NAL_SPS, NAL_PPS]
    assert NAL_IDR in annexb_nal_types(frames[0].data)
    result = remux_to_mp4(gen(frames), tmp_path / "out.mp4")

    def annexb_nals(data: bytes) -> list[bytes]:
        parts = data.split(b"\x00\x00\x01")[1:]
        return [p.rstrip(b"\x00") for p in parts]

    def avcc_nals(data: bytes) -> list[bytes]:
        nals, pos = [], 0
        while pos < len(data):
            size = int.from_bytes(data[pos : pos + 4], "big")
            nals.append(data[pos + 4 : pos + 4 + size])
            pos += 4 + size
        return nals

    with av.open(str(result.path)) as container:
        packets = [bytes(p) for p in container.demux(video=0) if p.size]
    assert [avcc_nals(p) for p in packets] == [annexb_nals(f.data) for f in frames]


def test_stitched_runs_and_other_streams(tmp_path: Path) -> None:
    """Two separately encoded runs (the second starting on a keyframe) make one playable file."""
    first = make_h264_frames(45)  # keyframes at 0 and 30: the run ends mid-GOP
    second = make_h264_frames(
        40, start_pts_us=first[-1].pts_us + 33_333, counter_start=45
    )  # a fresh encoder: new IDR, frame_num and POC restart
    sensor = Frame(STREAM_SENSOR, 1_000, False, b'{"battery": 87}')
    stitched = [*first[:10], sensor, *first[10:], sensor, *second]
    result = remux_to_mp4(gen(stitched), tmp_path / "out.mp4")
    video = [*first, *second]
    assert result.skipped_other_streams == 2
    assert result.keyframes == 4
    check_file(result, video)
    decoded = decode_mp4(result.path)
    assert [c for _, c in decoded] == list(range(85))
    assert [p for p, _ in decoded] == [f.pts_us for f in video]


def test_leading_non_keyframes_dropped(tmp_path: Path) -> None:
    frames = make_h264_frames(60)[10:]  # starts 20 frames before the keyframe at index 30
    result = remux_to_mp4(gen(frames), tmp_path / "out.mp4")
    assert result.dropped_before_keyframe == 20
    kept = frames[20:]
    assert kept[0].keyframe
    check_file(result, kept)
    decoded = decode_mp4(result.path)
    assert [c for _, c in decoded] == list(range(30, 60))
    assert [p for p, _ in decoded] == [f.pts_us - kept[0].pts_us for f in kept]


def test_timing_is_exact_with_jitter_and_offset(tmp_path: Path) -> None:
    """Irregular recorded timestamps survive to the microsecond, relative to the first frame."""
    base = 1_715_000_000_000_000  # a wall-clock-like origin
    frames = [
        dataclasses.replace(f, pts_us=base + i * 33_333 + (i % 4) * 1_111 + (i >= 20) * 250_000)
        for i, f in enumerate(make_h264_frames(40))
    ]
    result = remux_to_mp4(gen(frames), tmp_path / "out.mp4")
    assert result.first_pts_us == base
    decoded = decode_mp4(result.path)
    assert [p for p, _ in decoded] == [f.pts_us - base for f in frames]
    # The last frame lasts as long as the median (low) of the last 31 gaps.
    gaps = [b.pts_us - a.pts_us for a, b in itertools.pairwise(frames)]
    last_gap = statistics.median_low(gaps[-31:])
    probe = ffprobe(result.path)
    expected_s = (frames[-1].pts_us - base + last_gap) / 1e6
    assert float(probe["duration"]) == pytest.approx(expected_s, abs=1e-6)
    assert result.duration_s == pytest.approx(expected_s, abs=1e-9)


def test_creation_time_and_metadata(tmp_path: Path) -> None:
    when = datetime(2024, 5, 6, 9, 8, 7, tzinfo=timezone(timedelta(hours=2)))
    result = remux_to_mp4(
        gen(make_h264_frames(30)),
        tmp_path / "out.mp4",
        creation_time=when,
        metadata={"title": "Incident 2024-0042", "comment": "device BC-7, chain ok"},
    )
    tags = ffprobe_tags(result.path)
    assert tags["creation_time"] == "2024-05-06T07:08:07.000000Z"
    assert tags["title"] == "Incident 2024-0042"
    assert tags["comment"] == "device BC-7, chain ok"
    assert datetime.fromisoformat(tags["creation_time"]) == when.astimezone(UTC)


def test_naive_creation_time_rejected(tmp_path: Path) -> None:
    with pytest.raises(RemuxError, match="timezone"):
        remux_to_mp4(
            gen(make_h264_frames(30)), tmp_path / "o.mp4", creation_time=datetime(2024, 1, 1)
        )
    assert not (tmp_path / "o.mp4").exists()


def test_single_frame(tmp_path: Path) -> None:
    result = remux_to_mp4(gen(make_h264_frames(1)), tmp_path / "out.mp4")
    assert result.duration_s == DEFAULT_FRAME_DURATION_US / 1e6
    probe = ffprobe(result.path)
    assert int(probe["nb_read_frames"]) == 1
    assert float(probe["duration"]) == pytest.approx(result.duration_s, abs=1e-6)
    assert [c for _, c in decode_mp4(result.path)] == [0]


@pytest.mark.parametrize(
    "frames",
    [
        pytest.param([], id="empty"),
        pytest.param(make_h264_frames(30)[1:], id="no-keyframe"),
        pytest.param([Frame(STREAM_SENSOR, 0, True, b"{}")], id="no-video"),
    ],
)
def test_no_keyframe(tmp_path: Path, frames: list[Frame]) -> None:
    with pytest.raises(RemuxError, match="no keyframe"):
        remux_to_mp4(gen(frames), tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_keyframe_without_parameter_sets(tmp_path: Path) -> None:
    key = make_h264_frames(1)[0]
    bare = dataclasses.replace(key, data=key.data[key.data.index(b"\x00\x00\x01\x65") :])
    assert annexb_nal_types(bare.data)[0] == NAL_IDR
    with pytest.raises(RemuxError, match="SPS/PPS"):
        remux_to_mp4(gen([bare]), tmp_path / "out.mp4")


def test_non_increasing_pts_removes_partial_file(tmp_path: Path) -> None:
    frames = make_h264_frames(40)
    frames[35] = dataclasses.replace(frames[35], pts_us=frames[34].pts_us)
    with pytest.raises(RemuxError, match="do not increase"):
        remux_to_mp4(gen(frames), tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_picture_size_change_rejected(tmp_path: Path) -> None:
    small = make_h264_frames(10, width=128, height=96)
    big = make_h264_frames(10, start_pts_us=small[-1].pts_us + 33_333)
    with pytest.raises(RemuxError, match="128x96 yuv420p to 160x120 yuv420p"):
        remux_to_mp4(gen([*small, *big]), tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_streams_video_frame_time_base_is_microseconds(tmp_path: Path) -> None:
    result = remux_to_mp4(gen(make_h264_frames(5)), tmp_path / "out.mp4")
    with av.open(str(result.path)) as container:
        assert container.streams.video[0].time_base == Fraction(1, 1_000_000)


def test_long_timeline(tmp_path: Path) -> None:
    """Durations past 2**31 microseconds (about 36 minutes) need 64-bit MP4 boxes; check them."""
    frames = [
        dataclasses.replace(f, pts_us=i * 80_000_000) for i, f in enumerate(make_h264_frames(40))
    ]
    result = remux_to_mp4(gen(frames), tmp_path / "out.mp4")
    assert result.duration_s == 3200.0
    probe = ffprobe(result.path)
    assert float(probe["duration"]) == 3200.0
    assert int(probe["nb_read_frames"]) == 40
    assert [p for p, _ in decode_mp4(result.path)] == [f.pts_us for f in frames]
    ffmpeg_decodes_cleanly(result.path)


# --- audio: the recorded AAC packets as a second track -----------------------------------------

START_US = 5_000_000


def _av_clip(
    seconds: float = 3.0, *, audio_from: int = START_US - 300_000, clicks: tuple[int, ...] = ()
) -> tuple[list[Frame], list[Frame], dict[str, Any]]:
    """Video from START_US (30 fps, 160x120) and the sound from ``audio_from``."""
    video = make_h264_frames(round(seconds * 30), start_pts_us=START_US)
    audio, meta = click_packets(
        seconds + (START_US - audio_from) / 1e6, start_us=audio_from, clicks_us=clicks, tone_hz=300
    )
    return video, audio, meta


def ffprobe_audio(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [
            *(_tool("ffprobe"), "-v", "error", "-select_streams", "a"),
            *("-show_streams", "-show_data", "-of", "json", str(path)),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    streams: list[dict[str, Any]] = json.loads(out.stdout)["streams"]
    assert len(streams) == 1
    return streams[0]


def audio_packets(path: Path) -> list[tuple[int, int, bytes]]:
    """(pts, duration, bytes) of every audio packet, in the track's time base (1/48000)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.time_base == Fraction(1, 48_000)
        return [
            (int(p.pts), int(p.duration), bytes(p))
            for p in container.demux(stream)
            if p.size and p.pts is not None and p.duration is not None
        ]


def test_audio_is_the_recorded_packets_at_their_recorded_times(tmp_path: Path) -> None:
    """Stream copy, and the recorded timestamps are the sync: every packet from the first video
    frame on, byte for byte, at its recorded time less the first video frame's, in samples."""
    video, audio, meta = _av_clip()
    result = remux_to_mp4(
        gen(interleave(video, audio)), tmp_path / "av.mp4", audio=AudioTrack.from_meta(meta)
    )
    kept = [f for f in audio if f.pts_us >= START_US]
    assert result.audio_dropped_before_video == len(audio) - len(kept) > 0
    assert (result.audio_packets, result.audio_gaps) == (len(kept), ())
    assert (result.audio_first_pts_us, result.audio_last_pts_us) == (
        kept[0].pts_us,
        kept[-1].pts_us,
    )
    assert result.audio_duration_s == pytest.approx(
        (kept[-1].pts_us - kept[0].pts_us) / 1e6 + 1024 / 48_000
    )
    assert result.skipped_other_streams == 0
    check_file(result, video)  # the video is as before
    packets = audio_packets(result.path)
    assert [p[2] for p in packets] == [f.data for f in kept]
    times = [round((f.pts_us - START_US) * 48_000 / 1e6) for f in kept]
    assert [p[0] for p in packets] == times
    assert [p[1] for p in packets] == [b - a for a, b in itertools.pairwise(times)] + [1024]
    probe = ffprobe_audio(result.path)
    assert (probe["codec_name"], probe["profile"], probe["channels"]) == ("aac", "LC", 1)
    assert (probe["sample_rate"], probe["time_base"]) == ("48000", "1/48000")
    assert float(probe["start_time"]) == pytest.approx(times[0] / 48_000, abs=1e-6)


def test_the_decoder_configuration_is_the_one_the_header_gives(tmp_path: Path) -> None:
    """The esds box carries the header's AudioSpecificConfig, not the one an encoder would make
    (FFmpeg's aac encoder writes 118856e5 00, with an SBR sync extension; 1188 says AAC-LC,
    48 kHz, mono, and nothing more, and decodes the same packets)."""
    video, audio, meta = _av_clip(1.0)
    assert meta["config"] == "118856e500"  # what the encoder makes, and the muxer would write
    for config in ("1188", "118856e500"):
        track = AudioTrack.from_meta(meta | {"config": config})
        path = tmp_path / f"{config}.mp4"
        remux_to_mp4(gen(interleave(video, audio)), path, audio=track)
        probe = ffprobe_audio(path)
        assert probe["extradata_size"] == len(config) // 2
        dump = [ln.split(":", 1)[1].split("  ")[0] for ln in probe["extradata"].splitlines() if ln]
        assert "".join("".join(dump).split()) == config  # ffprobe's hex dump of the esds config
        with av.open(str(path)) as container:
            assert container.streams.audio[0].codec_context.extradata == bytes.fromhex(config)
        ffmpeg_decodes_cleanly(path)


def test_a_click_is_heard_when_it_was_recorded(tmp_path: Path) -> None:
    """Decoded from the file, the sound has its click where it was captured, to the sample's
    precision, relative to the pictures."""
    click = START_US + 1_234_567
    video, audio, meta = _av_clip(clicks=(click,))
    remux_to_mp4(
        gen(interleave(video, audio)), tmp_path / "c.mp4", audio=AudioTrack.from_meta(meta)
    )
    [onset] = clicks(tmp_path / "c.mp4")
    assert onset == pytest.approx((click - START_US) / 1e6, abs=1e-4)


def test_audio_out_of_order_or_before_the_video_is_left_out_and_counted(tmp_path: Path) -> None:
    video, audio, meta = _av_clip(1.0)
    kept = [f for f in audio if f.pts_us >= START_US]
    repeat = dataclasses.replace(kept[10], data=b"\x01\x02")  # the same time again
    back = dataclasses.replace(kept[20], pts_us=kept[19].pts_us - 5)
    frames = [*interleave(video, [*audio[:-1]]), repeat, back]
    result = remux_to_mp4(gen(frames), tmp_path / "o.mp4", audio=AudioTrack.from_meta(meta))
    assert result.audio_dropped_out_of_order == 2
    assert result.audio_packets == len(kept) - 1
    assert [p[2] for p in audio_packets(result.path)] == [f.data for f in kept[:-1]]


def test_a_gap_in_the_sound_stays_a_gap_and_is_reported(tmp_path: Path) -> None:
    """Packets lost in the middle: the next packet is at its recorded time, not closed up, the
    packet before lasts until it, and the gap is reported; a jitter of under 1.5 frames is none."""
    video, audio, meta = _av_clip()
    kept = [f for f in audio if f.pts_us >= START_US]
    shifted = [*kept[:30], *(dataclasses.replace(f, pts_us=f.pts_us + 9_000) for f in kept[30:])]
    lost = [*shifted[:60], *shifted[70:]]
    result = remux_to_mp4(
        gen(interleave(video, lost)), tmp_path / "g.mp4", audio=AudioTrack.from_meta(meta)
    )
    assert result.audio_gaps == ((shifted[59].pts_us + 21_333, shifted[70].pts_us),)
    packets = audio_packets(result.path)
    assert packets[60][0] == round((shifted[70].pts_us - START_US) * 0.048)
    assert packets[59][1] == packets[60][0] - packets[59][0] > 10 * 1024
    ffmpeg_decodes_cleanly(result.path)


def test_no_audio_track_without_packets_or_without_a_format(tmp_path: Path) -> None:
    """A format with no packet gives a video-only file (the muxer writes no empty track); audio
    frames with no format are skipped and counted, as other streams are."""
    video, audio, meta = _av_clip(1.0)
    silent = remux_to_mp4(gen(video), tmp_path / "a.mp4", audio=AudioTrack.from_meta(meta))
    unknown = remux_to_mp4(gen(interleave(video, audio)), tmp_path / "b.mp4")
    assert unknown.skipped_other_streams == len(audio)
    for result in (silent, unknown):
        assert (result.audio_packets, result.audio_first_pts_us) == (0, None)
        check_file(result, video)  # ffprobe: one stream, the video
        with av.open(str(result.path)) as container:
            assert not container.streams.audio


def _boxes(path: Path) -> list[str]:
    """The top-level box types of an MP4 file, in order."""
    data, pos, out = path.read_bytes(), 0, []
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        out.append(data[pos + 4 : pos + 8].decode())
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        pos += size
    return out


def test_sound_after_a_silent_pre_roll_is_interleaved_for_progressive_playback(
    tmp_path: Path,
) -> None:
    """The pre-roll without sound (pre_event_audio false), then both: moov first, and in the
    file's byte order the two tracks never drift more than half a second apart once both run,
    so a player reading from the front has each picture's sound at hand."""
    video = make_h264_frames(1200)  # 40 s, from 0
    trigger = 30_000_000 + 7
    audio, meta = click_packets(10.0, start_us=trigger - 100_000, tone_hz=300)
    audio = [f for f in audio if f.pts_us >= trigger]
    result = remux_to_mp4(
        gen(interleave(video, audio)), tmp_path / "p.mp4", audio=AudioTrack.from_meta(meta)
    )
    boxes = _boxes(result.path)
    assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")
    probe = ffprobe_audio(result.path)
    assert float(probe["start_time"]) == pytest.approx(audio[0].pts_us / 1e6, abs=1e-5)
    with av.open(str(result.path)) as container:
        packets = sorted(
            (int(p.pos), p.stream.index, float(p.pts * p.time_base))
            for p in container.demux()
            if p.size and p.pos is not None and p.pts is not None and p.time_base is not None
        )
    assert {i for _, i, _ in packets} == {0, 1}
    latest: dict[int, float] = {}
    worst = 0.0
    for _, index, t in packets:  # in the file's byte order
        latest[index] = t
        if len(latest) == 2:
            worst = max(worst, abs(latest[0] - latest[1]))
    assert worst < 0.5
    ffmpeg_decodes_cleanly(result.path)


def test_drifting_sound_keeps_its_recorded_times_over_two_hours(tmp_path: Path) -> None:
    """A microphone 50 ppm fast, sound starting late in a two-hour file: every packet is at its
    recorded time to the sample (never at the packet count's, which would be 30 ms off after ten
    minutes), and the track's start (an empty edit, in 64-bit boxes past 71 minutes) too."""
    video = [
        dataclasses.replace(f, pts_us=i * 200_000_000) for i, f in enumerate(make_h264_frames(40))
    ]  # 7800 s
    _, audio, meta = _av_clip(1.0)
    silent = audio[-1].data  # a packet of the quiet tone: any number of them decode
    step = 1024 / 48_000 * 1e6 / (1 + 50e-6)  # the microphone's 1024 samples, in frames' time
    first = 7_000_000_000 + 12_345
    sound = [
        Frame(STREAM_AUDIO, first + round(k * step), False, silent) for k in range(28_125)
    ]  # ten minutes
    result = remux_to_mp4(
        gen(interleave(video, sound)), tmp_path / "d.mp4", audio=AudioTrack.from_meta(meta)
    )
    assert result.audio_packets == len(sound) and result.audio_gaps == ()
    times = [round(f.pts_us * 48_000 / 1e6) for f in sound]
    packets = audio_packets(result.path)
    assert [p[0] for p in packets] == times
    assert times[-1] - times[0] - 1024 * (len(sound) - 1) < -1400  # 30 ms less than counted
    probe = ffprobe_audio(result.path)
    assert float(probe["start_time"]) == pytest.approx(first / 1e6, abs=1e-5)
