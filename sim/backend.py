"""SimBackend: builds a complete simulated device and plays scenarios on it.

Everything runs in this process: one MockFactory for the pins, one SimClock shared by all
devices, the device key made by provisioning (as on a real camera). Virtual time moves once the
camera has been started (see ``sim.camera``), or when a test advances the clock. The clock keeps
its mark in the state directory (``sim.wallmark``), so wall time never goes backwards across
boots of one device; a scenario may pin its start, if it is played before the wall time is read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from hal.backend import Backend, Devices, DeviceSettings
from hal.errors import BackendError
from hal.keystore import FileKeyStore
from sim.battery import SimBattery
from sim.camera import SimCamera
from sim.clock import SimClock
from sim.gnss import SimGnss
from sim.indicators import SimIndicators
from sim.inputs import SimInputs
from sim.microphone import SimMicrophone
from sim.player import schedule
from sim.scenario import ScenarioError, load_scenario
from sim.storage import DEFAULT_CAPACITY, SimStorage
from sim.wallmark import WallMark

__all__ = ["SimBackend", "SimDevices"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimDevices(Devices):
    """Devices with their simulator types, so that tests reach the verbs without casts."""

    camera: SimCamera
    clock: SimClock
    inputs: SimInputs
    indicators: SimIndicators
    battery: SimBattery
    storage: SimStorage
    gnss: SimGnss | None = None
    microphone: SimMicrophone | None = None


class SimBackend(Backend):
    """The simulator: every device in software, on one virtual clock."""

    name = "sim"

    def create(self, settings: DeviceSettings) -> SimDevices:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        settings.evidence_dir.mkdir(parents=True, exist_ok=True)
        # Like a real device, the simulator must be provisioned: it never makes up a key.
        keystore = FileKeyStore(settings.state_dir / "device.key")
        factory = MockFactory()
        mark = WallMark.in_state_dir(settings.state_dir)
        clock = SimClock(never_set=settings.clock_never_set, mark=mark)
        log.info(
            "simulated clock starts at %s (source %s)%s",
            _utc(clock.wall_start),
            clock.source,
            "" if mark.floor is None else f", after the last boot's {_utc(mark.floor)}",
        )
        microphone = (
            SimMicrophone(clock=clock, bitrate=settings.audio_bitrate) if settings.audio else None
        )
        camera = SimCamera(
            clock=clock,
            width=settings.width,
            height=settings.height,
            fps=settings.fps,
            bitrate=settings.bitrate,
            keyframe_interval_s=settings.keyframe_interval_s,
            device_id=settings.device_id,
            speed=settings.speed,
            sound=microphone.sound if microphone is not None else None,
        )
        capacity = settings.storage_capacity_bytes or DEFAULT_CAPACITY
        return SimDevices(
            camera=camera,
            clock=clock,
            inputs=SimInputs(clock=clock, pins=settings.pins, pin_factory=factory),
            indicators=SimIndicators(clock=clock, pins=settings.pins, pin_factory=factory),
            battery=SimBattery(clock=clock),
            storage=SimStorage(settings.evidence_dir, capacity, clock=clock),
            keystore=keystore,
            gnss=SimGnss(clock=clock) if settings.gnss else None,
            microphone=microphone,
        )

    def play(self, devices: Devices, scenario_path: Path, on_finished: Callable[[], None]) -> None:
        """Validate the scenario (ScenarioError if bad), pin the clock's start if it says so,
        and schedule it from the present. Pinning needs a clock whose wall time was not read yet.
        """
        if not isinstance(devices, SimDevices):
            raise BackendError("backend 'sim' can play scenarios only on devices it created")
        scenario = load_scenario(scenario_path)
        if scenario.route is not None and devices.gnss is None:
            raise ScenarioError(
                f"{scenario_path}: key 'route': this device has no receiver "
                "(gnss.enabled = false in its configuration)",
                key="route",
            )
        if scenario.hears and devices.microphone is None:
            raise ScenarioError(
                f"{scenario_path}: a [sound] table, or a say or mic_fail step: this device has no "
                "microphone (audio.enabled = false in its configuration)",
                key="sound",
            )
        if scenario.sound is not None and devices.microphone is not None:
            mic = devices.microphone
            mic.skew_ppm = scenario.sound.get("skew_ppm", 0.0)
            mic.sound.claps_every_s = scenario.sound.get("claps_every")
        if scenario.start is not None:
            try:
                started = devices.clock.pin_start(scenario.start)
            except ValueError as exc:
                raise ScenarioError(
                    f"{scenario_path}: key 'start': cannot pin the clock: {exc}", key="start"
                ) from None
            later = "" if started == scenario.start else " (after the last boot's wall time)"
            log.info(
                "scenario %r pins the clock's start: %s%s", scenario.name, _utc(started), later
            )
        try:
            schedule(scenario, devices, on_finished)
        except RuntimeError as exc:  # espeak-ng is missing or failed: say so, play nothing
            raise ScenarioError(f"{scenario_path}: a say step cannot be spoken: {exc}") from None


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
