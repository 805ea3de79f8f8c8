"""The sync measurement reads only an MP4 and finds the offsets that were put in it.

It is proven on files made two ways with exactly known offsets: by FFmpeg from its own test
sources (no code of ours), and by the export's remux from AAC packets made as the camera makes
them. Its click finder is checked to the sample on sound with no codec in the way.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recorder.export.aac import AudioTrack
from recorder.export.avsync import AvSyncError, _click_times, clicks, flashes, main, measure
from recorder.export.mp4 import remux_to_mp4
from tests.avclip import RATE, click_packets, flash_frames, interleave
from tests.profiles import examples
from tests.test_mp4 import _tool

OFFSETS_MS = (0.0, 15.0, -30.0)


def _ffmpeg_clip(path: Path, flashes_at: list[int], clicks_s: list[float]) -> None:
    """A 4 s clip made by FFmpeg alone: 30 fps, a white corner square on frames
    ``flashes_at``, a 5 ms 1 kHz burst at 0.8 from each of ``clicks_s``; libx264 and aac."""
    enable = "+".join(f"eq(n\\,{n})" for n in flashes_at)
    burst = "+".join(
        f"0.8*sin(2*PI*1000*(t-{c}))*gte(t\\,{c})*lt(t\\,{c + 0.005})" for c in clicks_s
    )
    subprocess.run(
        [
            _tool("ffmpeg"),
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=0x303030:s=320x240:r=30:d=4,format=yuv420p,"
            f"drawbox=x=280:y=0:w=40:h=40:color=white:t=fill:enable='{enable}'",
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc={burst}:s={RATE}:d=4",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            str(path),
        ],
        check=True,
        timeout=60,
    )


def test_measures_the_offsets_of_a_file_ffmpeg_made(tmp_path: Path) -> None:
    """FFmpeg's own muxer, edit lists and encoder priming: nothing of ours made this file."""
    path = tmp_path / "ffmpeg.mp4"
    frames = [30, 60, 90]
    _ffmpeg_clip(
        path, frames, [n / 30 + ms / 1000 for n, ms in zip(frames, OFFSETS_MS, strict=True)]
    )
    report = measure(path)
    assert report.flashes == pytest.approx([1.0, 2.0, 3.0], abs=1e-9)
    assert report.offsets_ms == pytest.approx(list(OFFSETS_MS), abs=0.5)
    assert (report.unpaired_flashes, report.unpaired_clicks) == ([], [])
    assert report.worst_ms == pytest.approx(-30.0, abs=0.5)


def _remuxed_clip(path: Path, offsets_ms: tuple[float, ...], start: int = 7_000_000) -> list[int]:
    """A clip through the export's remux: 6 s of video from ``start``, a flash at 1, 2, 3 ... s,
    each click ``offsets_ms`` after its flash; the sound begins 0.4 s before the video."""
    idx = [30 * (i + 1) for i in range(len(offsets_ms))]
    video = flash_frames(180, start_pts_us=start, flashes=idx)
    at = [video[i].pts_us + round(ms * 1000) for i, ms in zip(idx, offsets_ms, strict=True)]
    audio, meta = click_packets(6.6, start_us=start - 400_000, clicks_us=at, tone_hz=200)
    remux_to_mp4(iter(interleave(video, audio)), path, audio=AudioTrack.from_meta(meta))
    return at


def test_measures_the_offsets_the_export_keeps(tmp_path: Path) -> None:
    """Packets made as the camera makes them, stamped at their first sample, remuxed: the
    recorded timing survives to well under a millisecond, and the tool reads it back."""
    path = tmp_path / "remuxed.mp4"
    _remuxed_clip(path, (*OFFSETS_MS, 7.5, -12.25))
    report = measure(path)
    assert report.flashes == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0], abs=1e-6)
    assert report.offsets_ms == pytest.approx([*OFFSETS_MS, 7.5, -12.25], abs=0.25)
    assert report.drift_ms_per_min is not None


def test_unpaired_flashes_and_clicks_are_reported(tmp_path: Path) -> None:
    """A flash with no click within the window and a click with no flash are listed apart."""
    path = tmp_path / "unpaired.mp4"
    _ffmpeg_clip(path, [30, 90], [1.0, 2.5])
    report = measure(path, max_offset_s=0.3)
    assert [round(p.flash_s, 3) for p in report.pairs] == [1.0]
    assert report.unpaired_flashes == pytest.approx([3.0])
    assert report.unpaired_clicks == pytest.approx([2.5], abs=0.001)


def test_a_file_without_sound_or_not_media_is_a_clear_error(tmp_path: Path) -> None:
    silent = tmp_path / "silent.mp4"
    remux_to_mp4(iter(flash_frames(30, flashes=[10])), silent)
    assert flashes(silent) == pytest.approx([10 / 30], abs=1e-6)
    with pytest.raises(AvSyncError, match="has no audio track"):
        measure(silent)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x20ftypisom" + bytes(64))
    with pytest.raises(AvSyncError, match="cannot read it as a media file"):
        clicks(junk)


# --- the click finder, to the sample, on sound with no codec ----------------------------------


def _frames(x: np.ndarray, start: int, size: int = 1024) -> Iterator[av.AudioFrame]:
    """``x`` as decoded frames of ``size`` samples, the first at sample ``start``."""
    for i in range(0, len(x), size):
        frame = av.AudioFrame.from_ndarray(
            x[i : i + size].reshape(1, -1).astype(np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = RATE
        frame.pts = start + i
        frame.time_base = Fraction(1, RATE)
        yield frame


def _burst() -> np.ndarray:
    return 0.8 * np.sin(2 * np.pi * 1000 * np.arange(240) / RATE)


@settings(max_examples=examples(40), deadline=None)
@given(
    starts=st.lists(st.integers(0, 5 * RATE - 240), max_size=8),
    noise=st.floats(0.0, 0.3),
    tone_s=st.floats(0.02, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
@example(starts=[2 * RATE - 120, 2 * RATE - 240, 4 * RATE - 7], noise=0.0, tone_s=0.02, seed=0)
@example(starts=[0], noise=0.25, tone_s=1.0, seed=0)
@example(starts=[95_956], noise=0.0, tone_s=0.5, seed=0)  # cut by the first block's end
@example(starts=[95_900], noise=0.1, tone_s=0.5, seed=1)
def test_finds_every_click_to_the_sample_and_nothing_else(
    starts: list[int], noise: float, tone_s: float, seed: int
) -> None:
    """Clicks anywhere (across the analysis blocks' ends too), among noise as loud as 0.3 and a
    1 kHz tone that lasts (not a click): each onset found, to the sample in silence and within
    0.1 ms in the noise (which moves the tone's peak a few samples), and nothing else found."""
    kept: list[int] = []
    for s in sorted(starts):  # at least 50 ms apart, clear of the tone at 5.5 s
        if not kept or s - kept[-1] >= RATE // 20:
            kept.append(s)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-noise, noise, 6 * RATE + int(tone_s * RATE))
    for s in kept:
        x[s : s + 240] = _burst()
    n = int(tone_s * RATE)
    x[int(5.5 * RATE) : int(5.5 * RATE) + n] = 0.8 * np.sin(2 * np.pi * 1000 * np.arange(n) / RATE)
    found = list(_click_times(_frames(x, 96_000)))
    got = [round(t * RATE) - 96_000 for t in found]
    assert len(got) == len(kept)
    for g, k in zip(got, kept, strict=True):
        assert abs(g - k) <= (0 if noise == 0 else RATE // 10_000), (got, kept)


def test_a_gap_in_the_track_starts_the_search_anew() -> None:
    """Frames after a break in the timestamps are placed by their own time."""
    x = np.zeros(RATE)
    x[1000:1240] = _burst()
    before = list(_frames(x, 0))
    after = list(_frames(x, 3 * RATE))  # a 2 s gap
    found = list(_click_times(iter(before + after)))
    assert [round(t * RATE) for t in found] == [1000, 3 * RATE + 1000]


def test_the_command_line_prints_the_offsets_or_why_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "remuxed.mp4"
    _remuxed_clip(path, (15.0,))
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "offset   +15.0" in out and "1 pairs, worst offset +15.0" in out
    assert main([str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pairs"][0]["offset_ms"] == pytest.approx(
        15, abs=0.25
    )
    assert main([str(tmp_path / "nowhere.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("avsync: ") and "cannot read it as a media file" in err
    assert "Traceback" not in err
