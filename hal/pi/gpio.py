"""The Pi's buttons and indicators: :mod:`hal.gpio`'s devices on gpiozero's lgpio pin factory.

The factory is made here, explicitly, so gpiozero's own fallback chain (lgpio, RPi.GPIO, pigpio,
native) is never consulted: a Pi whose lgpio cannot load fails loudly instead of running on
another factory. lgpio opens ``/dev/gpiochipN`` (the ``gpio`` group may) and, on import, creates
its notification pipes (``.lgd-nfy*``) in the current directory, which must be writable: the
systemd unit runs the daemon in its RuntimeDirectory for that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hal.clock import Clock
from hal.errors import BackendError, DeviceError
from hal.gpio import GpioIndicators, GpioInputs

__all__ = ["open_gpio", "open_pin_factory"]


def open_pin_factory(chip: int | None = None) -> Any:
    """gpiozero's LGPIOFactory on gpiochip ``chip`` (None: gpiozero picks the Pi's header chip).

    BackendError when lgpio cannot be imported, DeviceError when the chip cannot be opened.
    """
    try:
        from gpiozero.pins.lgpio import LGPIOFactory
    except Exception as exc:
        raise BackendError(
            f"backend 'pi': cannot import lgpio through gpiozero.pins.lgpio "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    try:
        return LGPIOFactory(chip=chip)
    except Exception as exc:
        where = "the Pi's gpiochip" if chip is None else f"/dev/gpiochip{chip}"
        raise DeviceError(f"GPIO: cannot open {where}: {type(exc).__name__}: {exc}") from exc


def open_gpio(
    *, clock: Clock, pins: Mapping[str, int], pin_factory: Any
) -> tuple[GpioInputs, GpioIndicators]:
    """Inputs and indicators on ``pins`` (BCM numbers); DeviceError if a pin cannot be claimed."""
    try:
        inputs = GpioInputs(clock=clock, pins=pins, pin_factory=pin_factory)
    except Exception as exc:
        raise DeviceError(f"GPIO inputs: {type(exc).__name__}: {exc}") from exc
    try:
        indicators = GpioIndicators(clock=clock, pins=pins, pin_factory=pin_factory)
    except Exception as exc:
        inputs.close()
        raise DeviceError(f"GPIO outputs: {type(exc).__name__}: {exc}") from exc
    return inputs, indicators
