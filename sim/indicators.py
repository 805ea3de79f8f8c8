"""SimIndicators: the GPIO LEDs, haptic motor and buzzer on gpiozero's MockFactory, observable.

Not simulated: LED brightness or colour, motor spin-up, buzzer pitch; outputs are on or off.
"""

from __future__ import annotations

from collections.abc import Mapping

from gpiozero.pins.mock import MockFactory

from hal.gpio import GpioIndicators
from hal.indicators import LED_NAMES
from sim.clock import SimClock

__all__ = ["SimIndicators"]


class SimIndicators(GpioIndicators):
    """Indicators whose every request is kept in ``history`` and whose outputs can be read.

    ``history`` holds ``(t, what, value)`` for every request, also in stealth (when nothing is
    shown): ``("led:recording", True)``, ``("haptic", "short")``, ``("beep", "alarm")``,
    ``("stealth", True)``. :meth:`is_lit`, :attr:`is_vibrating` and :attr:`is_buzzing` read
    the mock pins, i.e. what the officer actually sees, feels and hears.
    """

    def __init__(
        self,
        *,
        clock: SimClock,
        pins: Mapping[str, int],
        pin_factory: MockFactory | None = None,
    ) -> None:
        self.history: list[tuple[float, str, object]] = []
        factory = pin_factory if pin_factory is not None else MockFactory()
        super().__init__(clock=clock, pins=pins, pin_factory=factory)

    def is_lit(self, name: str) -> bool:
        """Whether LED ``name`` is lit now."""
        if name not in LED_NAMES:
            raise ValueError(f"unknown LED {name!r}; known LEDs: {', '.join(LED_NAMES)}")
        return bool(self._leds[name].is_lit)

    @property
    def is_vibrating(self) -> bool:
        return bool(self._motor.is_active)

    @property
    def is_buzzing(self) -> bool:
        return bool(self._buzzer.is_active)

    def _requested(self, what: str, value: object) -> None:
        self.history.append((self._clock.monotonic(), what, value))
