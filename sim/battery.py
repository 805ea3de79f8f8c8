"""SimBattery: a battery that drains and charges linearly in virtual time.

Not simulated: chemistry (the discharge curve, temperature, ageing), load-dependent drain,
gauge error. Voltage is a straight line from 3.3 V (empty) to 4.2 V (full).
"""

from __future__ import annotations

from hal.battery import Battery, BatteryState
from sim.clock import SimClock

__all__ = ["SimBattery"]


class SimBattery(Battery):
    """Drains ``drain_per_hour`` percent per hour of virtual time, charges ``charge_per_hour``."""

    def __init__(
        self,
        *,
        clock: SimClock,
        percent: float = 100.0,
        drain_per_hour: float = 10.0,
        charge_per_hour: float = 50.0,
        charging: bool = False,
    ) -> None:
        if drain_per_hour < 0 or charge_per_hour < 0:
            raise ValueError("drain and charge rates must be >= 0")
        self._clock = clock
        self.drain_per_hour = drain_per_hour
        self.charge_per_hour = charge_per_hour
        self._charging = charging
        self._p0, self._t0 = 0.0, 0.0
        self.history: list[tuple[float, str, object]] = []
        self.set_percent(percent)

    # -- test verbs ---------------------------------------------------------------------------

    def set_percent(self, percent: float) -> None:
        """Set the charge level now."""
        if not 0 <= percent <= 100:
            raise ValueError(f"battery percent must be within 0..100, got {percent}")
        self._p0, self._t0 = percent, self._clock.monotonic()
        self.history.append((self._t0, "percent", percent))

    def charge(self) -> None:
        """Plug the charger in."""
        self._rebase()
        self._charging = True
        self.history.append((self._t0, "charging", True))

    def unplug(self) -> None:
        """Unplug the charger."""
        self._rebase()
        self._charging = False
        self.history.append((self._t0, "charging", False))

    # -- Battery hook -------------------------------------------------------------------------

    def _read(self) -> BatteryState:
        percent = self._level(self._clock.monotonic())
        voltage = 3.3 + 0.9 * percent / 100
        minutes: float | None = None
        if not self._charging and self.drain_per_hour > 0:
            minutes = percent / self.drain_per_hour * 60
        return BatteryState(percent, voltage, self._charging, minutes)

    def _level(self, t: float) -> float:
        hours = (t - self._t0) / 3600
        if self._charging:
            return min(100.0, self._p0 + self.charge_per_hour * hours)
        return max(0.0, self._p0 - self.drain_per_hour * hours)

    def _rebase(self) -> None:
        t = self._clock.monotonic()
        self._p0, self._t0 = self._level(t), t
