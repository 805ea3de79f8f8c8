"""Simulated inputs, indicators, battery and storage, driven through their test verbs."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from hal.backend import DEFAULT_PINS
from hal.inputs import InputEvent
from sim.battery import SimBattery
from sim.clock import SimClock
from sim.indicators import SimIndicators
from sim.inputs import SimInputs
from sim.storage import SimStorage


@pytest.fixture
def clock() -> SimClock:
    return SimClock()


@pytest.fixture
def inputs(clock: SimClock) -> Iterator[SimInputs]:
    device = SimInputs(clock=clock, pins=DEFAULT_PINS, pin_factory=MockFactory())
    yield device
    device.close()


@pytest.fixture
def indicators(clock: SimClock) -> Iterator[SimIndicators]:
    device = SimIndicators(clock=clock, pins=DEFAULT_PINS, pin_factory=MockFactory())
    yield device
    device.close()


def events_of(inputs: SimInputs) -> list[InputEvent]:
    events: list[InputEvent] = []
    inputs.subscribe(events.append)
    return events


# -- inputs -----------------------------------------------------------------------------------


def test_press_and_release_are_gpio_edges_stamped_with_virtual_time(
    inputs: SimInputs, clock: SimClock
) -> None:
    events = events_of(inputs)
    clock.advance(12.5)
    inputs.press("record")
    assert inputs._pin("record").state is False  # driven low, like a button to ground
    assert inputs.is_active("record")
    clock.advance(0.25)
    inputs.release("record")
    assert not inputs.is_active("record")
    assert events == [InputEvent("record", True, 12.5), InputEvent("record", False, 12.75)]


def test_hold_releases_after_its_seconds_of_virtual_time(
    inputs: SimInputs, clock: SimClock
) -> None:
    events = events_of(inputs)
    clock.advance(95)
    inputs.hold("record", 3.5)
    clock.advance(3.4)
    assert inputs.is_active("record")
    clock.advance(0.2)
    assert events == [InputEvent("record", True, 95.0), InputEvent("record", False, 98.5)]


def test_drawing_from_the_holster_is_a_press_of_the_holster_input(
    inputs: SimInputs, clock: SimClock
) -> None:
    events = events_of(inputs)
    assert not inputs.is_active("holster")  # starts holstered
    clock.advance(1)
    inputs.draw()
    assert inputs.is_active("holster")
    clock.advance(1)
    inputs.holster()
    assert events == [InputEvent("holster", True, 1.0), InputEvent("holster", False, 2.0)]


def test_trigger_is_a_pulse_and_repeated_presses_make_one_edge(
    inputs: SimInputs, clock: SimClock
) -> None:
    events = events_of(inputs)
    inputs.trigger()
    inputs.press("mute")
    inputs.press("mute")
    assert events == [
        InputEvent("trigger", True, 0.0),
        InputEvent("trigger", False, 0.0),
        InputEvent("mute", True, 0.0),
    ]
    assert [verb for _, verb, _ in inputs.history] == ["trigger", "press", "press"]


def test_bad_input_names_are_refused(inputs: SimInputs) -> None:
    with pytest.raises(ValueError, match="draw"):
        inputs.press("holster")
    with pytest.raises(ValueError, match="known inputs"):
        inputs.press("siren")
    with pytest.raises(ValueError, match="known inputs"):
        inputs.is_active("siren")


def test_a_failing_subscriber_does_not_starve_the_others(
    inputs: SimInputs, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: InputEvent) -> None:
        raise RuntimeError("boom")

    inputs.subscribe(broken)
    events = events_of(inputs)
    inputs.press("marker")
    assert events == [InputEvent("marker", True, 0.0)]
    assert "boom" in caplog.text


def test_closed_inputs_report_nothing_and_close_twice(inputs: SimInputs) -> None:
    events = events_of(inputs)
    inputs.close()
    inputs.close()
    assert events == []


# -- indicators -------------------------------------------------------------------------------


def test_leds_light_and_every_request_is_in_history(
    indicators: SimIndicators, clock: SimClock
) -> None:
    clock.advance(3)
    indicators.set_led("recording", True)
    assert indicators.is_lit("recording") and not indicators.is_lit("status")
    indicators.set_led("recording", False)
    assert not indicators.is_lit("recording")
    assert indicators.history == [(3.0, "led:recording", True), (3.0, "led:recording", False)]


def test_a_pattern_plays_out_in_virtual_time(indicators: SimIndicators, clock: SimClock) -> None:
    indicators.haptic("double")  # on 0.1, off 0.1, on 0.1
    seen = []
    for _ in range(4):
        seen.append(indicators.is_vibrating)
        clock.advance(0.1)
    assert seen == [True, False, True, False]
    assert not indicators.is_buzzing


def test_a_new_pattern_replaces_one_still_playing(
    indicators: SimIndicators, clock: SimClock
) -> None:
    indicators.beep("alarm")
    clock.advance(0.3)  # alarm is in its first gap
    indicators.beep("short")
    assert indicators.is_buzzing
    clock.advance(0.1)
    assert not indicators.is_buzzing
    clock.advance(2)
    assert not indicators.is_buzzing  # the rest of the alarm never comes back


def test_stealth_keeps_everything_dark_but_remembers(
    indicators: SimIndicators, clock: SimClock
) -> None:
    indicators.set_led("status", True)
    indicators.beep("alarm")
    indicators.stealth = True
    assert not indicators.is_lit("status") and not indicators.is_buzzing
    indicators.set_led("recording", True)
    indicators.haptic("long")
    assert not indicators.is_lit("recording") and not indicators.is_vibrating
    clock.advance(5)
    assert not indicators.is_buzzing
    indicators.stealth = False
    assert indicators.is_lit("recording") and indicators.is_lit("status")
    whats = [what for _, what, _ in indicators.history]
    assert whats == ["led:status", "beep", "stealth", "led:recording", "haptic", "stealth"]


def test_unknown_leds_and_patterns_are_refused(indicators: SimIndicators) -> None:
    with pytest.raises(ValueError, match="known LEDs"):
        indicators.set_led("blue", True)
    with pytest.raises(ValueError, match="known patterns"):
        indicators.beep("siren")
    indicators.close()
    indicators.close()


# -- battery ----------------------------------------------------------------------------------


def test_the_battery_drains_and_charges_linearly_in_virtual_time(clock: SimClock) -> None:
    battery = SimBattery(clock=clock, percent=80, drain_per_hour=10)
    assert battery.minutes_left == pytest.approx(480)
    clock.advance(1800)
    assert battery.percent == pytest.approx(75)
    assert battery.voltage == pytest.approx(3.3 + 0.9 * 0.75)
    battery.charge()
    clock.advance(3600)
    state = battery.state
    assert (state.percent, state.charging, state.minutes_left) == (100.0, True, None)
    battery.unplug()
    battery.set_percent(1)
    clock.advance(3600)
    assert battery.percent == 0.0
    with pytest.raises(ValueError, match=r"0\.\.100"):
        battery.set_percent(101)


# -- storage ----------------------------------------------------------------------------------


def test_guard_raises_enospc_at_capacity(tmp_path: Path, clock: SimClock) -> None:
    (tmp_path / "old.seg").write_bytes(b"x" * 100)
    storage = SimStorage(tmp_path, 1000, clock=clock)
    assert (storage.total_bytes(), storage.free_bytes()) == (1000, 900)
    storage.guard(600)
    assert storage.free_bytes() == 300
    with pytest.raises(OSError, match="do not fit") as caught:
        storage.guard(301)
    assert caught.value.errno == errno.ENOSPC
    storage.guard(300)
    assert storage.free_bytes() == 0


def test_fill_to_leaves_the_rest_free(tmp_path: Path, clock: SimClock) -> None:
    storage = SimStorage(tmp_path, 10_000, clock=clock)
    storage.fill_to(0.99)
    assert storage.free_bytes() == 100
    with pytest.raises(OSError) as caught:
        storage.guard(101)
    assert caught.value.errno == errno.ENOSPC


def test_injected_faults_start_at_their_time_and_clear(tmp_path: Path, clock: SimClock) -> None:
    storage = SimStorage(tmp_path, 10_000, clock=clock)
    storage.inject("EIO", at=5.0)
    storage.guard(10)
    clock.advance(5)
    with pytest.raises(OSError) as caught:
        storage.guard(10)
    assert caught.value.errno == errno.EIO
    storage.clear_faults()
    storage.guard(10)
    storage.inject("ENOSPC")
    with pytest.raises(OSError) as caught:
        storage.guard(0)
    assert caught.value.errno == errno.ENOSPC
    with pytest.raises(ValueError, match="known: ENOSPC, EIO"):
        storage.inject("EPERM")
