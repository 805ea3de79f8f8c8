"""PiClock: the system clock, with where its wall time came from told by timesyncd and the RTC.

A Raspberry Pi 4 or Zero 2 W has no RTC unless a HAT adds one; a Pi 5 has one, which keeps time
only with a battery fitted. Without NTP or a working RTC the wall time at boot is whatever
fake-hwclock or systemd's build-time floor made up, which looks plausible but is not a time that
evidence can be placed by. So the source is, in this order:

- the source given to :meth:`set_wall`, once it was called;
- "ntp" while systemd-timesyncd says the clock is synchronised (its flag file exists);
- "none" while the system's wall time is before ``min_year`` (nothing set it since power-up);
- "rtc" when an RTC is present *and its own time* is on or after ``min_year`` (a Pi 5 RTC
  without a battery restarts in 1970, and then it is not a source);
- "none" otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from hal.clock import SystemClock

__all__ = ["MIN_PLAUSIBLE_YEAR", "RTC_PATH", "TIMESYNC_FLAG", "PiClock"]

TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
RTC_PATH = Path("/sys/class/rtc/rtc0")
MIN_PLAUSIBLE_YEAR = 2024


class PiClock(SystemClock):
    """SystemClock whose ``source`` and ``is_set`` look at timesyncd and the RTC.

    ``timesync_flag``, ``rtc`` and ``wall_time`` are there so tests can point them at a temporary
    directory and a fixed time.
    """

    def __init__(
        self,
        *,
        timesync_flag: Path = TIMESYNC_FLAG,
        rtc: Path = RTC_PATH,
        min_year: int = MIN_PLAUSIBLE_YEAR,
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._timesync_flag = Path(timesync_flag)
        self._rtc = Path(rtc)
        self._min_year = min_year
        self._wall_time = wall_time

    def wall(self) -> float:
        return self._wall_time()

    @property
    def rtc_present(self) -> bool:
        """Whether the kernel has an RTC (``/sys/class/rtc/rtc0`` exists)."""
        return self._rtc.is_dir()

    def rtc_time(self) -> float | None:
        """The RTC's own time in epoch seconds, or None when there is no readable RTC."""
        try:
            return float((self._rtc / "since_epoch").read_text().strip())
        except (OSError, ValueError):
            return None

    def _plausible(self, epoch: float) -> bool:
        return time.gmtime(epoch).tm_year >= self._min_year

    def _source(self) -> str:
        if self._set_source is not None:
            return self._set_source
        if self._timesync_flag.exists():
            return "ntp"
        if not self._plausible(self.wall()):
            return "none"
        rtc = self.rtc_time()
        if rtc is not None and self._plausible(rtc):
            return "rtc"
        return "none"
