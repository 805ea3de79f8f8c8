"""GPIO buttons and outputs built on gpiozero, shared by the Pi (lgpio) and the simulator (mock).

The pin factory is passed in (``pin_factory=``, required), never chosen here, so the same classes
run on real pins and on gpiozero's MockFactory, and gpiozero's own fallback chain of factories is
never consulted. Nothing here starts a real-time thread: inputs use
``DigitalInputDevice`` (gpiozero's Button without its hold thread) and report bare edges stamped
with the given Clock, and output patterns are timed with ``Clock.call_at`` rather than
gpiozero's ``blink()``, so they follow the simulator's virtual time.

Wiring: every input switches its pin to ground, with the internal pull-up. The holster sensor
is closed while the device is holstered, so an opened switch (pin high) means "drawn".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from gpiozero import LED, Buzzer, DigitalInputDevice, DigitalOutputDevice

from hal.clock import Clock
from hal.indicators import LED_NAMES, PATTERNS, Indicators
from hal.inputs import INPUT_NAMES, Inputs

__all__ = ["GpioIndicators", "GpioInputs"]


class GpioInputs(Inputs):
    """Every input of INPUT_NAMES on the GPIO pin that ``pins`` maps its name to."""

    def __init__(self, *, clock: Clock, pins: Mapping[str, int], pin_factory: Any) -> None:
        super().__init__()
        self._clock = clock
        self._devices: dict[str, Any] = {}
        try:
            for name in INPUT_NAMES:
                device = DigitalInputDevice(pins[name], pull_up=True, pin_factory=pin_factory)
                device.when_activated = self._edge_handler(name, True)
                device.when_deactivated = self._edge_handler(name, False)
                self._devices[name] = device
        except BaseException:
            self._close()
            raise

    def _edge_handler(self, name: str, active: bool) -> Callable[[], None]:
        pressed = not active if name == "holster" else active

        def on_edge() -> None:
            self._emit(name, pressed, self._clock.monotonic())

        return on_edge

    def _is_active(self, name: str) -> bool:
        active = bool(self._devices[name].is_active)
        return not active if name == "holster" else active

    def _close(self) -> None:
        for device in self._devices.values():
            device.close()


class GpioIndicators(Indicators):
    """Three LEDs, a haptic motor and a buzzer, on pins ``led_<name>``, ``haptic``, ``buzzer``."""

    def __init__(self, *, clock: Clock, pins: Mapping[str, int], pin_factory: Any) -> None:
        super().__init__()
        self._clock = clock
        self._outputs: list[Any] = []
        try:
            self._leds = {
                name: self._own(LED(pins[f"led_{name}"], pin_factory=pin_factory))
                for name in LED_NAMES
            }
            self._motor = self._own(DigitalOutputDevice(pins["haptic"], pin_factory=pin_factory))
            self._buzzer = self._own(Buzzer(pins["buzzer"], pin_factory=pin_factory))
        except BaseException:
            self._close()
            raise
        # A pattern's pending steps check their generation, so a newer pattern (or silence)
        # cancels the rest of an older one.
        self._generation = {id(self._motor): 0, id(self._buzzer): 0}
        self._pattern_lock = threading.Lock()

    def _own(self, device: Any) -> Any:
        self._outputs.append(device)
        return device

    def _set_led(self, name: str, on: bool) -> None:
        self._leds[name].value = on

    def _haptic(self, pattern: str) -> None:
        self._play(self._motor, pattern)

    def _beep(self, pattern: str) -> None:
        self._play(self._buzzer, pattern)

    def _silence(self) -> None:
        for device in (self._motor, self._buzzer):
            with self._pattern_lock:
                self._generation[id(device)] += 1
            device.off()

    def _play(self, device: Any, pattern: str) -> None:
        with self._pattern_lock:
            self._generation[id(device)] += 1
            generation = self._generation[id(device)]
        t = self._clock.monotonic()
        device.on()
        first = True
        for on_s, off_s in PATTERNS[pattern]:
            if not first:
                self._clock.call_at(t, self._step(device, generation, True))
            first = False
            t += on_s
            self._clock.call_at(t, self._step(device, generation, False))
            t += off_s

    def _step(self, device: Any, generation: int, on: bool) -> Callable[[], None]:
        def step() -> None:
            with self._pattern_lock:
                if self._generation[id(device)] != generation:
                    return
                device.value = on

        return step

    def _close(self) -> None:
        for device in self._outputs:
            device.close()
