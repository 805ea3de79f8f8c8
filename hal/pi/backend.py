"""PiBackend: the real devices of a Raspberry Pi camera, opened in one go.

This module imports only ``hal``; picamera2, lgpio and smbus2 are imported by :meth:`create`
(through the device modules), so ``load_backend("pi")`` works anywhere and a missing library
shows up as a BackendError naming the backend and the module when the devices are opened.

Devices: PiCamera (picamera2), PiClock (system clock, timesyncd, RTC), GPIO inputs and
indicators on gpiozero's LGPIOFactory with the pins of DeviceSettings, the MAX17048 fuel gauge
on I2C bus 1 at 0x36, the GNSS receiver through gpsd (PiGnss; gpsd owns the UART), the
microphone on ALSA (PiMicrophone, pyalsaaudio: opened at its start, so a missing one is a
fault then and never stops the others from opening), the evidence volume measured with
statvfs, and the device key in ``<state_dir>/device.key``. ``speed``, ``clock_never_set`` and
``storage_capacity_bytes`` are simulator settings and are ignored here.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from hal.backend import Backend, Devices, DeviceSettings
from hal.errors import BackendError
from hal.keystore import FileKeyStore
from hal.pi.battery import MAX17048_ADDRESS, Max17048Battery
from hal.pi.camera import PiCamera, import_picamera2
from hal.pi.clock import PiClock
from hal.pi.gnss import PiGnss
from hal.pi.gpio import open_gpio, open_pin_factory
from hal.pi.microphone import PiMicrophone
from hal.storage import StatvfsStorage

__all__ = ["I2C_BUS", "PiBackend"]

log = logging.getLogger(__name__)

I2C_BUS = 1  # the header's I2C (GPIO 2 and 3)


class PiBackend(Backend):
    """Builds the Pi's devices.

    ``picamera2_module``, ``pin_factory``, ``smbus`` and ``alsaaudio_module`` replace the real
    libraries (tests pass gpiozero's MockFactory, a fake bus and a fake alsaaudio, and run the
    real picamera2); ``clock`` replaces PiClock.
    """

    name = "pi"

    def __init__(
        self,
        *,
        picamera2_module: Any = None,
        pin_factory: Any = None,
        smbus: Any = None,
        clock: PiClock | None = None,
        alsaaudio_module: Any = None,
    ) -> None:
        self._picamera2 = picamera2_module
        self._pin_factory = pin_factory
        self._smbus = smbus
        self._clock = clock
        self._alsaaudio = alsaaudio_module

    def create(self, settings: DeviceSettings) -> Devices:
        # Every library first, so a missing one fails before any device is opened.
        picamera2 = import_picamera2() if self._picamera2 is None else self._picamera2
        if self._pin_factory is None:
            _require("lgpio", "gpiozero.pins.lgpio")
        if self._smbus is None:
            _require("smbus2", "smbus2")
        keystore = FileKeyStore(settings.state_dir / "device.key")
        opened: list[Any] = []
        try:
            clock = self._clock if self._clock is not None else PiClock()
            opened.append(clock)
            camera = PiCamera(
                clock=clock,
                width=settings.width,
                height=settings.height,
                fps=settings.fps,
                bitrate=settings.bitrate,
                keyframe_interval_s=settings.keyframe_interval_s,
                device_id=settings.device_id,
                picamera2_module=picamera2,
            )
            opened.append(camera)
            factory = open_pin_factory() if self._pin_factory is None else self._pin_factory
            inputs, indicators = open_gpio(clock=clock, pins=settings.pins, pin_factory=factory)
            opened += [inputs, indicators]
            battery = Max17048Battery(bus=I2C_BUS, address=MAX17048_ADDRESS, smbus=self._smbus)
            opened.append(battery)
            gnss = None
            if settings.gnss:
                gnss = PiGnss(clock=clock, host=settings.gpsd_host, port=settings.gpsd_port)
            microphone = None
            if settings.audio:
                microphone = PiMicrophone(
                    clock=clock,
                    device=settings.audio_device,
                    bitrate=settings.audio_bitrate,
                    alsaaudio_module=self._alsaaudio,
                )
        except BaseException:
            for device in reversed(opened):
                try:
                    device.close()
                except Exception:
                    log.exception("closing %r after a failed start failed", device)
            raise
        return Devices(
            camera=camera,
            clock=clock,
            inputs=inputs,
            indicators=indicators,
            battery=battery,
            storage=StatvfsStorage(settings.evidence_dir),
            keystore=keystore,
            gnss=gnss,
            microphone=microphone,
        )


def _require(library: str, module: str) -> None:
    """Import ``module`` now, so that its absence is reported before any device is opened."""
    try:
        importlib.import_module(module)
    except Exception as exc:
        raise BackendError(
            f"backend 'pi': cannot import {library} ({type(exc).__name__}: {exc})"
        ) from exc
