"""SimMicrophone: the soundscape, captured in periods on the virtual clock and encoded to AAC.

It behaves as an ALSA capture device read by a thread would, on the SimClock's timers (which run
on the thread that advances virtual time, normally the camera's, as SimGnss's do):

- The device's crystal runs ``skew_ppm`` fast (or slow): sample ``k`` after a start is taken at
  true time ``t0 + k / (rate * (1 + skew_ppm / 1e6))``, so a nominal 48 kHz is slightly off, as
  every real microphone's is.
- Samples arrive in periods of PERIOD (960: 20 ms, deliberately not the encoder's 1024). Each
  period is read a little late, by a pseudo-random jitter of up to ``jitter_s`` (a scheduler's
  whim), and the read sees how many samples the device took meanwhile: its delay.
- The reads go through the same :class:`hal.aac.AacCapture` as on the Pi: the timestamps come
  from counting samples against the read times, never from the true time this module knows.

Test verbs (and scenario steps): :meth:`fail` ("missing": the device is gone for a while, then
comes back, as a USB microphone re-plugged; "overrun": samples are lost).

Not simulated: the ALSA API itself (the Pi backend's tests run it on a fake), gain, clipping.
"""

from __future__ import annotations

import logging
import math
import random

from hal.aac import RATE, AacCapture
from hal.errors import DeviceError
from hal.microphone import AudioFormat, Microphone
from hal.sampleclock import Timing
from sim.clock import SimClock
from sim.sound import Soundscape

__all__ = ["PERIOD", "SimMicrophone"]

log = logging.getLogger(__name__)

PERIOD = 960
FAILURES = ("missing", "overrun")
RETRY_S = 1.0
"""While the device is missing, how often (virtual seconds) the backend tries it again."""


class SimMicrophone(Microphone):
    """A software microphone; ``history`` lists (monotonic, what, detail)."""

    def __init__(
        self,
        *,
        clock: SimClock,
        sound: Soundscape | None = None,
        bitrate: int = 64_000,
        skew_ppm: float = 0.0,
        jitter_s: float = 0.004,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self._clock = clock
        self.sound = sound or Soundscape()
        self._capture = AacCapture(bitrate=bitrate)
        self.skew_ppm = skew_ppm
        self._jitter_s = jitter_s
        self._random = random.Random(seed)  # noqa: S311 (a scheduler's whim, not a secret)
        self._generation = 0
        self._t0 = 0.0
        self._k = 0
        self._missing_until = -math.inf
        self.samples_taken = 0
        """Samples taken from the (simulated) device since the microphone was made."""
        self.history: list[tuple[float, str, object]] = []

    @property
    def format(self) -> AudioFormat:
        return self._capture.format

    @property
    def timing(self) -> Timing | None:
        return self._capture.timing

    @property
    def skew_ppm(self) -> float:
        return self._skew_ppm

    @skew_ppm.setter
    def skew_ppm(self, value: float) -> None:
        if not (math.isfinite(value) and abs(value) <= 1000):
            raise ValueError(f"skew_ppm must be within -1000..1000, got {value!r}")
        self._skew_ppm = value

    @property
    def _true_rate(self) -> float:
        return RATE * (1 + self._skew_ppm / 1e6)

    # -- test verbs ---------------------------------------------------------------------------

    def fail(self, kind: str, seconds: float = 0.5) -> None:
        """``missing``: the device is gone for ``seconds`` (a fault until it is back).
        ``overrun``: the reads stall for ``seconds``, and the samples of that time are lost."""
        if kind not in FAILURES:
            raise ValueError(f"microphone failure must be one of {', '.join(FAILURES)}")
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        now = self._clock.monotonic()
        self.history.append((now, kind, seconds))
        with self._state_lock:
            if kind == "missing":
                self._missing_until = now + seconds
                if self._running:
                    self._lose_device(now)
            elif self._running:
                self._generation += 1  # the pending read is lost with its samples
                gen = self._generation
                self._clock.call_at(now + seconds, lambda: self._recover(gen, overrun=True))

    def plug_in(self) -> None:
        """A missing device is back now (the backend finds it at its next try)."""
        self._missing_until = -math.inf

    def captured_at(self, sample: int) -> float:
        """The true (virtual) time at which sample ``sample`` of the current capture (0: the
        first since the last start, overrun or reopening) was taken."""
        return self._t0 + sample / self._true_rate

    # -- Microphone hooks ---------------------------------------------------------------------

    def _start(self) -> None:
        self._capture.restart()  # a new stream: the samples since a stop were never counted
        self._generation += 1
        now = self._clock.monotonic()
        self.history.append((now, "start", None))
        if now < self._missing_until:
            self._lose_device(now)
        else:
            self._open(now)

    def _stop(self) -> None:
        self._generation += 1
        for packet in self._capture.flush():
            self._deliver(packet)
        self.history.append((self._clock.monotonic(), "stop", self.packets_delivered))

    # -- the capture, on the clock's timers ------------------------------------------------------

    def _open(self, now: float) -> None:
        self._t0, self._k = now, 0
        self._schedule(self._generation)

    def _lose_device(self, now: float) -> None:
        self._generation += 1
        self._set_fault(DeviceError("microphone: no such device (simulated: unplugged)"))
        gen = self._generation
        self._clock.call_at(now + RETRY_S, lambda: self._recover(gen, overrun=False))

    def _recover(self, gen: int, overrun: bool) -> None:
        """Capture again after an overrun, or once a missing device is back (else retry)."""
        with self._state_lock:
            if gen != self._generation or not self._running:
                return
            now = self._clock.monotonic()
            if now < self._missing_until:
                self._clock.call_at(now + RETRY_S, lambda: self._recover(gen, overrun))
                return
            if overrun:
                self._overran()
            else:
                self._fault = None
            self.history.append((now, "overrun lost" if overrun else "reopened", None))
            for packet in self._capture.restart():
                self._deliver(packet)
            self._generation += 1
            self._open(now)

    def _schedule(self, gen: int) -> None:
        end = self._t0 + (self._k + PERIOD) / self._true_rate
        late = self._random.uniform(0.0, self._jitter_s)
        self._clock.call_at(end + late, lambda: self._read(gen))

    def _read(self, gen: int) -> None:
        with self._state_lock:
            if gen != self._generation or not self._running:
                return
            rate = self._true_rate
            start = self._t0 + self._k / rate
            now = self._clock.monotonic()
            held = max(0, math.floor((now - start) * rate) - PERIOD)
            pcm = self.sound.render(start, PERIOD, rate)
            packets = self._capture.feed(pcm, now * 1e6, held, muted=self._muted)
            self._k += PERIOD
            self.samples_taken += PERIOD
            for packet in packets:
                self._deliver(packet)
            self._schedule(gen)
