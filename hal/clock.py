"""The Clock contract (monotonic time, wall time and its provenance, timers) and SystemClock."""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from hal.errors import DeviceError

__all__ = ["CLOCK_SOURCES", "Clock", "SystemClock"]

log = logging.getLogger(__name__)

# Where the wall time came from; "none" means it was never set since power-up, and "sim" is the
# simulator's own clock (the host's time or a scenario's pinned start), never a camera's.
CLOCK_SOURCES: tuple[str, ...] = ("ntp", "rtc", "gnss", "manual", "sim", "none")
# What set_wall accepts: the sources a clock can learn the time from.
_SETTABLE: tuple[str, ...] = tuple(s for s in CLOCK_SOURCES if s not in ("sim", "none"))


class Clock(ABC):
    """Monotonic time for measuring, wall time for labelling, and timers on monotonic time.

    ``monotonic()`` never goes backwards and is what every duration, timestamp and timer uses.
    ``wall()`` is UTC epoch seconds; it may jump (set by NTP, GNSS or a technician), and ``source``
    says where it last came from. ``is_set`` is False while the wall time was never set, i.e.
    evidence labelled with it cannot be placed in real time without the audit log.

    MUST override: :meth:`monotonic`, :meth:`wall`, :meth:`call_at`, :meth:`_source`,
    :meth:`_set_wall`.
    MAY override: :meth:`close` (stop a timer thread; safe to call twice).
    """

    @abstractmethod
    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (arbitrary origin)."""

    @abstractmethod
    def wall(self) -> float:
        """UTC time in epoch seconds."""

    @abstractmethod
    def call_at(self, t: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` once, at monotonic time ``t`` or as soon after as possible.

        Callbacks run on the clock's own thread of time (a timer thread, or whoever advances a
        virtual clock), in time order; they must be short and must not block.
        """

    @property
    def source(self) -> str:
        """Where the wall time came from: one of CLOCK_SOURCES."""
        return self._source()

    @property
    def is_set(self) -> bool:
        """False while the wall time was never set ("clock never set")."""
        return self._source() != "none"

    def set_wall(self, epoch: float, source: str) -> None:
        """Set the wall time to ``epoch`` (UTC seconds), learnt from ``source``."""
        if source not in _SETTABLE:
            raise ValueError(f"clock source must be one of {', '.join(_SETTABLE)}; got {source!r}")
        if not (math.isfinite(epoch) and epoch > 0):
            raise ValueError(f"wall time must be a positive finite epoch, got {epoch!r}")
        self._set_wall(epoch, source)

    def close(self) -> None:
        return None

    @abstractmethod
    def _source(self) -> str: ...

    @abstractmethod
    def _set_wall(self, epoch: float, source: str) -> None: ...


_TIMESYNC_FLAG = "/run/systemd/timesync/synchronized"


class SystemClock(Clock):
    """The host's clocks: ``time.monotonic()`` and ``time.time()``, timers on a daemon thread.

    Source: "manual"/"gnss"/... once :meth:`set_wall` was called; before that "ntp" when
    systemd-timesyncd reports synchronisation (``/run/systemd/timesync/synchronized`` exists)
    and otherwise "rtc" - whether the time is really good is unknown then, so it is never
    reported as "none". Setting the wall clock needs CAP_SYS_TIME; without it DeviceError.
    """

    def __init__(self) -> None:
        self._set_source: str | None = None
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def call_at(self, t: float, fn: Callable[[], None]) -> None:
        with self._cond:
            if self._closed:
                raise DeviceError("clock is closed")
            heapq.heappush(self._timers, (t, next(self._seq), fn))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="clock-timers", daemon=True)
                self._thread.start()
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._timers and self._timers[0][0] <= time.monotonic():
                        break
                    timeout = self._timers[0][0] - time.monotonic() if self._timers else None
                    self._cond.wait(timeout)
                if self._closed:
                    return
                _, _, fn = heapq.heappop(self._timers)
            try:
                fn()
            except Exception:
                log.exception("timer callback %r failed", fn)

    def _source(self) -> str:
        if self._set_source is not None:
            return self._set_source
        return "ntp" if os.path.exists(_TIMESYNC_FLAG) else "rtc"

    def _set_wall(self, epoch: float, source: str) -> None:
        try:
            time.clock_settime(time.CLOCK_REALTIME, epoch)
        except OSError as exc:
            raise DeviceError(f"cannot set the system clock: {exc}") from exc
        self._set_source = source
