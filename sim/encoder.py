"""One H.264 encoding session (PyAV's libx264): I420 arrays in, Annex-B access units out.

Settings make the stream the camera contract asks for: an IDR every ``gop`` frames exactly
(scene-cut detection off), SPS/PPS repeated before every IDR, no B-frames and no lookahead
("zerolatency"), so each frame in gives one access unit out at once.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

__all__ = ["H264Encoder"]


class H264Encoder:
    """A fresh libx264 encoder; its first picture is an IDR."""

    def __init__(self, *, width: int, height: int, fps: int, bitrate: int, gop: int) -> None:
        cc = av.CodecContext.create("libx264", "w")
        cc.width, cc.height, cc.pix_fmt = width, height, "yuv420p"
        cc.framerate = Fraction(fps)
        cc.time_base = Fraction(1, fps)
        cc.bit_rate = bitrate
        cc.gop_size = gop
        cc.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "x264-params": f"repeat-headers=1:scenecut=0:keyint={gop}:min-keyint={gop}",
        }
        cc.open()
        self._cc = cc
        self._index = 0

    def encode(self, i420: np.ndarray) -> list[tuple[int, bytes, bool]]:
        """Encode one frame; returns ``(frame index, access unit, keyframe)`` for each output."""
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        frame.pts = self._index
        self._index += 1
        return [
            (int(p.pts if p.pts is not None else -1), bytes(p), bool(p.is_keyframe))
            for p in self._cc.encode(frame)
        ]

    def close(self) -> None:
        """Drop the session (zerolatency holds no delayed frames to flush)."""
        self._cc = None  # type: ignore[assignment]
