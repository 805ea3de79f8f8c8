"""SimClock: virtual monotonic and wall time, advanced explicitly, with timers fired in order.

Wall time starts at the host's time (``time.time()``) unless ``start_wall`` or :meth:`pin_start`
(a scenario's ``start``) fixes it, and its source is ``sim`` until something sets it. Given a
:class:`~sim.wallmark.WallMark` (the backend gives one per state directory), a boot never starts
before any wall time an earlier boot of that directory may have shown: it starts at
``max(start, mark + BOOT_GAP_S)``. While it runs, the mark is kept ahead of the wall time (saved
at start, renewed every LEASE_S of virtual time to cover the next 2 x LEASE_S, and saved at once
before a jump, a set or a change of drift takes effect), and at :meth:`close` it is lowered to
the exact highest wall time this boot reached. So even a power cut (SIGKILL) leaves a mark at or
after every wall time the boot showed.

Not simulated: leap seconds, time zones (wall time is UTC) and gradual NTP slewing; a wall-time
change is always an instant jump.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable

from hal.clock import Clock
from hal.errors import DeviceError
from sim.wallmark import WallMark

__all__ = ["BOOT_GAP_S", "LEASE_S", "NEVER_SET_WALL", "SIM_START_WALL", "SimClock"]

log = logging.getLogger(__name__)

NEVER_SET_WALL = 946_684_800.0  # 2000-01-01T00:00:00Z, where a Pi with no RTC battery starts
SIM_START_WALL = 1_717_200_000.0  # 2024-06-01T00:00:00Z, a start tests pin for determinism
BOOT_GAP_S = 1.0  # a boot starts at least this long after the previous boot's last wall time
LEASE_S = 60.0  # how often (virtual seconds) the mark is renewed while the clock runs


class SimClock(Clock):
    """Virtual time that moves only when :meth:`advance` or :meth:`advance_to` is called.

    Timers registered with :meth:`call_at` fire inside those calls, on the advancing thread, in
    time order (ties in registration order), each exactly once, including timers they register
    themselves within the window; :meth:`monotonic` reads each timer's own time while it runs.
    A timer due at or before the present fires at the next advance, even ``advance(0)``.
    Exceptions from a timer propagate to the advancing caller; later timers stay pending.

    Wall time = wall anchor + (monotonic - anchor) * (1 + drift_ppm / 1e6). Thread-safe.
    ``mark``: keep wall time from going backwards across boots (see the module docstring); a
    mark that cannot be saved is logged, and the clock runs on.
    """

    def __init__(
        self,
        *,
        start_wall: float | None = None,
        never_set: bool = False,
        drift_ppm: float = 0.0,
        mark: WallMark | None = None,
    ) -> None:
        if start_wall is not None and not (math.isfinite(start_wall) and start_wall > 0):
            raise ValueError(f"start_wall must be a positive finite epoch, got {start_wall!r}")
        self._lock = threading.RLock()  # guards the fields below
        self._advance_lock = threading.RLock()  # one advancer at a time
        self._mono = 0.0
        self._mark = mark
        self._shown = False  # wall() was read: from then on the start cannot be pinned
        self._closed = False
        self._wall_anchor = (
            NEVER_SET_WALL
            if never_set
            else self._after_mark(time.time() if start_wall is None else start_wall)
        )
        self._mono_anchor = 0.0
        self._start = self._wall_anchor
        self._peak = self._wall_anchor  # at least every wall time reached before the anchor
        self._drift_ppm = drift_ppm
        self._source_name = "none" if never_set else "sim"
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self.history: list[tuple[float, str, object]] = []
        if mark is not None:
            self._renew_mark()

    # -- Clock contract ---------------------------------------------------------------------

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def wall(self) -> float:
        with self._lock:
            self._shown = True
            return self._wall_now()

    def call_at(self, t: float, fn: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._timers, (t, next(self._seq), fn))

    def close(self) -> None:
        """Lower the mark to the highest wall time this boot reached; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._mark is not None:
                self._save(max(self._peak, self._wall_now()))

    def _source(self) -> str:
        with self._lock:
            return self._source_name

    def _set_wall(self, epoch: float, source: str) -> None:
        with self._lock:
            self._reanchor(epoch)
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
            self._reanchor(self._wall_now() + seconds)
            self.history.append((self._mono, "jump", seconds))

    def pin_start(self, epoch: float) -> float:
        """Start the wall clock at ``epoch`` rather than the host's time (a scenario's ``start``).

        Still never before the mark: returns the wall time the clock starts at. Only before the
        wall time was first read, set or jumped, and not on a clock that starts never set;
        ValueError otherwise.
        """
        if not (math.isfinite(epoch) and epoch > 0):
            raise ValueError(f"a pinned start must be a positive finite epoch, got {epoch!r}")
        with self._lock:
            if self._source_name == "none":
                raise ValueError("the clock starts never set, so its start cannot be pinned")
            if self._shown or self.history:
                raise ValueError("too late to pin the start: the wall time was already used")
            self._wall_anchor, self._mono_anchor = self._after_mark(epoch), self._mono
            self._peak = self._start = self._wall_anchor
            self.history.append((self._mono, "pin_start", (epoch, self._wall_anchor)))
            if self._mark is not None:
                self._save(self._lease())
            return self._wall_anchor

    @property
    def wall_start(self) -> float:
        """The wall time this boot's clock started at (reading it does not count as a read)."""
        with self._lock:
            return self._start

    @property
    def drift_ppm(self) -> float:
        """How fast the wall clock runs against monotonic time, in parts per million."""
        return self._drift_ppm

    @drift_ppm.setter
    def drift_ppm(self, value: float) -> None:
        with self._lock:
            # Re-anchor so that the new rate applies from now on, not to the past.
            self._reanchor(self._wall_now(), drift_ppm=value)

    # -- the wall time and its mark -----------------------------------------------------------

    def _rate(self) -> float:
        return 1.0 + self._drift_ppm * 1e-6

    def _wall_now(self) -> float:
        return self._wall_anchor + (self._mono - self._mono_anchor) * self._rate()

    def _after_mark(self, wall: float) -> float:
        floor = self._mark.floor if self._mark is not None else None
        return wall if floor is None else max(wall, floor + BOOT_GAP_S)

    def _reanchor(self, wall: float, drift_ppm: float | None = None) -> None:
        """Make ``wall`` the wall time now (and ``drift_ppm`` the rate from now on); the mark
        covers it before the lock is let go, so before anyone can read it."""
        self._peak = max(self._peak, self._wall_now(), wall)
        self._wall_anchor, self._mono_anchor = wall, self._mono
        if drift_ppm is not None:
            self._drift_ppm = drift_ppm
        if self._mark is not None:
            self._save(self._lease())

    def _lease(self) -> float:
        """A wall time the clock cannot pass within 2 x LEASE_S of virtual time from now."""
        return max(self._peak, self._wall_now() + 2 * LEASE_S * max(self._rate(), 0.0))

    def _renew_mark(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._save(self._lease())
            due = self._mono + LEASE_S
        self.call_at(due, self._renew_mark)

    def _save(self, wall: float) -> None:
        assert self._mark is not None
        floor = self._mark.floor
        try:
            self._mark.save(wall if floor is None else max(floor, wall))
        except DeviceError as exc:
            log.error("%s; wall time may go backwards at the next boot", exc)
