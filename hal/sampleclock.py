"""SampleClock: timestamps for captured audio in the video frames' clock, by counting samples.

Audio that is stamped with the wall clock jumps when NTP steps it; audio stamped with the time
each block is read carries the scheduler's jitter; audio stamped by counting samples from one
anchor drifts with the microphone's crystal (tens of ppm: 50 ppm is 30 ms in ten minutes).
This does what a careful capture pipeline does instead:

- **One clock.** Every observation is taken on the backend's monotonic clock, the one the
  camera stamps its frames with (``Clock.monotonic()``: CLOCK_MONOTONIC on the Pi, which a Pi
  that never suspends keeps equal to CLOCK_BOOTTIME; the virtual clock in the simulator).
- **Count samples, and see where they were.** At each read the backend says how many samples it
  got and how many the device still holds (its buffered delay). The block's first sample was
  captured then at ``now - (delay + n) / rate``, give or take how late the read ran.
- **Fit, do not trust one reading.** Over a sliding window (30 s by default) the sample count is
  fitted to those capture times. A read can only be late, never early, so the fit follows the
  *earliest* readings: the slope through the earliest of each half of the window is the
  microphone's true rate (its drift in ppm), and the line goes through the earliest of all.
  A block's timestamp is the fit at its first sample's count, so
  jitter averages out, the drift is followed, and no fixed "sync offset" is guessed.
- **Slewed, never stepped.** A block follows on where the last one ended, moved towards the
  fit by at most 0.5 % of its length (5 ms a second): timestamps always increase, and a late
  first reading is corrected within a second or two.

The fit is re-anchored continuously: the window slides, so a drift that changes with the
temperature is followed too. :attr:`anchor_us` and :attr:`drift_ppm` say where the fit stands,
for the stream's metadata.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["SampleClock", "Timing"]

MIN_FIT_S = 10.0
"""Until this much audio is seen, the nominal rate is assumed: a slope needs a baseline, and
100 ppm over 10 s is 1 ms."""
SLEW = 0.005
"""How far a block's timestamp may move from where the last block ends, as a fraction of its
length: 5 ms a second, so a correction never reorders blocks and is never heard as a jump."""


@dataclass(frozen=True)
class Timing:
    anchor_us: float
    """Where the fit puts sample 0 of the stream, on the frames' clock (microseconds)."""
    drift_ppm: float
    """How much faster than nominal the microphone's clock runs, in parts per million."""
    observations: int


class SampleClock:
    def __init__(self, rate: int, window_s: float = 30.0) -> None:
        if rate <= 0 or window_s < MIN_FIT_S:
            raise ValueError(
                f"rate {rate} Hz, window {window_s} s: need > 0 Hz and >= {MIN_FIT_S} s"
            )
        self.rate = rate
        self._us_per_sample = 1e6 / rate
        self._window = round(window_s * rate)
        self._points: deque[tuple[int, float]] = deque()
        self._count = 0
        self._next_us = 0.0
        """Where the block after the last one follows on."""
        self._slope = self._us_per_sample
        self._intercept = 0.0
        self._refit_at = 0
        """The sample count at which the fit is made again (once a second: cheap, and a
        crystal's drift moves far slower)."""

    @property
    def samples(self) -> int:
        """Samples timestamped so far."""
        return self._count

    @property
    def us_per_sample(self) -> float:
        """The fitted length of one sample on the frames' clock (microseconds)."""
        return self._slope

    def observe(self, samples: int, now_us: float, delay: int = 0) -> int:
        """A block of ``samples`` was just read, at ``now_us`` on the frames' clock, with
        ``delay`` samples still held by the device; return its first sample's timestamp (us)."""
        if samples <= 0 or delay < 0:
            raise ValueError(f"a block of {samples} samples with {delay} buffered")
        first = self._count
        captured = now_us - (delay + samples) * self._us_per_sample
        self._points.append((first, captured))
        while self._points and self._points[0][0] < first - self._window:
            self._points.popleft()
        if first >= self._refit_at or len(self._points) == 1:
            self._fit()
            self._refit_at = first + self.rate
        else:  # an earlier reading than any so far lowers the line at once
            self._intercept = min(self._intercept, captured - self._slope * first)
        target = self._intercept + self._slope * first
        if self._count == 0:
            ts = target
        else:  # slewed, never stepped: at most SLEW of a block's length from where it follows on
            step = SLEW * self._slope * samples
            ts = self._next_us + min(max(target - self._next_us, -step), step)
        self._count += samples
        self._next_us = ts + self._slope * samples
        return round(ts)

    def _fit(self) -> None:
        pts = self._points
        if pts[-1][0] - pts[0][0] >= MIN_FIT_S * self.rate:
            # The slope through the earliest reading of each half of the window: reads are
            # late by a scheduler's whim, so the earliest are the true ones, and a least-squares
            # slope would follow the whims instead.
            mid = (pts[0][0] + pts[-1][0]) / 2
            nominal = self._us_per_sample
            c1, t1 = min((p for p in pts if p[0] < mid), key=lambda p: p[1] - nominal * p[0])
            c2, t2 = min((p for p in pts if p[0] >= mid), key=lambda p: p[1] - nominal * p[0])
            self._slope = (t2 - t1) / (c2 - c1)
        self._intercept = min(t - self._slope * c for c, t in pts)

    @property
    def timing(self) -> Timing:
        drift = (self._us_per_sample / self._slope - 1) * 1e6
        return Timing(self._intercept, drift, len(self._points))
