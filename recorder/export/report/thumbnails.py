"""Thumbnails of an exported MP4, as JPEG ``data:`` URIs for the self-contained report.

Each is the keyframe at or before the time asked for: the decoder is told to skip every other
frame (``skip_frame = NONKEY``) and the demuxer seeks backwards to a keyframe, so a thumbnail
costs one seek and one keyframe decode, whatever the file's length. They are encoded with
FFmpeg's ``mjpeg`` encoder through PyAV, which needs no imaging library of its own.
"""

from __future__ import annotations

import base64
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
from av.video.reformatter import Interpolation, VideoReformatter

__all__ = ["Thumbnail", "thumbnails"]

WIDTH = 320  # pixels; the height keeps the picture's aspect


class Thumbnail(NamedTuple):
    asked: float
    """The file time asked for, in seconds."""
    t: float
    """The time of the keyframe shown."""
    uri: str
    """``data:image/jpeg;base64,...``"""


def thumbnails(path: Path, times: list[float]) -> list[Thumbnail | None]:
    """One thumbnail per time in ``times`` (file seconds), in the order given (ascending is
    fastest); a time past the end shows the last keyframe, and one for which nothing decodes is
    None. Raises ``av.FFmpegError`` (or ``OSError``) when the file cannot be read."""
    out: list[Thumbnail | None] = []
    cache: dict[int, tuple[float, str]] = {}  # keyframe pts -> (time, uri): asked twice, made once
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        ctx.skip_frame = "NONKEY"
        # One thread: no frame-thread latency for a single keyframe, and no thread overhead.
        # No deblocking: its cost is a sixth of the decode, and at a quarter of the size the
        # thumbnail shows no difference.
        ctx.thread_count = 1
        ctx.options = {"skip_loop_filter": "all"}
        base = stream.time_base or Fraction(1, 1_000_000)
        encoder = _encoder(ctx.width, ctx.height)
        scaler = VideoReformatter()  # one scaler for all: a new one per frame costs more
        for asked in times:
            container.seek(max(0, int(asked / base)), stream=stream, backward=True)
            frame = next(iter(container.decode(stream)), None)
            if frame is None or frame.pts is None:
                out.append(None)
                continue
            if frame.pts not in cache:
                small = scaler.reformat(
                    frame,
                    width=encoder.width,
                    height=encoder.height,
                    format="yuvj420p",
                    interpolation=Interpolation.AREA,
                )
                jpeg = b"".join(bytes(p) for p in encoder.encode(small))
                cache[frame.pts] = (
                    float(frame.pts * base),
                    "data:image/jpeg;base64," + base64.b64encode(jpeg).decode(),
                )
            t, uri = cache[frame.pts]
            out.append(Thumbnail(asked, t, uri))
    return out


def _encoder(width: int, height: int) -> av.VideoCodecContext:
    """An intra-only JPEG encoder: every packet it returns is one whole JPEG file."""
    enc = av.CodecContext.create("mjpeg", "w")
    enc.width = WIDTH
    enc.height = max(2, round(height * WIDTH / max(1, width) / 2) * 2)
    enc.pix_fmt = "yuvj420p"
    enc.time_base = Fraction(1, 25)
    enc.bit_rate = 0
    enc.options = {"q:v": "4"}
    return enc
