"""The Backend contract and the two value types that cross it: DeviceSettings in, Devices out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hal.battery import Battery
from hal.camera import Camera
from hal.clock import Clock
from hal.errors import BackendError
from hal.gnss import Gnss
from hal.indicators import Indicators
from hal.inputs import Inputs
from hal.keystore import KeyStore
from hal.microphone import Microphone
from hal.storage import Storage

__all__ = ["DEFAULT_PINS", "OUTPUT_PINS", "Backend", "DeviceSettings", "Devices", "Speed"]

Speed = Literal["max", "realtime"]

OUTPUT_PINS: tuple[str, ...] = (
    "led_recording",
    "led_status",
    "led_warning",
    "led_mute",
    "haptic",
    "buzzer",
)

# BCM numbers. GPIO 2/3 (I2C fuel gauge), 8/9 (UART4, the GNSS receiver), 14/15 (serial
# console) and 18-21 (I2S, the microphone) are deliberately left free.
DEFAULT_PINS: dict[str, int] = {
    "record": 17,
    "mute": 27,
    "marker": 22,
    "stealth": 23,
    "holster": 24,
    "trigger": 25,
    "led_recording": 5,
    "led_status": 6,
    "led_warning": 13,
    "led_mute": 16,
    "haptic": 12,
    "buzzer": 26,
}


@dataclass
class DeviceSettings:
    """What a backend needs to build the devices; validated on construction (ValueError).

    ``pins`` may name only some pins: the rest come from DEFAULT_PINS. ``speed`` and
    ``storage_capacity_bytes`` matter to the simulator only; a hardware backend ignores them.
    """

    device_id: str
    width: int
    height: int
    fps: int
    bitrate: int  # bit/s
    keyframe_interval_s: float
    state_dir: Path
    evidence_dir: Path
    pins: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PINS))
    speed: Speed = "max"
    clock_never_set: bool = False
    storage_capacity_bytes: int | None = None
    gnss: bool = True
    gpsd_host: str = "127.0.0.1"
    gpsd_port: int = 2947
    audio: bool = True
    audio_device: str = "default"
    """The ALSA capture device (Pi only)."""
    audio_bitrate: int = 64_000

    def __post_init__(self) -> None:
        if not self.device_id:
            raise ValueError("device_id must not be empty")
        for key in ("width", "height", "fps", "bitrate"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        if self.width % 2 or self.height % 2:
            raise ValueError(f"width and height must be even, got {self.width}x{self.height}")
        if not self.keyframe_interval_s > 0:
            raise ValueError(f"keyframe_interval_s must be > 0, got {self.keyframe_interval_s!r}")
        if self.speed not in ("max", "realtime"):
            raise ValueError(f"speed must be 'max' or 'realtime', got {self.speed!r}")
        unknown = sorted(set(self.pins) - set(DEFAULT_PINS))
        if unknown:
            raise ValueError(f"unknown pin names {unknown}; known: {', '.join(DEFAULT_PINS)}")
        self.pins = {**DEFAULT_PINS, **self.pins}
        numbers = list(self.pins.values())
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"two functions share one pin: {self.pins}")
        if isinstance(self.gpsd_port, bool) or not 1 <= self.gpsd_port <= 65535:
            raise ValueError(f"gpsd_port must be a TCP port 1..65535, got {self.gpsd_port!r}")
        if isinstance(self.audio_bitrate, bool) or not 64_000 <= self.audio_bitrate <= 96_000:
            raise ValueError(
                f"audio_bitrate must be 64000..96000 bit/s, got {self.audio_bitrate!r}"
            )
        if self.storage_capacity_bytes is not None and self.storage_capacity_bytes <= 0:
            raise ValueError("storage_capacity_bytes must be positive")

    @property
    def keyframe_interval_frames(self) -> int:
        """The GOP length in frames: keyframes fall exactly every this many frames."""
        return max(1, round(self.fps * self.keyframe_interval_s))


@dataclass(frozen=True)
class Devices:
    """One device's worth of hardware, as built by :meth:`Backend.create`."""

    camera: Camera
    clock: Clock
    inputs: Inputs
    indicators: Indicators
    battery: Battery
    storage: Storage
    keystore: KeyStore
    gnss: Gnss | None = None
    """The GNSS receiver, None when the configuration has none (``gnss.enabled = false``)."""
    microphone: Microphone | None = None
    """The microphone, None when the configuration has none (``audio.enabled = false``)."""

    def close(self) -> None:
        """Close every device, camera first; safe to call twice."""
        for device in (
            self.camera,
            self.microphone,
            self.gnss,
            self.inputs,
            self.indicators,
            self.battery,
            self.storage,
            self.clock,
        ):
            if device is not None:
                device.close()


class Backend(ABC):
    """A family of devices (real or simulated) that the recorder can be run on.

    MUST override: ``name`` (class attribute) and :meth:`create`.
    MAY override: :meth:`play`, if the backend can replay scenarios (the simulator does).
    """

    name: str = "?"

    @abstractmethod
    def create(self, settings: DeviceSettings) -> Devices:
        """Open every device. Raise DeviceError (or BackendError) if one cannot be opened."""

    def play(self, devices: Devices, scenario_path: Path, on_finished: Callable[[], None]) -> None:
        """Schedule a scenario's timeline on ``devices``; call ``on_finished`` at its end."""
        raise BackendError(f"backend {self.name!r} cannot play scenarios")
