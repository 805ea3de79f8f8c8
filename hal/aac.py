"""AacCapture: blocks of captured samples in, AAC-LC packets stamped on the frames' clock out.

Both microphone backends feed it what they read (the samples, when they were read on the
monotonic clock, and how many the device still held), and deliver what it returns, so the timing
is one mechanism, tested once:

- :class:`hal.sampleclock.SampleClock` turns each block's read into the time of its first
  sample, by counting samples and fitting the microphone's true rate (see there).
- Samples are gathered into the encoder's frames of 1024, each stamped at its first sample on
  that fit; FFmpeg's ``aac`` encoder (through PyAV, in the wheel) encodes them. A packet's pts
  (in samples, as FFmpeg gives it) is the first sample it decodes to, so its timestamp is that
  sample's. The encoder's first packet decodes to the 1024 samples of priming before sample 0:
  it is stamped 1024 samples before the first, and kept, as the next packet needs it to decode.
- Muted blocks are encoded as zeros: digital silence, with the packets going on.

After samples are lost (an overrun), :meth:`restart` drains the encoder and begins a new stream
with a new fit: the timestamps then show the gap as it was, and stay strictly increasing.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction

import av
import numpy as np

from hal.microphone import AudioFormat, AudioPacket
from hal.sampleclock import SampleClock, Timing

__all__ = ["FRAME_SAMPLES", "RATE", "AacCapture"]

RATE = 48_000
FRAME_SAMPLES = 1024
"""Samples per AAC-LC frame."""


def _encoder(rate: int, bitrate: int) -> av.AudioCodecContext:
    cc = av.CodecContext.create("aac", "w")
    assert isinstance(cc, av.AudioCodecContext)
    cc.sample_rate = rate
    cc.layout = "mono"
    cc.format = "fltp"
    cc.bit_rate = bitrate
    cc.time_base = Fraction(1, rate)
    cc.open()
    return cc


class AacCapture:
    """One microphone's encoding pipeline; not thread-safe (the capture thread owns it)."""

    def __init__(self, *, rate: int = RATE, bitrate: int = 64_000, window_s: float = 30.0) -> None:
        self.rate = rate
        self.bitrate = bitrate
        self._window_s = window_s
        self._last_ts = -(2**62)
        self._begin()
        self.format = AudioFormat("aac-lc", rate, 1, bitrate, bytes(self._cc.extradata or b""))

    def _begin(self) -> None:
        self._cc = _encoder(self.rate, self.bitrate)
        self._clock = SampleClock(self.rate, self._window_s)
        self._pending = np.empty(0, np.float32)
        self._pending_first = 0
        """The sample count of ``_pending[0]``."""
        self._stamps: deque[tuple[int, float]] = deque()
        """(frame's first sample, its timestamp) of the frames given to the encoder."""
        self._drained = False

    @property
    def timing(self) -> Timing | None:
        return self._clock.timing if self._clock.samples else None

    def feed(
        self, pcm: np.ndarray, now_us: float, delay: int = 0, muted: bool = False
    ) -> list[AudioPacket]:
        """Take one block read at ``now_us`` with ``delay`` samples still in the device;
        return the packets that are ready. ``pcm`` is mono float32 in -1..1."""
        n = len(pcm)
        if n == 0:
            return []
        if self._drained:
            raise ValueError("the capture was flushed: restart() begins a new stream")
        first = self._clock.samples
        ts = self._clock.observe(n, now_us, delay)
        block = np.zeros(n, np.float32) if muted else np.asarray(pcm, np.float32).reshape(n)
        self._pending = np.concatenate((self._pending, block))
        slope = self._clock.us_per_sample
        out: list[AudioPacket] = []
        while len(self._pending) >= FRAME_SAMPLES:
            chunk, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
            start = self._pending_first
            self._pending_first += FRAME_SAMPLES
            self._stamps.append((start, ts + (start - first) * slope))
            out += self._encode(chunk.reshape(1, FRAME_SAMPLES), start)
        return out

    def _encode(self, chunk: np.ndarray | None, pts: int = 0) -> list[AudioPacket]:
        frame = None
        if chunk is not None:
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate = self.rate
            frame.pts = pts
        out = []
        for p in self._cc.encode(frame):
            stamp = self._stamp(int(p.pts if p.pts is not None else 0))
            if stamp <= self._last_ts:  # a restarted stream's priming, overlapping the last one
                continue
            self._last_ts = stamp
            out.append(AudioPacket(bytes(p), stamp, FRAME_SAMPLES))
        return out

    def _stamp(self, pts: int) -> int:
        """The timestamp of the sample at encoder pts ``pts``: on the line through the frame
        that starts there, or the nearest before it (the encoder's padding at a flush), or the
        first (the priming, before sample 0)."""
        stamps = self._stamps
        while len(stamps) > 1 and stamps[1][0] <= pts:
            stamps.popleft()
        start, ts = stamps[0]  # a packet needs a frame given to the encoder
        return round(ts + (pts - start) * self._clock.us_per_sample)

    def restart(self) -> list[AudioPacket]:
        """Samples were lost: drain the encoder and begin a new stream with a new fit; return
        the old stream's last packets."""
        out = self.flush()
        self._begin()
        return out

    def flush(self) -> list[AudioPacket]:
        """Drain the encoder (the end of capture): its held packets; a partial frame is lost.
        Safe to call again (nothing more comes); :meth:`restart` begins a new stream."""
        if self._drained:
            return []
        self._drained = True
        return self._encode(None)
