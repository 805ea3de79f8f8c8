"""The scenario player: schedules a validated scenario's steps on the simulated devices' clock.

Each step runs at ``start + at`` on whichever thread advances the SimClock (normally the
camera's), through the same verbs a test would call. Steps due at the same time run in file
order; the end (``on_finished``) runs after every step due at ``duration``.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from sim.scenario import Scenario, Step
from sim.sound import speak

if TYPE_CHECKING:
    from sim.backend import SimDevices
    from sim.microphone import SimMicrophone

__all__ = ["schedule"]

log = logging.getLogger(__name__)


def schedule(scenario: Scenario, devices: SimDevices, on_finished: Callable[[], None]) -> None:
    """Register every step of ``scenario``, then its end, relative to the clock's present.

    A ``say`` step is spoken now (espeak-ng, RuntimeError if it cannot be), so that the step
    itself only plays the samples."""
    steps = [
        replace(s, args={**s.args, "samples": speak(s.args["text"])}) if s.do == "say" else s
        for s in scenario.steps
    ]
    clock = devices.clock
    start = clock.monotonic()
    for step in steps:
        clock.call_at(start + step.at, _runner(devices, step))
    clock.call_at(start + scenario.duration, on_finished)
    if scenario.route is not None and devices.gnss is not None:
        devices.gnss.follow(scenario.route, scenario.duration)
    log.info(
        "scenario %r scheduled: %d steps over %gs",
        scenario.name,
        len(scenario.steps),
        scenario.duration,
    )


def _runner(devices: SimDevices, step: Step) -> Callable[[], None]:
    def run() -> None:
        log.info("scenario step %d at %.3fs: %s %s", step.number, step.at, step.do, step.args)
        _ACTIONS[step.do](devices, step)

    return run


def _press(d: SimDevices, s: Step) -> None:
    d.inputs.press(s.args["input"])


def _release(d: SimDevices, s: Step) -> None:
    d.inputs.release(s.args["input"])


def _hold(d: SimDevices, s: Step) -> None:
    d.inputs.hold(s.args["input"], s.args["seconds"])


def _battery(d: SimDevices, s: Step) -> None:
    d.battery.set_percent(s.args["percent"])
    if s.args.get("charging") is True:
        d.battery.charge()
    elif s.args.get("charging") is False:
        d.battery.unplug()


def _power_cut(d: SimDevices, s: Step) -> None:
    # A real crash: no cleanup, no flush, no atexit. Whatever is not on disk is lost.
    log.critical("scenario step %d: power cut (SIGKILL to pid %d)", s.number, os.getpid())
    os.kill(os.getpid(), signal.SIGKILL)


def _microphone(d: SimDevices) -> SimMicrophone:
    assert d.microphone is not None  # SimBackend.play refuses a scenario that hears without one
    return d.microphone


_ACTIONS: dict[str, Callable[[SimDevices, Step], None]] = {
    "press": _press,
    "release": _release,
    "hold": _hold,
    "draw": lambda d, s: d.inputs.draw(),
    "holster": lambda d, s: d.inputs.holster(),
    "trigger": lambda d, s: d.inputs.trigger(),
    "storage_fill": lambda d, s: d.storage.fill_to(s.args["fraction"]),
    "storage_fail": lambda d, s: d.storage.inject(s.args["error"]),
    "camera_stall": lambda d, s: d.camera.stall(s.args["seconds"]),
    "clock_jump": lambda d, s: d.clock.jump(s.args["seconds"]),
    "battery": _battery,
    "power_cut": _power_cut,
    "say": lambda d, s: _microphone(d).sound.play(d.clock.monotonic(), s.args["samples"]),
    "mic_fail": lambda d, s: _microphone(d).fail(s.args["error"], s.args["seconds"]),
}
