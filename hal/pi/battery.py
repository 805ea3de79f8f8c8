"""Max17048Battery: a MAX17048 ModelGauge fuel gauge read over I2C with smbus2.

Registers are 16 bits, most significant byte first (so they are read as a two-byte I2C block,
not with SMBus ``read_word_data``, which is little-endian). From the datasheet:

- VCELL (0x02): cell voltage, 78.125 uV per LSB.
- SOC (0x04): state of charge; the high byte is whole percent, the low byte 1/256 percent.
- CRATE (0x16): charge or discharge rate, signed two's complement, 0.208 %/hour per LSB;
  positive while charging.

``charging`` is CRATE > 0. ``minutes_left`` is SOC divided by the discharge rate while CRATE is
negative, else None. The gauge sits at I2C address 0x36 on bus 1 (GPIO 2/3) unless told otherwise.
"""

from __future__ import annotations

from typing import Any

from hal.battery import Battery, BatteryState
from hal.errors import BackendError, DeviceError

__all__ = [
    "CRATE_PERCENT_PER_HOUR",
    "MAX17048_ADDRESS",
    "REG_CRATE",
    "REG_SOC",
    "REG_VCELL",
    "VCELL_VOLTS",
    "Max17048Battery",
    "open_smbus",
]

MAX17048_ADDRESS = 0x36
REG_VCELL = 0x02
REG_SOC = 0x04
REG_CRATE = 0x16
VCELL_VOLTS = 78.125e-6  # per LSB
CRATE_PERCENT_PER_HOUR = 0.208  # per LSB


def open_smbus(bus: int) -> Any:
    """smbus2's SMBus on ``/dev/i2c-<bus>``: BackendError if smbus2 is missing, else DeviceError."""
    try:
        from smbus2 import SMBus
    except Exception as exc:
        raise BackendError(
            f"backend 'pi': cannot import smbus2 ({type(exc).__name__}: {exc})"
        ) from exc
    try:
        return SMBus(bus)
    except Exception as exc:
        raise DeviceError(
            f"fuel gauge: cannot open I2C bus {bus} (/dev/i2c-{bus}): {type(exc).__name__}: {exc}"
        ) from exc


class Max17048Battery(Battery):
    """The battery as the MAX17048 sees it.

    ``smbus`` is any object with smbus2's ``read_i2c_block_data(address, register, length)`` (a
    fake in tests); without it, ``/dev/i2c-<bus>`` is opened and closed again by :meth:`close`.
    A failed read raises DeviceError naming the bus, the address and the register.
    """

    def __init__(self, *, bus: int = 1, address: int = MAX17048_ADDRESS, smbus: Any = None) -> None:
        self._bus_number = bus
        self._address = address
        self._owns_bus = smbus is None
        self._bus = open_smbus(bus) if smbus is None else smbus
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_bus:
            self._bus.close()

    def _register(self, register: int) -> int:
        if self._closed:
            raise DeviceError("fuel gauge is closed")
        try:
            msb, lsb = self._bus.read_i2c_block_data(self._address, register, 2)
        except (OSError, ValueError, TypeError) as exc:
            raise DeviceError(
                f"fuel gauge MAX17048 on I2C bus {self._bus_number} address "
                f"0x{self._address:02x}: reading register 0x{register:02x} failed: {exc}"
            ) from exc
        return (int(msb) & 0xFF) << 8 | (int(lsb) & 0xFF)

    def _read(self) -> BatteryState:
        volts = self._register(REG_VCELL) * VCELL_VOLTS
        percent = self._register(REG_SOC) / 256
        raw = self._register(REG_CRATE)
        rate = (raw - 0x10000 if raw & 0x8000 else raw) * CRATE_PERCENT_PER_HOUR
        minutes = percent / -rate * 60 if rate < 0 else None
        return BatteryState(percent, volts, rate > 0, minutes)
