"""Where a recording was: its GNSS fixes (sensor stream, spec section 9.1) as report.json's
``fixes`` and ``fix_gaps``, a GPX 1.1 track next to the MP4, and the start position as the MP4's
ISO 6709 ``location`` tag (which ffprobe and exiftool read).

The fixes are read from the very frames that make the MP4 (:class:`FixCollector` sees them go by),
so nothing is decrypted twice. The ``location`` tag must be known before the MP4's header is
written: :func:`first_fix_ahead` reads ahead up to LOOKAHEAD_BYTES of frames for the first fix.
A recording whose first fix comes later (it began in a tunnel) gets the tag by a stream copy of
the finished MP4 (:func:`tag_location`), which costs one more write of that file only.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import av

from recorder.evidence.media import STREAM_SENSOR, STREAM_VIDEO, Frame
from recorder.evidence.sensor import SensorError, read_fix

__all__ = [
    "GAP_S",
    "LOOKAHEAD_BYTES",
    "FixCollector",
    "first_fix_ahead",
    "fix_gaps",
    "gpx",
    "iso6709",
    "tag_location",
]

GAP_S = 2.5  # fixes are sampled once a second: more than this between two is a lost fix
LOOKAHEAD_BYTES = 32 * 1024 * 1024


class FixCollector:
    """Passes frames on unchanged and keeps the fixes among them, in report.json's shape."""

    def __init__(self, frames: Iterable[Frame]) -> None:
        self._frames = frames
        self.fixes: list[dict[str, Any]] = []
        self.bad: list[str] = []
        """Why sensor frames that claimed to be fixes were not taken (one line each)."""
        self.first_video_us: int | None = None
        self.last_video_us: int | None = None
        self._offsets: list[float] = []  # receiver UTC minus device monotonic, per fix

    def __iter__(self) -> Iterator[Frame]:
        for frame in self._frames:
            if frame.stream == STREAM_VIDEO:
                if self.first_video_us is None:
                    self.first_video_us = frame.pts_us
                self.last_video_us = frame.pts_us
            elif frame.stream == STREAM_SENSOR:
                self._take(frame)
            yield frame

    def _take(self, frame: Frame) -> None:
        try:
            fix = read_fix(frame.data)
        except SensorError as e:
            self.bad.append(f"sensor frame at pts {frame.pts_us} us: {e}")
            return
        if fix is None:
            return
        if self.fixes and fix["epoch"] <= _epoch(self.fixes[-1]["t"]):
            self.bad.append(f"fix at pts {frame.pts_us} us is not newer than the one before")
            return
        self._offsets.append(fix["epoch"] - frame.pts_us / 1e6)
        self.fixes.append(
            {
                "t": fix["t"],
                "lat": fix["lat"],
                "lon": fix["lon"],
                "alt_m": fix["alt_m"],
                "accuracy_m": fix["eph_m"],
                "speed_mps": fix["speed_mps"],
                "mode": fix["mode"],
            }
        )

    def video_span_utc(self) -> tuple[float, float] | None:
        """The recording's first and last video frame in receiver UTC, from the fixes' own
        mapping of device time to GNSS time (the median offset); None without fixes."""
        if not self._offsets or self.first_video_us is None or self.last_video_us is None:
            return None
        offset = sorted(self._offsets)[len(self._offsets) // 2]
        return self.first_video_us / 1e6 + offset, self.last_video_us / 1e6 + offset


def _epoch(t: str) -> float:
    return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def fix_gaps(
    fixes: list[dict[str, Any]], span: tuple[float, float] | None = None
) -> list[dict[str, str]]:
    """Spans with no fix: between two fixes more than GAP_S apart, and, given the recording's
    ``span`` in UTC, before its first fix and after its last."""
    times = [_epoch(f["t"]) for f in fixes]
    gaps = [(a, b) for a, b in itertools.pairwise(times) if b - a > GAP_S]
    if span is not None and times:
        if times[0] - span[0] > GAP_S:
            gaps.insert(0, (span[0], times[0]))
        if span[1] - times[-1] > GAP_S:
            gaps.append((times[-1], span[1]))
    return [{"from": _utc(a), "to": _utc(b)} for a, b in gaps]


def gpx(name: str, fixes: list[dict[str, Any]], gaps: list[dict[str, str]]) -> str:
    """A GPX 1.1 track: one segment per stretch with a fix (a lost fix starts a new one)."""
    breaks = {g["to"] for g in gaps}
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="bodycam export" xmlns="http://www.topografix.com/GPX/1/1">',
        f"  <trk><name>{escape(name)}</name>",
        "    <trkseg>",
    ]
    for i, f in enumerate(fixes):
        if i and f["t"] in breaks:
            lines += ["    </trkseg>", "    <trkseg>"]
        lat, lon = quoteattr(f"{f['lat']:.7f}"), quoteattr(f"{f['lon']:.7f}")
        point = f"      <trkpt lat={lat} lon={lon}>"
        if f["alt_m"] is not None:
            point += f"<ele>{f['alt_m']:.2f}</ele>"
        point += f"<time>{escape(f['t'])}</time><fix>{f['mode']}</fix></trkpt>"
        lines.append(point)
    lines += ["    </trkseg>", "  </trk>", "</gpx>", ""]
    return "\n".join(lines)


def iso6709(fix: dict[str, Any]) -> str:
    """The fix as an ISO 6709 point, as MP4's ``location`` (©xyz) holds it: +DD.DDDD+DDD.DDDD
    [+AAA.AAA]/."""
    text = f"{fix['lat']:+08.4f}{fix['lon']:+09.4f}"
    if fix["alt_m"] is not None:
        text += f"{fix['alt_m']:+08.3f}"
    return text + "/"


def first_fix_ahead(
    frames: Iterator[Frame], limit: int = LOOKAHEAD_BYTES
) -> tuple[dict[str, Any] | None, Iterator[Frame]]:
    """The first fix among the next frames (reading at most ``limit`` bytes ahead), and an
    iterator that yields every frame, the ones read ahead first."""
    ahead: list[Frame] = []
    size = 0
    found: dict[str, Any] | None = None
    for frame in frames:
        ahead.append(frame)
        size += frame.size
        if frame.stream == STREAM_SENSOR:
            with contextlib.suppress(SensorError):
                found = read_fix(frame.data)
            if found is not None:
                break
        if size >= limit:
            break
    return found, itertools.chain(ahead, frames)


def tag_location(path: Path, location: str) -> None:
    """Give a finished MP4 its ``location`` tag by a stream copy (no decoding)."""
    tmp = path.with_name(f".{path.name}.location.tmp")
    try:
        with (
            av.open(str(path)) as src,
            av.open(
                str(tmp), "w", format="mp4", container_options={"movflags": "+faststart"}
            ) as dst,
        ):
            dst.metadata.update({**src.metadata, "location": location})
            video = src.streams.video[0]
            out = dst.add_stream_from_template(video)
            for packet in src.demux(video):
                if packet.dts is None:
                    continue
                packet.stream = out
                dst.mux(packet)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
