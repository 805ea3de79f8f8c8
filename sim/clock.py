"""SimClock: virtual monotonic and wall time, advanced explicitly, with timers fired in order.

Not simulated: leap seconds, time zones (wall time is UTC) and gradual NTP slewing; a wall-time
change is always an instant jump.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable

from hal.clock import CLOCK_SOURCES, Clock

__all__ = ["NEVER_SET_WALL", "SIM_START_WALL", "SimClock"]

NEVER_SET_WALL = 946_684_800.0  # 2000-01-01T00:00:00Z, where a Pi with no RTC battery starts
SIM_START_WALL = 1_717_200_000.0  # 2024-06-01T00:00:00Z, a fixed default for determinism


class SimClock(Clock):
    """Virtual time that moves only when :meth:`advance` or :meth:`advance_to` is called.

    Timers registered with :meth:`call_at` fire inside those calls, on the advancing thread, in
    time order (ties in registration order), each exactly once, including timers they register
    themselves within the window; :meth:`monotonic` reads each timer's own time while it runs.
    A timer due at or before the present fires at the next advance, even ``advance(0)``.
    Exceptions from a timer propagate to the advancing caller; later timers stay pending.

    Wall time = wall anchor + (monotonic - anchor) * (1 + drift_ppm / 1e6). Thread-safe.
    """

    def __init__(
        self,
        *,
        start_wall: float = SIM_START_WALL,
        source: str = "ntp",
        never_set: bool = False,
        drift_ppm: float = 0.0,
    ) -> None:
        if source not in CLOCK_SOURCES:
            raise ValueError(f"clock source must be one of {CLOCK_SOURCES}, got {source!r}")
        self._lock = threading.RLock()  # guards the fields below
        self._advance_lock = threading.RLock()  # one advancer at a time
        self._mono = 0.0
        self._wall_anchor = NEVER_SET_WALL if never_set else start_wall
        self._mono_anchor = 0.0
        self._drift_ppm = drift_ppm
        self._source_name = "none" if never_set else source
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self.history: list[tuple[float, str, object]] = []

    # -- Clock contract ---------------------------------------------------------------------

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def wall(self) -> float:
        with self._lock:
            rate = 1.0 + self._drift_ppm * 1e-6
            return self._wall_anchor + (self._mono - self._mono_anchor) * rate

    def call_at(self, t: float, fn: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._timers, (t, next(self._seq), fn))

    def _source(self) -> str:
        with self._lock:
            return self._source_name

    def _set_wall(self, epoch: float, source: str) -> None:
        with self._lock:
            self._wall_anchor, self._mono_anchor = epoch, self._mono
            self._source_name = source
            self.history.append((self._mono, "set_wall", (epoch, source)))

    # -- test verbs ---------------------------------------------------------------------------

    def advance(self, dt: float) -> None:
        """Move time forward by ``dt`` seconds, firing due timers on the way."""
        if dt < 0:
            raise ValueError(f"time cannot go backwards (dt={dt})")
        with self._advance_lock:
            self.advance_to(self.monotonic() + dt)

    def advance_to(self, t: float) -> None:
        """Move time forward to ``t`` (no-op if already past it), firing due timers in order."""
        with self._advance_lock:
            while True:
                with self._lock:
                    if self._timers and self._timers[0][0] <= t:
                        due, _, fn = heapq.heappop(self._timers)
                        self._mono = max(self._mono, due)
                    else:
                        self._mono = max(self._mono, t)
                        return
                fn()

    def next_timer(self) -> float | None:
        """When the earliest pending timer is due, or None."""
        with self._lock:
            return self._timers[0][0] if self._timers else None

    def jump(self, seconds: float) -> None:
        """Step the wall clock by ``seconds`` (either way); monotonic time does not move."""
        with self._lock:
            self._wall_anchor += seconds
            self.history.append((self._mono, "jump", seconds))

    @property
    def drift_ppm(self) -> float:
        """How fast the wall clock runs against monotonic time, in parts per million."""
        return self._drift_ppm

    @drift_ppm.setter
    def drift_ppm(self, value: float) -> None:
        with self._lock:
            # Re-anchor so that the new rate applies from now on, not to the past.
            self._wall_anchor, self._mono_anchor = self.wall(), self._mono
            self._drift_ppm = value
