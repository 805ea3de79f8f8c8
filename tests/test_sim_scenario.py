"""Scenarios: the shipped ones load and play; broken ones are refused, naming step and key."""

from __future__ import annotations

import errno
import itertools
import math
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.backend import DeviceSettings
from hal.errors import BackendError
from hal.inputs import InputEvent
from recorder.evidence.keys import generate
from sim.backend import SimBackend, SimDevices
from sim.clock import SIM_START_WALL
from sim.scenario import (
    ACTIONS,
    ScenarioError,
    load_scenario,
    parse_scenario,
    shipped_scenario,
    shipped_scenarios,
)
from tests.profiles import examples


def sim_settings(tmp: Path) -> DeviceSettings:
    if not (tmp / "state" / "device.key").exists():
        generate("device", tmp / "state")  # provisioned, as a real device must be
    return DeviceSettings(
        device_id="CAM-SCN",
        width=160,
        height=120,
        fps=10,
        bitrate=100_000,
        keyframe_interval_s=1.0,
        state_dir=tmp / "state",
        evidence_dir=tmp / "evidence",
        storage_capacity_bytes=10**9,
    )


@pytest.fixture
def devices(tmp_path: Path) -> Iterator[SimDevices]:
    devs = SimBackend().create(sim_settings(tmp_path))
    yield devs
    devs.close()


def play(devices: SimDevices, name: str) -> tuple[list[InputEvent], list[float]]:
    """Play shipped scenario ``name`` to its end by advancing the clock by hand."""
    events: list[InputEvent] = []
    finished: list[float] = []
    devices.inputs.subscribe(events.append)
    SimBackend().play(
        devices, shipped_scenario(name), lambda: finished.append(devices.clock.monotonic())
    )
    devices.clock.advance(10_000)
    return events, finished


# -- the shipped scenarios ----------------------------------------------------------------------


def test_the_four_scenarios_ship_and_load() -> None:
    shipped = shipped_scenarios()
    assert set(shipped) >= {"patrol", "holster", "storage_full", "power_cut"}
    for name, path in shipped.items():
        assert load_scenario(path).name == name


def test_patrol_has_two_incidents_a_marker_and_a_mute(devices: SimDevices) -> None:
    events, finished = play(devices, "patrol")
    assert finished == [600.0]
    presses = [(e.name, e.t) for e in events if e.pressed]
    assert [n for n, _ in presses].count("record") == 4  # two starts, two long-hold stops
    assert ("marker", 75.0) in presses and ("mute", 360.0) in presses
    holds = [
        (p.t, r.t)
        for p, r in itertools.pairwise(events)
        if p.name == r.name == "record" and p.pressed and not r.pressed and r.t - p.t >= 3
    ]
    assert holds == [(140.0, 143.5), (480.0, 483.5)]


def test_holster_scenario_draws_the_camera(devices: SimDevices) -> None:
    events, _ = play(devices, "holster")
    assert events[0] == InputEvent("holster", True, 20.0)


def test_storage_full_scenario_fills_the_volume_during_recording(devices: SimDevices) -> None:
    devices.clock.advance(0)
    devices.storage.guard(1000)
    play(devices, "storage_full")
    with pytest.raises(OSError) as caught:
        devices.storage.guard(1)
    assert caught.value.errno == errno.ENOSPC


@pytest.mark.slow
def test_a_power_cut_kills_the_process_outright(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from hal.backend import DeviceSettings
        from sim.backend import SimBackend
        from sim.scenario import shipped_scenario
        from recorder.evidence.keys import generate
        generate("device", Path({str(tmp_path)!r}) / "s")
        s = DeviceSettings("CAM-PWR", 160, 120, 10, 100_000, 1.0,
                           Path({str(tmp_path)!r}) / "s", Path({str(tmp_path)!r}) / "e")
        devices = SimBackend().create(s)
        SimBackend().play(devices, shipped_scenario("power_cut"), lambda: print("finished"))
        devices.clock.advance(39.9)
        print("alive", flush=True)
        devices.clock.advance(1000)
        print("survived", flush=True)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout.split() == ["alive"]


def test_scenarios_play_only_on_sim_devices(devices: SimDevices) -> None:
    from hal.backend import Devices

    foreign = Devices(**{f: getattr(devices, f) for f in Devices.__dataclass_fields__})
    with pytest.raises(BackendError, match="only on devices it created"):
        SimBackend().play(foreign, shipped_scenario("patrol"), lambda: None)


# -- broken scenarios ---------------------------------------------------------------------------

GOOD_STEPS: dict[str, dict[str, Any]] = {
    "press": {"input": "record"},
    "release": {"input": "mute"},
    "hold": {"input": "record", "seconds": 3.5},
    "draw": {},
    "holster": {},
    "trigger": {},
    "storage_fill": {"fraction": 0.5},
    "storage_fail": {"error": "EIO"},
    "camera_stall": {"seconds": 2},
    "clock_jump": {"seconds": -3600},
    "battery": {"percent": 15.0, "charging": False},
    "power_cut": {},
}

not_a_number = st.one_of(st.text(max_size=5), st.booleans(), st.lists(st.integers(), max_size=2))
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
BAD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "at": st.one_of(not_a_number, non_finite, st.floats(max_value=-1e-9), st.floats(700, 1e9)),
    "do": st.text(max_size=12).filter(lambda s: s not in ACTIONS),
    "input": st.one_of(
        st.text(max_size=8).filter(
            lambda s: s not in ("record", "mute", "marker", "stealth", "trigger")
        ),
        st.integers(),
        st.booleans(),
    ),
    "seconds": st.one_of(not_a_number, non_finite, st.floats(max_value=0), st.integers(-5, 0)),
    "fraction": st.one_of(not_a_number, st.floats(1.0001, 1e6), st.floats(max_value=-1e-9)),
    "error": st.one_of(
        st.text(max_size=8).filter(lambda s: s not in ("ENOSPC", "EIO")), st.integers()
    ),
    "percent": st.one_of(not_a_number, st.floats(100.0001, 1e6), st.floats(max_value=-1e-9)),
    "charging": st.one_of(st.integers(), st.text(max_size=4)),
}
BAD_JUMP = st.one_of(not_a_number, non_finite)  # clock_jump's seconds may be negative


@st.composite
def broken_scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], int, str]:
    """A scenario with one fault in one step: (scenario, step number, key at fault)."""
    actions = st.sampled_from(sorted(GOOD_STEPS))
    steps = [
        {"at": draw(st.floats(0, 600)), "do": do, **GOOD_STEPS[do]}
        for do in draw(st.lists(actions, min_size=1, max_size=6))
    ]
    index = draw(st.integers(0, len(steps) - 1))
    step = steps[index]
    faulty = [k for k in step if k in BAD_VALUES]
    fault = draw(st.sampled_from(["bad value", "missing", "unknown key"]))
    if fault == "unknown key":
        key = draw(st.sampled_from(["colour", "when", "inputs", "second"]))
        step[key] = 1
    elif fault == "missing":
        key = draw(st.sampled_from([k for k in step if k != "charging"]))
        del step[key]
    else:
        key = draw(st.sampled_from(faulty))
        jump = step["do"] == "clock_jump" and key == "seconds"
        step[key] = draw(BAD_JUMP if jump else BAD_VALUES[key])
    return {"name": "broken", "duration": 600.0, "step": steps}, index + 1, key


@settings(max_examples=examples(300), deadline=None)
@given(broken_scenarios())
def test_a_broken_step_is_named_with_its_key_and_what_is_allowed(
    case: tuple[dict[str, Any], int, str],
) -> None:
    data, number, key = case
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, source="broken.toml")
    err = caught.value
    assert (err.step, err.key) == (number, key), str(err)
    message = str(err)
    assert message.startswith(f"broken.toml: step {number}")
    assert repr(key) in message
    assert "allowed" in message


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.sampled_from(sorted(GOOD_STEPS)), max_size=8))
def test_well_formed_steps_are_accepted(actions: list[str]) -> None:
    steps = [{"at": float(i), "do": do, **GOOD_STEPS[do]} for i, do in enumerate(actions)]
    scenario = parse_scenario({"name": "fine", "duration": 10, "step": steps})
    assert [s.do for s in scenario.steps] == actions
    assert [s.number for s in scenario.steps] == list(range(1, len(actions) + 1))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\nduration = 0\n', "'duration' must be a number of seconds > 0"),
        ("duration = 5\n", "'name' must be a non-empty string"),
        ('name = "x"\nduration = 5\nspeed = 2\n', "unknown top-level key 'speed'"),
        ('name = "x"\nduration = 5\nstep = 3\n', "array of tables"),
        ('name = "x"\nduration = 5\n[[step]]\nat = 1\n', "step 1: key 'do': missing"),
        ('name = "x"\nduration = 5\n[[step]]\nat = 9\ndo = "draw"\n', "within 0..5"),
        ("name = \n", "not valid TOML"),
    ],
)
def test_file_level_errors_name_the_file_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(str(path))


def test_unknown_shipped_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match="patrol"):
        shipped_scenario("nope")


# -- a scenario may pin the clock's start -------------------------------------------------------

PINNED = 'name = "pinned"\nduration = 5\nstart = 2024-06-01T00:00:00Z\n'


def test_a_scenario_pins_the_clock_s_start(tmp_path: Path, devices: SimDevices) -> None:
    path = tmp_path / "pinned.toml"
    path.write_text(PINNED)
    assert load_scenario(path).start == SIM_START_WALL
    SimBackend().play(devices, path, lambda: None)
    assert devices.clock.wall() == SIM_START_WALL and devices.clock.source == "sim"


def test_without_a_pin_the_clock_starts_at_the_host_s_time(tmp_path: Path) -> None:
    settings_ = sim_settings(tmp_path)
    before = datetime.now(UTC).timestamp()
    devs = SimBackend().create(settings_)
    after = datetime.now(UTC).timestamp()
    try:
        play(devs, "holster")
        assert before <= devs.clock.wall_start <= after
    finally:
        devs.close()
    assert load_scenario(shipped_scenario("patrol")).start is None  # the demo runs on real time


def test_a_pin_that_comes_too_late_is_refused_naming_the_key(
    tmp_path: Path, devices: SimDevices
) -> None:
    path = tmp_path / "pinned.toml"
    path.write_text(PINNED)
    devices.clock.wall()  # the recorder has read it: a pin now would rewrite what it was told
    with pytest.raises(ScenarioError, match=r"key 'start': cannot pin the clock: too late") as e:
        SimBackend().play(devices, path, lambda: None)
    assert e.value.key == "start" and str(e.value).startswith(str(path))


def test_a_clock_configured_never_set_cannot_be_pinned(tmp_path: Path) -> None:
    settings_ = sim_settings(tmp_path)
    settings_.clock_never_set = True
    devs = SimBackend().create(settings_)
    path = tmp_path / "pinned.toml"
    path.write_text(PINNED)
    try:
        with pytest.raises(ScenarioError, match="never set"):
            SimBackend().play(devs, path, lambda: None)
    finally:
        devs.close()


def test_an_offset_is_honoured() -> None:
    start = datetime(2024, 6, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    assert parse_scenario({"name": "x", "duration": 1, "start": start}).start == SIM_START_WALL


bad_starts = st.one_of(
    st.datetimes(timezones=st.none()),  # a local date-time: which zone?
    st.datetimes(max_value=datetime(1969, 12, 30), timezones=st.just(UTC)),
    st.dates(),
    st.times(),
    st.text(max_size=25),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=examples(200), deadline=None)
@given(bad_starts)
def test_a_start_that_is_not_an_offset_date_time_after_1970_is_refused(value: Any) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({"name": "x", "duration": 1, "start": value}, source="s.toml")
    assert caught.value.key == "start"
    message = str(caught.value)
    assert message.startswith("s.toml: key 'start': got ")
    assert "allowed: a TOML date-time with an offset, after 1970" in message


@settings(max_examples=examples(100), deadline=None)
@given(st.datetimes(min_value=datetime(1970, 1, 2), timezones=st.timezones()))
def test_every_offset_date_time_after_1970_is_a_start(value: datetime) -> None:
    parsed = parse_scenario({"name": "x", "duration": 1, "start": value}).start
    assert parsed == value.timestamp()
