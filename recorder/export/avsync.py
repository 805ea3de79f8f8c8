"""Measure audio/video sync from an exported MP4 alone: flashes in the picture, clicks in the sound.

The convention is the simulator's clap (``sim``): on the video frame whose time a clap happens,
a white square fills the top-right corner of the picture, its side 1/8 of the picture's width;
and the sound has a click starting at exactly that frame's time, a 5 ms burst of 1 kHz at
amplitude 0.8. So in a file whose sound is in sync, each click starts at its flash.

- A **flash** is a frame whose corner square (its inner half, away from the codec's ringing at
  the edges) is white and even (mean luma >= 215, standard deviation <= 20), where the frame
  before it was not: its time is the frame's presentation time.
- A **click** is where a 5 ms window of the sound holds a 1 kHz tone of amplitude >= 0.4 that
  is at least 80 % of the window's energy (so speech or noise as loud is not taken for one). The
  tone's amplitude over a window sliding by one sample is largest when the window covers the
  burst exactly, so the click's onset is the start of that window: to the sample, whatever the
  phase, and the AAC coder's smearing of the edges moves it little.
- Each flash is paired with the nearest click not yet paired within ``max_offset_s``; the
  offset is the click's time minus the flash's (positive: the sound is late).

Both tracks are decoded by PyAV with their presentation times as the file gives them (edit
lists applied), one frame at a time: nothing is held but a few seconds of sound.

From a shell: ``python -m recorder.export.avsync FILE.mp4 [--json]`` prints each pair and the
worst offset (exit 0), or why the file cannot be measured (exit 2).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

__all__ = ["AvSyncError", "Pair", "SyncReport", "clicks", "flashes", "measure"]

CLICK_HZ = 1000.0
CLICK_S = 0.005
_MIN_TONE = 0.4
"""The smallest 1 kHz amplitude taken for a click (the simulator's is 0.8)."""
_PURITY = 0.8
_WHITE = 215.0
_EVEN = 20.0
_MAX_SPAN = 3
"""A click's loud windows span about one window's length; a tone three times as long is none."""
_BLOCK_S = 2.0
"""Sound is analysed in blocks of this length."""


class AvSyncError(ValueError):
    """The file cannot be measured: not an MP4 PyAV reads, or no video or no audio track."""


@dataclass(frozen=True)
class Pair:
    flash_s: float
    click_s: float

    @property
    def offset_ms(self) -> float:
        """Audio minus video, milliseconds: positive when the sound comes late."""
        return (self.click_s - self.flash_s) * 1000.0


@dataclass(frozen=True)
class SyncReport:
    flashes: list[float]
    clicks: list[float]
    pairs: list[Pair]
    unpaired_flashes: list[float] = field(default_factory=list)
    unpaired_clicks: list[float] = field(default_factory=list)

    @property
    def offsets_ms(self) -> list[float]:
        return [p.offset_ms for p in self.pairs]

    @property
    def worst_ms(self) -> float | None:
        """The largest offset either way, signed; None with no pair."""
        return max(self.offsets_ms, key=abs, default=None)

    @property
    def drift_ms_per_min(self) -> float | None:
        """The offsets' trend over the file (least squares), ms per minute; None with fewer
        than two pairs at different times."""
        if len({p.flash_s for p in self.pairs}) < 2:
            return None
        fit = statistics.linear_regression([p.flash_s for p in self.pairs], self.offsets_ms)
        return fit.slope * 60.0


def measure(path: Path, *, max_offset_s: float = 0.5) -> SyncReport:
    """Find the flashes and clicks of the MP4 at ``path`` and pair them."""
    seen_flashes, seen_clicks = flashes(path), clicks(path)
    free = list(seen_clicks)
    pairs, lonely = [], []
    for f in seen_flashes:
        near = min(free, key=lambda c: abs(c - f), default=None)
        if near is not None and abs(near - f) <= max_offset_s:
            free.remove(near)
            pairs.append(Pair(f, near))
        else:
            lonely.append(f)
    return SyncReport(seen_flashes, seen_clicks, pairs, lonely, free)


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError) as e:
        raise AvSyncError(f"{path}: cannot read it as a media file ({e})") from e


def flashes(path: Path) -> list[float]:
    """The times (seconds of the file) of the frames where a flash begins."""
    out: list[float] = []
    with _open(path) as container:
        if not container.streams.video:
            raise AvSyncError(f"{path} has no video track")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        was_lit = False
        try:
            for picture in container.decode(stream):
                lit = _lit(picture)
                if lit and not was_lit and picture.time is not None:
                    out.append(float(picture.time))
                was_lit = lit
        except av.FFmpegError as e:
            raise AvSyncError(f"{path}: the video does not decode ({e})") from e
    return out


def _lit(picture: av.VideoFrame) -> bool:
    """Whether the corner square of ``picture`` is white and even."""
    w, h = picture.width, picture.height
    side = w // 8
    if side < 4 or side > h:
        return False
    plane = picture.planes[0] if picture.format.name.startswith("yuv") else None
    if plane is None:
        luma = picture.to_ndarray(format="gray")
    else:
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
        luma = rows[:h, :w]
    inner = luma[side // 4 : side - side // 4, w - side + side // 4 : w - side // 4]
    return bool(inner.mean() >= _WHITE and inner.std() <= _EVEN)


def clicks(path: Path) -> list[float]:
    """The onset times (seconds of the file) of the clicks in the first audio track."""
    with _open(path) as container:
        if not container.streams.audio:
            raise AvSyncError(f"{path} has no audio track")
        try:
            return list(_click_times(container.decode(container.streams.audio[0])))
        except av.FFmpegError as e:
            raise AvSyncError(f"{path}: the audio does not decode ({e})") from e


def _mono(frame: av.AudioFrame) -> np.ndarray:
    x: np.ndarray = frame.to_ndarray().astype(np.float32)
    if frame.format.is_planar:  # (channels, samples)
        x = x.mean(axis=0) if x.shape[0] > 1 else x.reshape(-1)
    else:  # packed: samples interleaved
        x = x.reshape(frame.samples, -1).mean(axis=1)
    return x


def _click_times(decoded: Iterator[av.AudioFrame]) -> Iterator[float]:
    """The clicks' onsets, searched in blocks of about ``_BLOCK_S`` of contiguous sound.

    A break in the timestamps (a gap in the track) ends a block; otherwise the next block
    starts where :func:`_scan` says the search must go on, so a click the block's end cut is
    searched again whole."""
    held: list[np.ndarray] = []
    t0, rate, n = 0.0, 0, 0
    for frame in decoded:
        if frame.time is None or not frame.samples:
            continue
        t = float(frame.time)
        if held and (frame.sample_rate != rate or abs(t - (t0 + n / rate)) > 1.5 / rate):
            found, _ = _scan(np.concatenate(held), rate, final=True)
            yield from (t0 + i / rate for i in found)
            held, n = [], 0
        if not held:
            t0, rate = t, frame.sample_rate
        x = _mono(frame)
        held.append(x)
        n += x.size
        if n >= _BLOCK_S * rate:
            block = np.concatenate(held)
            found, keep_from = _scan(block, rate, final=False)
            yield from (t0 + i / rate for i in found)
            held, n = [block[keep_from:]], block.size - keep_from
            t0 += keep_from / rate
    if held:
        found, _ = _scan(np.concatenate(held), rate, final=True)
        yield from (t0 + i / rate for i in found)


def _scan(x: np.ndarray, rate: int, final: bool) -> tuple[list[int], int]:
    """The indexes in ``x`` where a click's window starts, and where the search must go on in
    the next block: at the first window not searched, or at a loud stretch the block's end
    cut (at most a click's span of it, so a long tone is still too long to be one there)."""
    width = round(CLICK_S * rate)
    if x.size < width:
        return [], 0
    k = np.arange(x.size)
    z = x.astype(np.float64) * np.exp(-2j * np.pi * CLICK_HZ * k / rate)
    zsum = np.concatenate(([0], np.cumsum(z)))
    esum = np.concatenate(([0.0], np.cumsum(x.astype(np.float64) ** 2)))
    amp = np.abs(zsum[width:] - zsum[:-width]) * 2 / width  # the tone's amplitude per window
    energy = (esum[width:] - esum[:-width]) / width
    loud = np.concatenate(([0], (amp >= _MIN_TONE).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(loud))
    found: list[int] = []
    keep_from = amp.size
    for lo, hi in zip(edges[::2], edges[1::2], strict=True):
        if hi == amp.size and not final:
            keep_from = max(int(lo), amp.size - (_MAX_SPAN + 1) * width)
            break
        if hi - lo > _MAX_SPAN * width:
            continue  # a tone that lasts, not a click
        n0 = int(lo + np.argmax(amp[lo:hi]))
        if amp[n0] ** 2 / 2 >= _PURITY * energy[n0]:
            found.append(n0)
    return found, keep_from


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recorder.export.avsync",
        description="A/V offsets of an MP4, from its flashes and clicks (the simulator's clap).",
    )
    parser.add_argument("mp4", type=Path)
    parser.add_argument("--max-offset-s", type=float, default=0.5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        report = measure(args.mp4, max_offset_s=args.max_offset_s)
    except AvSyncError as e:
        print(f"avsync: {e}", file=sys.stderr)
        return 2
    if args.json:
        doc = {
            "pairs": [
                {"flash_s": p.flash_s, "click_s": p.click_s, "offset_ms": round(p.offset_ms, 3)}
                for p in report.pairs
            ],
            "worst_ms": report.worst_ms,
            "drift_ms_per_min": report.drift_ms_per_min,
            "unpaired_flashes": report.unpaired_flashes,
            "unpaired_clicks": report.unpaired_clicks,
        }
        print(json.dumps(doc, indent=2))
        return 0
    for p in report.pairs:
        print(
            f"flash {p.flash_s:10.3f} s  click {p.click_s:10.4f} s  offset {p.offset_ms:+8.2f} ms"
        )
    for f in report.unpaired_flashes:
        print(f"flash {f:10.3f} s  no click within {args.max_offset_s} s")
    for c in report.unpaired_clicks:
        print(f"click {c:10.4f} s  no flash within {args.max_offset_s} s")
    worst = "-" if report.worst_ms is None else f"{report.worst_ms:+.2f} ms"
    drift = report.drift_ms_per_min
    trend = "" if drift is None else f", trend {drift:+.3f} ms/min"
    print(f"{len(report.pairs)} pairs, worst offset {worst}{trend}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
