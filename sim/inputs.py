"""SimInputs: the GPIO inputs on gpiozero's MockFactory, with verbs that drive the mock pins.

The verbs change pin levels (``drive_low``/``drive_high``) so that gpiozero's own edge
detection runs, exactly as on the Pi. Not simulated: switch bounce, interrupt latency, stuck or
floating pins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gpiozero.pins.mock import MockFactory

from hal.gpio import GpioInputs
from hal.inputs import check_input_name
from sim.clock import SimClock

__all__ = ["SimInputs"]


class SimInputs(GpioInputs):
    """Buttons and sensors an officer can press, hold, draw and holster in virtual time.

    The device starts holstered unless ``holstered=False``. ``history`` lists every verb as
    ``(t, verb, input name)``.
    """

    def __init__(
        self,
        *,
        clock: SimClock,
        pins: Mapping[str, int],
        pin_factory: MockFactory | None = None,
        holstered: bool = True,
    ) -> None:
        factory = pin_factory if pin_factory is not None else MockFactory()
        super().__init__(clock=clock, pins=pins, pin_factory=factory)
        self._sim_clock = clock
        self._pins = dict(pins)
        self.history: list[tuple[float, str, str]] = []
        if holstered:
            self._pin("holster").drive_low()

    def press(self, name: str) -> None:
        """Press button ``name`` (a falling edge on its pin)."""
        self._check_button(name)
        self._log("press", name)
        self._pin(name).drive_low()

    def release(self, name: str) -> None:
        """Release button ``name`` (a rising edge on its pin)."""
        self._check_button(name)
        self._log("release", name)
        self._pin(name).drive_high()

    def hold(self, name: str, seconds: float) -> None:
        """Press ``name`` now and release it ``seconds`` of virtual time later."""
        if seconds < 0:
            raise ValueError(f"hold seconds must be >= 0, got {seconds}")
        self.press(name)
        self._sim_clock.call_at(self._sim_clock.monotonic() + seconds, lambda: self.release(name))

    def draw(self) -> None:
        """Draw the device from its holster (the holster switch opens)."""
        self._log("draw", "holster")
        self._pin("holster").drive_high()

    def holster(self) -> None:
        """Put the device back in its holster (the holster switch closes)."""
        self._log("holster", "holster")
        self._pin("holster").drive_low()

    def trigger(self) -> None:
        """Pulse the external trigger line: a press and a release at the same instant."""
        self._log("trigger", "trigger")
        pin = self._pin("trigger")
        pin.drive_low()
        pin.drive_high()

    def _check_button(self, name: str) -> None:
        check_input_name(name)
        if name == "holster":
            raise ValueError("the holster sensor is not a button: use draw() and holster()")

    def _pin(self, name: str) -> Any:
        return self._devices[name].pin

    def _log(self, verb: str, name: str) -> None:
        self.history.append((self._sim_clock.monotonic(), verb, name))
