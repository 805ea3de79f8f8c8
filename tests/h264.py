"""Test helper: real H.264 frames, encoded with PyAV/libx264, that carry a readable counter.

Each picture stamps its frame counter into the top rows of the Y plane as 16 black/white
8x8-pixel blocks (most significant bit first, wrapping onto further block rows if the picture is
narrower than 128 px). The blocks survive lossy coding at any sane quality, so a test can decode
an exported file and check that it got back exactly the frames it put in.

The encoder repeats SPS/PPS in-band on every keyframe and never inserts scene-cut keyframes, so
keyframes fall exactly every ``gop`` frames, starting with frame 0: the shape
``recorder.evidence.media.STREAM_VIDEO`` promises.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Any

import av
import numpy as np

from recorder.evidence.media import STREAM_VIDEO, Frame

__all__ = [
    "COUNTER_BITS",
    "NAL_IDR",
    "NAL_PPS",
    "NAL_SLICE",
    "NAL_SPS",
    "annexb_nal_types",
    "make_h264_frames",
    "read_counter",
]

COUNTER_BITS = 16
BLOCK = 8  # pixels per side of one counter bit
_BLACK, _WHITE = 16, 235  # video-range luma

NAL_SLICE = 1
NAL_IDR = 5
NAL_SPS = 7
NAL_PPS = 8


def _bit_origin(bit: int, width: int) -> tuple[int, int]:
    """Top-left (row, column) of the block that holds ``bit`` (0 = most significant)."""
    per_row = width // BLOCK
    return (bit // per_row) * BLOCK, (bit % per_row) * BLOCK


def _picture(counter: int, width: int, height: int) -> np.ndarray:
    """A yuv420p picture (as one (h*3/2, w) uint8 array) stamped with ``counter``."""
    per_row = width // BLOCK
    if width % 2 or height % 2 or not per_row or -(-COUNTER_BITS // per_row) * BLOCK > height:
        raise ValueError(f"{width}x{height} cannot hold a {COUNTER_BITS}-bit counter")
    # Some moving content below the counter so P-frames carry real residuals.
    yy, xx = np.mgrid[0:height, 0:width]
    y = ((xx * 2 + yy + counter * 3) % 200 + 28).astype(np.uint8)
    for bit in range(COUNTER_BITS):
        r, c = _bit_origin(bit, width)
        on = (counter >> (COUNTER_BITS - 1 - bit)) & 1
        y[r : r + BLOCK, c : c + BLOCK] = _WHITE if on else _BLACK
    chroma = np.full((height // 2, width), 128, dtype=np.uint8)  # U and V planes, stacked
    return np.concatenate([y, chroma])


def read_counter(y_plane: np.ndarray) -> int:
    """Read back the counter from a decoded Y plane (shape (height, width), uint8).

    Decoded planes may carry row padding (``frame.to_ndarray(format="gray")`` has none); only the
    top-left corner is looked at.
    """
    width = y_plane.shape[1]
    value = 0
    for bit in range(COUNTER_BITS):
        r, c = _bit_origin(bit, width)
        # The block's centre is the part least smeared by the deblocking filter.
        centre = y_plane[r + 2 : r + BLOCK - 2, c + 2 : c + BLOCK - 2]
        value = (value << 1) | int(float(centre.mean()) > 128)
    return value


@functools.lru_cache(maxsize=64)
def _encode(
    n: int, width: int, height: int, fps: int, gop: int, start_pts_us: int, counter_start: int
) -> tuple[Frame, ...]:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width = width
    ctx.height = height
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, fps)
    ctx.framerate = Fraction(fps, 1)
    ctx.gop_size = gop
    ctx.options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "x264-params": f"repeat-headers=1:scenecut=0:keyint={gop}:min-keyint={gop}",
    }
    ctx.open()

    frames: list[Frame] = []

    def collect(packets: list[av.Packet[Any]]) -> None:
        for p in packets:
            assert p.pts is not None
            i = p.pts  # time base is 1/fps and the picture pts is its index
            frames.append(
                Frame(
                    STREAM_VIDEO,
                    start_pts_us + round(i * 1e6 / fps),
                    bool(p.is_keyframe),
                    bytes(p),
                )
            )

    for i in range(n):
        picture = av.VideoFrame.from_ndarray(
            _picture((counter_start + i) & 0xFFFF, width, height), format="yuv420p"
        )
        picture.pts = i
        collect(ctx.encode(picture))
    collect(ctx.encode(None))

    assert len(frames) == n, f"encoder returned {len(frames)} packets for {n} pictures"
    assert [f.pts_us for f in frames] == sorted(f.pts_us for f in frames), "encoder reordered"
    for i, f in enumerate(frames):
        assert f.keyframe == (i % gop == 0), f"frame {i}: keyframe={f.keyframe}, gop={gop}"
    return tuple(frames)


def make_h264_frames(
    n: int,
    *,
    width: int = 160,
    height: int = 120,
    fps: int = 30,
    gop: int = 30,
    start_pts_us: int = 0,
    counter_start: int = 0,
) -> list[Frame]:
    """Encode ``n`` real H.264 frames (STREAM_VIDEO, Annex-B, SPS/PPS on every keyframe).

    Frame ``i`` shows counter ``counter_start + i`` (mod 2**16), has
    ``pts_us = start_pts_us + round(i * 1e6 / fps)`` and is a keyframe iff ``i % gop == 0``.
    Results are cached per argument tuple; the returned list is a fresh copy.
    """
    return list(_encode(n, width, height, fps, gop, start_pts_us, counter_start))


def annexb_nal_types(data: bytes) -> list[int]:
    """The nal_unit_type of each NAL unit in an Annex-B byte string, in order."""
    types: list[int] = []
    pos = data.find(b"\x00\x00\x01")
    while pos != -1:
        header = pos + 3
        if header < len(data):
            types.append(data[header] & 0x1F)
        pos = data.find(b"\x00\x00\x01", header)
    return types
