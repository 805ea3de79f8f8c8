"""Test helper: a clip whose sync is known, in the simulator's clap convention.

- :func:`flash_frames`: real H.264 frames (the simulator's libx264 session, SPS/PPS on every
  keyframe) of a dark, moving picture; on the frames asked for, a white square fills the
  top-right corner, its side 1/8 of the width (what ``recorder.export.avsync`` looks for).
- :func:`click_packets`: real AAC-LC packets as the camera makes them (:class:`hal.aac.AacCapture`,
  fed blocks of 10 ms stamped with the time each was read), with a click (5 ms of 1 kHz at 0.8)
  starting at each time asked for, and the ``audio`` meta a header would carry (spec 9.2).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import numpy as np

from hal.aac import AacCapture
from recorder.evidence.media import STREAM_AUDIO, STREAM_VIDEO, Frame
from sim.encoder import H264Encoder

__all__ = ["RATE", "click_packets", "flash_frames", "interleave"]

RATE = 48_000
_BLOCK = 480  # samples read at a time: 10 ms


@functools.lru_cache(maxsize=16)
def _flash_frames(
    n: int, fps: int, start_pts_us: int, flashes: frozenset[int], width: int, height: int, gop: int
) -> tuple[Frame, ...]:
    encoder = H264Encoder(width=width, height=height, fps=fps, bitrate=400_000, gop=gop)
    side = width // 8
    yy, xx = np.mgrid[0:height, 0:width]
    out: list[Frame] = []
    for i in range(n):
        y = ((xx + yy * 2 + i * 5) % 64 + 40).astype(np.uint8)  # dark, moving: 40..103
        if i in flashes:
            y[:side, width - side :] = 235
        chroma = np.full((height // 2, width), 128, np.uint8)
        for index, data, keyframe in encoder.encode(np.concatenate([y, chroma])):
            out.append(Frame(STREAM_VIDEO, start_pts_us + round(index * 1e6 / fps), keyframe, data))
    assert [f.pts_us for f in out] == sorted(f.pts_us for f in out)
    return tuple(out)


def flash_frames(
    n: int,
    *,
    fps: int = 30,
    start_pts_us: int = 0,
    flashes: Iterable[int] = (),
    width: int = 320,
    height: int = 240,
    gop: int = 30,
) -> list[Frame]:
    """``n`` frames, frame ``i`` at ``start_pts_us + round(i * 1e6 / fps)``, a keyframe every
    ``gop``; the frames whose indexes are in ``flashes`` carry the white square."""
    return list(_flash_frames(n, fps, start_pts_us, frozenset(flashes), width, height, gop))


def click_packets(
    seconds: float,
    *,
    start_us: int,
    clicks_us: Iterable[int] = (),
    bitrate: int = 64_000,
    tone_hz: float = 0.0,
) -> tuple[list[Frame], dict[str, Any]]:
    """The AAC frames (``STREAM_AUDIO``) of ``seconds`` of sound whose first sample was
    captured at ``start_us``, with a click starting at each of ``clicks_us``, and the header's
    ``audio`` object for them. ``tone_hz`` adds a quiet tone under it (so no packet is
    silence only)."""
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    pcm = (0.05 * np.sin(2 * np.pi * tone_hz * t) if tone_hz else np.zeros(n)).astype(np.float32)
    width = round(0.005 * RATE)
    burst = 0.8 * np.sin(2 * np.pi * 1000 * np.arange(width) / RATE)
    for c in clicks_us:
        at = round((c - start_us) * RATE / 1e6)
        if at >= 0 and at + width <= n:
            pcm[at : at + width] = burst
    capture = AacCapture(bitrate=bitrate)
    packets = []
    for i in range(0, n - _BLOCK + 1, _BLOCK):  # read when the block's last sample is in
        packets += capture.feed(pcm[i : i + _BLOCK], start_us + (i + _BLOCK) * 1e6 / RATE)
    packets += capture.flush()
    timing = capture.timing
    assert timing is not None
    meta = {
        "codec": "aac-lc",
        "rate": RATE,
        "channels": 1,
        "bitrate": bitrate,
        "config": capture.format.config.hex(),
        "anchor_us": round(timing.anchor_us, 1),
        "drift_ppm": round(timing.drift_ppm, 3),
        "pre_event_audio": False,
    }
    return [Frame(STREAM_AUDIO, p.timestamp_us, False, p.data) for p in packets], meta


def interleave(*streams: Iterable[Frame], audio_lag_us: int = 43_000) -> list[Frame]:
    """The frames in the order the camera writes them: by time, each audio frame after the
    video frames of the next ``audio_lag_us`` (spec 9.2: the encoder's delay)."""
    keyed = [
        (f.pts_us + (audio_lag_us if f.stream == STREAM_AUDIO else 0), f.stream != STREAM_VIDEO, f)
        for s in streams
        for f in s
    ]
    return [f for *_, f in sorted(keyed, key=lambda k: (k[0], k[1]))]
