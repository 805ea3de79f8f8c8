"""The Battery contract: charge, voltage, charging state and time left."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

__all__ = ["Battery", "BatteryState"]


@dataclass(frozen=True)
class BatteryState:
    """One consistent reading of the battery."""

    percent: float  # 0..100
    voltage: float  # volts
    charging: bool
    minutes_left: float | None  # None while charging or when the gauge cannot tell


class Battery(ABC):
    """The battery, read through a fuel gauge.

    MUST override: :meth:`_read` (one reading; percent is clamped to 0..100 here).
    MAY override: :meth:`close` (release the bus; safe to call twice).
    """

    @property
    def state(self) -> BatteryState:
        """One consistent reading of every figure."""
        s = self._read()
        return BatteryState(min(100.0, max(0.0, s.percent)), s.voltage, s.charging, s.minutes_left)

    @property
    def percent(self) -> float:
        return self.state.percent

    @property
    def voltage(self) -> float:
        return self.state.voltage

    @property
    def charging(self) -> bool:
        return self.state.charging

    @property
    def minutes_left(self) -> float | None:
        return self.state.minutes_left

    def close(self) -> None:
        return None

    @abstractmethod
    def _read(self) -> BatteryState: ...
