"""The Gnss contract: position fixes from a GNSS receiver (through gpsd), delivered to a sink.

A receiver reports about once a second. A report either has a position (a :class:`Fix`, mode
"2d" or "3d") or says there is none (a tunnel, a car park, a cold start). Only fixes reach the
sink; a report without a position is counted and shown (:attr:`Gnss.has_fix` turns False) but
never turned into a fix, so no consumer can repeat a stale position as if it were new.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import Literal, Protocol

from hal.device import Device

__all__ = ["FIX_MODES", "Fix", "FixMode", "FixSink", "Gnss"]

FixMode = Literal["2d", "3d"]
FIX_MODES: tuple[FixMode, ...] = ("2d", "3d")


@dataclass(frozen=True, slots=True)
class Fix:
    """One position fix, as the receiver reported it.

    ``time`` is the receiver's UTC time of the fix (epoch seconds): GNSS time, independent of the
    device's wall clock. ``received`` is the device's monotonic time (``Clock.monotonic()``,
    seconds) at which the fix reached the backend: where it belongs among the video frames.
    ``lat``/``lon`` are WGS84 degrees; ``alt_m`` is altitude above mean sea level (None in 2d);
    ``eph_m``/``epv_m`` the receiver's horizontal/vertical error estimates (95 %), ``speed_mps``
    ground speed and ``track_deg`` course over ground (true north, 0..360); each None when the
    receiver did not say. Construction checks the ranges (ValueError).
    """

    time: float
    received: float
    mode: FixMode
    lat: float
    lon: float
    alt_m: float | None = None
    eph_m: float | None = None
    epv_m: float | None = None
    speed_mps: float | None = None
    track_deg: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in FIX_MODES:
            raise ValueError(f"fix mode must be one of {', '.join(FIX_MODES)}, got {self.mode!r}")
        _finite("time", self.time, 0.0, math.inf)
        _finite("received", self.received, -math.inf, math.inf)
        _finite("lat", self.lat, -90.0, 90.0)
        _finite("lon", self.lon, -180.0, 180.0)
        for name, lo, hi in (
            ("alt_m", -12_000.0, 100_000.0),
            ("eph_m", 0.0, math.inf),
            ("epv_m", 0.0, math.inf),
            ("speed_mps", 0.0, math.inf),
            ("track_deg", 0.0, 360.0),
        ):
            value = getattr(self, name)
            if value is not None:
                _finite(name, value, lo, hi)


def _finite(name: str, value: object, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"fix {name} must be a number, got {value!r}")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"fix {name} must be a finite number within {lo:g}..{hi:g}, got {value!r}")


class FixSink(Protocol):
    """Where a receiver puts its fixes: the consumer's bounded queue."""

    def put_nowait(self, fix: Fix) -> bool:
        """Take ``fix``; False means the queue was full and it was dropped. MUST never block."""
        ...


class Gnss(Device[FixSink]):
    """A GNSS receiver that reports on its own thread while it runs.

    Contract for every backend:

    - Reports reach :meth:`_report` from the backend's own thread (or the thread that advances a
      simulated clock); the receiver never blocks on the sink.
    - A report with a position is delivered to the sink as a :class:`Fix`; one without is not
      (it only makes :attr:`has_fix` False). Only a fix newer (by receiver time) than the last
      one is delivered, so none twice; and none after :meth:`stop` returns.
    - A backend that loses its source (gpsd gone, garbage on the socket) records the error with
      :meth:`_set_fault` and keeps trying if it can; :attr:`fault` is None again once a report
      arrives. :meth:`stop` and :meth:`close` are safe to call twice; a closed receiver cannot
      be started again (DeviceError).

    MUST override: :meth:`_start` (begin reporting) and :meth:`_stop` (stop; return once no more
    report can reach the sink).
    MAY override: :meth:`_close` (release the connection; called once, after :meth:`_stop`).
    """

    _kind = "gnss receiver"

    def __init__(self) -> None:
        super().__init__()
        self._sink: FixSink | None = None
        self._last_fix: Fix | None = None
        self._has_fix = False
        self._reports = 0
        self._fixes = 0

    @property
    def last_fix(self) -> Fix | None:
        """The newest fix (with a position) since the receiver was made, however old."""
        return self._last_fix

    @property
    def has_fix(self) -> bool:
        """True while the newest report had a position; False before any and after a lost fix."""
        return self._has_fix

    @property
    def reports(self) -> int:
        """Reports received (with a position or without) since the receiver was made."""
        return self._reports

    @property
    def fixes_delivered(self) -> int:
        return self._fixes

    def _started(self, sink: FixSink) -> None:
        self._sink = sink
        self._start()

    def _stopped(self) -> None:
        self._sink = None
        self._stop()

    def _report(self, fix: Fix | None) -> bool:
        """Take one receiver report (None: no position); backends call this from their thread.

        Returns whether a sink took the fix.
        """
        with self._state_lock:
            self._reports += 1
            self._fault = None
            self._has_fix = fix is not None
            if fix is None:
                return False
            if self._last_fix is not None and fix.time <= self._last_fix.time:
                return False  # gpsd may report one second again as more sentences come in
            self._last_fix = fix
            sink = self._sink if self._running else None
            if sink is None:
                return False
            self._fixes += 1
            return sink.put_nowait(fix)

    def _set_fault(self, exc: BaseException) -> None:
        """Record why reports stopped (backends call this); a later report clears it."""
        with self._state_lock:
            super()._set_fault(exc)
            self._has_fix = False

    @abstractmethod
    def _start(self) -> None: ...

    @abstractmethod
    def _stop(self) -> None: ...
