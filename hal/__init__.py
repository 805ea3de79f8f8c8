"""bodycam hardware-abstraction layer: device contracts, the backend registry, shared devices.

``hal`` imports nothing from ``recorder`` or ``sim``. The recorder reaches a backend only through
:func:`load_backend`, by name; a backend that is unknown or cannot load raises, it never falls back
to another one.

Exception tree::

    HalError                 anything raised by hal or a backend
    ├── BackendError         unknown backend, import failure, unsupported operation
    └── DeviceError          a device cannot be opened or used (missing, insecure, closed)
        └── GpsdError        gpsd cannot be reached, or sent what is not its protocol

Storage faults are not HalErrors: :meth:`Storage.guard` raises ``OSError`` (ENOSPC, EIO) exactly
as the write that follows would, so the evidence writer handles one kind of failure.
"""

from hal.backend import DEFAULT_PINS, Backend, Devices, DeviceSettings
from hal.battery import Battery, BatteryState
from hal.camera import Camera, EncodedFrame, FrameSink
from hal.clock import CLOCK_SOURCES, Clock, SystemClock
from hal.errors import BackendError, DeviceError, HalError
from hal.gnss import Fix, FixSink, Gnss
from hal.indicators import LED_NAMES, PATTERNS, Indicators
from hal.inputs import INPUT_NAMES, InputEvent, Inputs
from hal.keystore import FileKeyStore, KeyStore
from hal.microphone import AudioFormat, AudioPacket, AudioSink, Microphone
from hal.registry import BACKENDS, load_backend
from hal.storage import StatvfsStorage, Storage

__all__ = [
    "BACKENDS",
    "CLOCK_SOURCES",
    "DEFAULT_PINS",
    "INPUT_NAMES",
    "LED_NAMES",
    "PATTERNS",
    "AudioFormat",
    "AudioPacket",
    "AudioSink",
    "Backend",
    "BackendError",
    "Battery",
    "BatteryState",
    "Camera",
    "Clock",
    "DeviceError",
    "DeviceSettings",
    "Devices",
    "EncodedFrame",
    "FileKeyStore",
    "Fix",
    "FixSink",
    "FrameSink",
    "Gnss",
    "HalError",
    "Indicators",
    "InputEvent",
    "Inputs",
    "KeyStore",
    "Microphone",
    "StatvfsStorage",
    "Storage",
    "SystemClock",
    "load_backend",
]
