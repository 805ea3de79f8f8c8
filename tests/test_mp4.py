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

from recorder.evidence.media import STREAM_SENSOR, Frame
from recorder.export.mp4 import (
    DEFAULT_FRAME_DURATION_US,
    Mp4Result,
    RemuxError,
    remux_to_mp4,
)
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
