"""The scenario grammar: TOML timelines of simulator verbs, loaded and validated strictly.

A scenario file::

    name = "patrol"              # required, a non-empty string
    duration = 600.0             # required, seconds of virtual time > 0; on_finished() then
    description = "..."          # optional
    start = 2024-06-01T00:00:00Z # optional: pin the wall clock's start (a TOML date-time with
                                 # an offset, after 1970); else it starts at the host's time.
                                 # Either way never before an earlier boot's last wall time.
    [route]                      # optional: waypoints and spans with no fix (sim.route);
                                 # played through a real gpsd (gpsfake), which must be installed
    [sound]                      # optional: the microphone's world (sim.sound)
    claps_every = 10.0           #   a flash in the picture and a click in the sound, this often
    skew_ppm = 50.0              #   the microphone's crystal runs this fast (- for slow)

    [[step]]                     # any number of steps; "step 1" is the first in the file
    at = 30.0                    # required, seconds after play() began, 0 <= at <= duration
    do = "press"                 # required, one of ACTIONS below
    input = "record"             # the keys the action takes, and no others

Actions and their keys (``input`` is one of record, mute, marker, stealth, trigger)::

    press, release    input
    hold              input, seconds > 0       press now, release ``seconds`` later
    draw, holster     -                        the holster sensor
    trigger           -                        a pulse on the external trigger line
    storage_fill      fraction in 0..1         fill the volume with other data
    storage_fail      error = "ENOSPC"|"EIO"   guard() raises it from then on
    camera_stall      seconds > 0              no frames for that long
    clock_jump        seconds (finite, +/-)    the wall clock steps; monotonic time does not
    battery           percent in 0..100, optional charging = true|false
    power_cut         -                        SIGKILL to this very process: a real crash
    say               text (1-500 characters)  the microphone hears it (espeak-ng speaks it)
    mic_fail          error = "missing"|"overrun", seconds > 0
                                               the microphone is gone, or loses samples

Integers are accepted where numbers are expected; booleans, NaN and infinities are not. Every
violation raises ScenarioError naming the step number, the key and what is allowed.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hal.errors import BackendError
from sim.route import Route, RouteError, parse_route

__all__ = [
    "ACTIONS",
    "BUTTONS",
    "Scenario",
    "ScenarioError",
    "Step",
    "load_scenario",
    "parse_scenario",
    "shipped_scenario",
    "shipped_scenarios",
]

SCENARIO_DIR = Path(__file__).parent / "scenarios"
BUTTONS: tuple[str, ...] = ("record", "mute", "marker", "stealth", "trigger")


class ScenarioError(BackendError):
    """A scenario file is not valid; ``step`` (1-based) and ``key`` say where, when known."""

    def __init__(self, message: str, *, step: int | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.key = key


class _Invalid(Exception):
    """A value does not fit its key (turned into a ScenarioError with the place attached)."""


@dataclass(frozen=True)
class _Key:
    check: Callable[[object], object]
    allowed: str
    required: bool = True


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Invalid
    return float(value)


def _key(check: Callable[[float], bool], allowed: str, required: bool = True) -> _Key:
    def validate(value: object) -> object:
        number = _number(value)
        if not check(number):
            raise _Invalid
        return number

    return _Key(validate, allowed, required)


def _choice(choices: tuple[str, ...]) -> _Key:
    def validate(value: object) -> object:
        if value not in choices:
            raise _Invalid
        return value

    return _Key(validate, "one of " + ", ".join(repr(c) for c in choices))


def _text(value: object) -> object:
    if not isinstance(value, str) or not 1 <= len(value) <= 500 or not value.isprintable():
        raise _Invalid
    return value


def _boolean(value: object) -> object:
    if not isinstance(value, bool):
        raise _Invalid
    return value


_INPUT = _choice(BUTTONS)
_SECONDS = _key(lambda x: x > 0, "a number of seconds > 0")

ACTIONS: dict[str, dict[str, _Key]] = {
    "press": {"input": _INPUT},
    "release": {"input": _INPUT},
    "hold": {"input": _INPUT, "seconds": _SECONDS},
    "draw": {},
    "holster": {},
    "trigger": {},
    "storage_fill": {"fraction": _key(lambda x: 0 <= x <= 1, "a number within 0..1")},
    "storage_fail": {"error": _choice(("ENOSPC", "EIO"))},
    "camera_stall": {"seconds": _SECONDS},
    "clock_jump": {"seconds": _key(lambda x: True, "a finite number of seconds (+ or -)")},
    "battery": {
        "percent": _key(lambda x: 0 <= x <= 100, "a number within 0..100"),
        "charging": _Key(_boolean, "true or false", required=False),
    },
    "power_cut": {},
    "say": {"text": _Key(_text, "printable text of 1-500 characters")},
    "mic_fail": {"error": _choice(("missing", "overrun")), "seconds": _SECONDS},
}

SOUND: dict[str, _Key] = {
    "claps_every": _key(lambda x: x > 0, "a number of seconds > 0", required=False),
    "skew_ppm": _key(lambda x: abs(x) <= 1000, "a number of ppm within -1000..1000", False),
}


@dataclass(frozen=True)
class Step:
    """One validated step: ``args`` holds the action's keys other than ``at`` and ``do``."""

    number: int
    at: float
    do: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    duration: float
    steps: tuple[Step, ...]
    description: str = ""
    start: float | None = None  # the pinned wall-clock start, UTC epoch seconds
    route: Route | None = None  # where the receiver is, through gpsd (sim.route)
    sound: Mapping[str, float] | None = None  # the [sound] table's keys, checked

    @property
    def hears(self) -> bool:
        """Whether the scenario needs a microphone: a [sound] table, or a say or mic_fail step."""
        return self.sound is not None or any(s.do in ("say", "mic_fail") for s in self.steps)


def load_scenario(path: Path) -> Scenario:
    """Read and validate the scenario file at ``path``."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from exc
    return parse_scenario(data, source=str(path))


def parse_scenario(data: Mapping[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario already parsed from TOML."""
    top = {"name", "duration", "description", "start", "route", "sound", "step"}
    for key in data:
        if key not in top:
            allowed = ", ".join(sorted(top))
            raise ScenarioError(
                f"{source}: unknown top-level key {key!r}; allowed: {allowed}", key=key
            )
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{source}: key 'name' must be a non-empty string", key="name")
    try:
        duration = _number(data.get("duration"))
        if duration <= 0:
            raise _Invalid
    except _Invalid:
        raise ScenarioError(
            f"{source}: key 'duration' must be a number of seconds > 0, "
            f"got {data.get('duration')!r}",
            key="duration",
        ) from None
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(f"{source}: key 'description' must be a string", key="description")
    start = _start(data["start"], source) if "start" in data else None
    try:
        route = parse_route(data["route"], duration) if "route" in data else None
    except RouteError as exc:
        raise ScenarioError(f"{source}: {exc}", key="route") from None
    sound = _table(data["sound"], SOUND, f"{source}: [sound]") if "sound" in data else None
    raw_steps = data.get("step", [])
    if not isinstance(raw_steps, list):
        raise ScenarioError(f"{source}: 'step' must be an array of tables ([[step]])", key="step")
    steps = tuple(
        _parse_step(raw, number, duration, source) for number, raw in enumerate(raw_steps, 1)
    )
    return Scenario(name, duration, steps, description, start, route, sound)


def _table(
    raw: object, schema: Mapping[str, _Key], where: str, step: int | None = None
) -> dict[str, Any]:
    """Check a table's keys against ``schema``: ScenarioError naming the key and what is
    allowed."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a table", step=step)
    for key in raw:
        if key not in schema:
            allowed = ", ".join(schema)
            raise ScenarioError(
                f"{where}: unknown key {key!r}; allowed keys: {allowed}", step=step, key=key
            )
    out: dict[str, Any] = {}
    for key, spec in schema.items():
        if key not in raw:
            if spec.required:
                raise ScenarioError(
                    f"{where}: missing key {key!r}; allowed: {spec.allowed}", step=step, key=key
                )
            continue
        try:
            out[key] = spec.check(raw[key])
        except _Invalid:
            raise ScenarioError(
                f"{where}: key {key!r}: got {raw[key]!r}; allowed: {spec.allowed}",
                step=step,
                key=key,
            ) from None
    return out


def _start(value: object, source: str) -> float:
    if isinstance(value, datetime) and value.tzinfo is not None:
        epoch = value.timestamp()
        if epoch > 0:
            return epoch
    raise ScenarioError(
        f"{source}: key 'start': got {value!r}; allowed: a TOML date-time with an offset, "
        "after 1970, such as start = 2024-06-01T00:00:00Z",
        key="start",
    )


def _parse_step(raw: object, number: int, duration: float, source: str) -> Step:
    where = f"{source}: step {number}"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a table ([[step]])", step=number)
    do = raw.get("do")
    if do not in ACTIONS:
        got = "missing" if "do" not in raw else f"got {do!r}"
        raise ScenarioError(
            f"{where}: key 'do': {got}; allowed: {', '.join(ACTIONS)}", step=number, key="do"
        )
    where = f"{where} (do = {do!r})"
    schema = ACTIONS[do]
    for key in raw:
        if key not in schema and key not in ("at", "do"):
            allowed = ", ".join(["at", "do", *schema])
            raise ScenarioError(
                f"{where}: unknown key {key!r}; allowed keys: {allowed}", step=number, key=key
            )
    at = raw.get("at")
    try:
        at_s = _number(at)
        if not 0 <= at_s <= duration:
            raise _Invalid
    except _Invalid:
        got = "missing" if "at" not in raw else f"got {at!r}"
        raise ScenarioError(
            f"{where}: key 'at': {got}; allowed: a number of seconds within 0..{duration:g}",
            step=number,
            key="at",
        ) from None
    args = _table({k: v for k, v in raw.items() if k in schema}, schema, where, number)
    return Step(number, at_s, do, args)


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios that ship with the simulator, by name (file stem)."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.toml"))}


def shipped_scenario(name: str) -> Path:
    """The path of the shipped scenario ``name``; ScenarioError listing them if unknown."""
    shipped = shipped_scenarios()
    if name not in shipped:
        raise ScenarioError(f"no shipped scenario {name!r}; shipped: {', '.join(shipped)}")
    return shipped[name]
