"""The virtual clock: timers in order, exactly once; wall time that jumps, drifts, starts unset,
starts from the host's time labelled ``sim``, and never goes backwards across boots."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hal.clock import CLOCK_SOURCES
from hal.errors import DeviceError
from sim.clock import BOOT_GAP_S, LEASE_S, NEVER_SET_WALL, SIM_START_WALL, SimClock
from sim.wallmark import FILE_NAME, WallMark
from tests.profiles import examples

ROOT = Path(__file__).resolve().parents[1]

times = st.floats(0, 100, allow_nan=False, allow_infinity=False)


@settings(max_examples=examples(200), deadline=None)
@given(
    timers=st.lists(st.tuples(times, st.lists(times, max_size=3)), max_size=20),
    steps=st.lists(st.floats(0, 40, allow_nan=False), min_size=1, max_size=10),
)
def test_timers_fire_once_each_in_time_order_at_their_own_time(
    timers: list[tuple[float, list[float]]], steps: list[float]
) -> None:
    clock = SimClock()
    fired: list[tuple[float, str]] = []
    expected: list[str] = []

    def timer(label: str, due: float, children: list[float]) -> None:
        assert clock.monotonic() == due
        fired.append((due, label))
        for j, delay in enumerate(children):
            child = f"{label}.{j}"
            clock.call_at(due + delay, partial(timer, child, due + delay, []))

    for i, (due, children) in enumerate(timers):
        clock.call_at(due, partial(timer, str(i), due, children))
        expected += [str(i)] + [f"{i}.{j}" for j in range(len(children))]

    for step in steps:
        before = clock.monotonic()
        clock.advance(step)
        assert clock.monotonic() == before + step
        assert all(t <= clock.monotonic() for t, _ in fired)
    clock.advance(300)

    assert sorted(label for _, label in fired) == sorted(expected)
    assert [t for t, _ in fired] == sorted(t for t, _ in fired)
    assert clock.next_timer() is None


def test_timers_due_at_the_same_time_fire_in_registration_order() -> None:
    clock = SimClock()
    fired: list[int] = []
    for i in range(5):
        clock.call_at(1.0, partial(fired.append, i))
    clock.advance_to(1.0)
    assert fired == [0, 1, 2, 3, 4]


def test_a_timer_in_the_past_fires_at_the_next_advance() -> None:
    clock = SimClock()
    clock.advance(5)
    fired: list[float] = []
    clock.call_at(1.0, lambda: fired.append(clock.monotonic()))
    clock.advance(0)
    assert fired == [5.0]


def test_jump_moves_wall_time_only() -> None:
    clock = SimClock()
    clock.advance(10)
    wall = clock.wall()
    clock.jump(-3600)
    assert clock.monotonic() == 10
    assert clock.wall() == pytest.approx(wall - 3600)
    clock.advance(1)
    assert clock.wall() == pytest.approx(wall - 3599)
    assert clock.history[-1] == (10, "jump", -3600)


def test_drift_applies_from_when_it_is_set() -> None:
    clock = SimClock(start_wall=SIM_START_WALL)
    clock.advance(100)
    clock.drift_ppm = 50.0
    clock.advance(1_000_000)
    assert clock.wall() == pytest.approx(SIM_START_WALL + 100 + 1_000_000 * 1.00005)


def test_a_never_set_clock_starts_in_2000_until_set() -> None:
    clock = SimClock(never_set=True)
    assert (clock.is_set, clock.source, clock.wall()) == (False, "none", NEVER_SET_WALL)
    clock.advance(60)
    clock.set_wall(1_750_000_000.0, "manual")
    assert (clock.is_set, clock.source) == (True, "manual")
    clock.advance(1)
    assert clock.wall() == 1_750_000_001.0
    with pytest.raises(ValueError, match="clock source"):
        clock.set_wall(1_750_000_000.0, "none")
    with pytest.raises(ValueError, match="positive finite"):
        clock.set_wall(float("nan"), "gnss")


def test_time_never_goes_backwards() -> None:
    clock = SimClock()
    clock.advance(5)
    clock.advance_to(2)
    assert clock.monotonic() == 5
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_advancing_from_several_threads_fires_every_timer_once() -> None:
    clock = SimClock()
    fired: list[int] = []
    for i in range(1000):
        clock.call_at(i / 100, partial(fired.append, i))

    def advancer() -> None:
        for _ in range(200):
            clock.advance(0.01)

    threads = [threading.Thread(target=advancer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clock.advance_to(10)
    assert fired == list(range(1000))


# -- where a boot's wall time starts, and how it is labelled ------------------------------------


def test_a_clock_starts_at_the_host_s_time_and_says_it_is_the_simulator_s() -> None:
    before = time.time()
    clock = SimClock()
    after = time.time()
    assert before <= clock.wall() <= after
    assert (clock.source, clock.is_set) == ("sim", True)


def test_sim_is_a_label_not_a_source_a_clock_can_be_set_from() -> None:
    clock = SimClock(start_wall=SIM_START_WALL)
    with pytest.raises(ValueError, match="clock source must be one of ntp, rtc, gnss, manual;"):
        clock.set_wall(1_750_000_000.0, "sim")


def test_the_evidence_format_lists_every_clock_source() -> None:
    spec = (ROOT / "docs" / "evidence-format.md").read_text()
    (row,) = [ln for ln in spec.splitlines() if ln.startswith("| `clock_source` |")]
    allowed = row.split("|")[4]
    assert re.findall(r"`(\w+)`", allowed) == list(CLOCK_SOURCES)


def boot(state: Path, **kwargs: float) -> SimClock:
    return SimClock(mark=WallMark.in_state_dir(state), **kwargs)


def test_a_later_boot_starts_after_the_last_wall_time_of_the_one_before(tmp_path: Path) -> None:
    first = boot(tmp_path, start_wall=SIM_START_WALL)
    first.advance(600)
    last = first.wall()
    first.close()
    second = boot(tmp_path, start_wall=SIM_START_WALL)  # the same pinned start again
    assert second.wall() == last + BOOT_GAP_S == SIM_START_WALL + 600 + BOOT_GAP_S
    assert second.source == "sim"


def test_a_later_host_time_or_pinned_start_is_kept(tmp_path: Path) -> None:
    first = boot(tmp_path, start_wall=SIM_START_WALL)
    first.advance(10)
    first.close()
    assert boot(tmp_path, start_wall=SIM_START_WALL + 3600).wall() == SIM_START_WALL + 3600
    assert boot(tmp_path).wall() >= time.time() - 1  # the host's time is later still


def test_a_pinned_start_is_still_after_the_last_boot(tmp_path: Path) -> None:
    first = boot(tmp_path)  # the host's time, then run far ahead of it, as the simulator does
    first.advance(900)
    last = first.wall()
    first.close()
    second = boot(tmp_path)
    assert second.pin_start(SIM_START_WALL) == last + BOOT_GAP_S  # 2024 lies before: not taken
    assert second.wall() == last + BOOT_GAP_S


def test_the_start_can_be_pinned_only_before_the_wall_time_is_used(tmp_path: Path) -> None:
    clock = boot(tmp_path)
    assert clock.pin_start(SIM_START_WALL) == SIM_START_WALL
    assert clock.wall() == SIM_START_WALL and clock.history[-1][1] == "pin_start"
    with pytest.raises(ValueError, match="too late"):
        clock.pin_start(SIM_START_WALL)
    jumped = SimClock()
    jumped.jump(5)
    with pytest.raises(ValueError, match="too late"):
        jumped.pin_start(SIM_START_WALL)
    with pytest.raises(ValueError, match="never set"):
        SimClock(never_set=True).pin_start(SIM_START_WALL)
    with pytest.raises(ValueError, match="positive finite"):
        SimClock().pin_start(float("inf"))


def test_a_never_set_boot_starts_in_2000_but_keeps_the_mark(tmp_path: Path) -> None:
    first = boot(tmp_path, start_wall=SIM_START_WALL)
    first.advance(60)
    first.close()
    unset = SimClock(never_set=True, mark=WallMark.in_state_dir(tmp_path))
    assert (unset.wall(), unset.source) == (NEVER_SET_WALL, "none")
    unset.advance(60)
    unset.close()
    assert boot(tmp_path, start_wall=SIM_START_WALL).wall() == SIM_START_WALL + 60 + BOOT_GAP_S


# One step of a boot: advance virtual time, jump or set the wall clock, change the drift, or read.
ops = st.one_of(
    st.tuples(st.just("advance"), st.floats(0, 3 * LEASE_S)),
    st.tuples(st.just("jump"), st.floats(-1e5, 1e5, allow_nan=False)),
    st.tuples(st.just("set"), st.floats(1e9, 2e9)),
    st.tuples(st.just("drift"), st.floats(-500, 5e5)),
)


@settings(
    max_examples=examples(50),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(boots=st.lists(st.lists(ops, max_size=10), min_size=1, max_size=3), crash=st.booleans())
@example(
    boots=[[("advance", 0.9 * LEASE_S), ("jump", 100.0), ("advance", 1.5 * LEASE_S)]], crash=True
)
def test_wall_time_never_goes_backwards_across_boots_even_after_a_power_cut(
    tmp_path_factory: pytest.TempPathFactory,
    boots: list[list[tuple[str, float]]],
    crash: bool,
) -> None:
    """After every step the mark on disk already covers every wall time the boot has shown, so a
    power cut at any moment (a boot that never closes) cannot send the next boot back in time."""
    state = tmp_path_factory.mktemp("state")
    shown = 0.0
    for steps in boots:
        clock = boot(state, start_wall=SIM_START_WALL)
        assert clock.wall() > shown
        shown = clock.wall()
        for op, value in steps:
            if op == "advance":
                clock.advance(value)
            elif op == "jump":
                clock.jump(value)
            elif op == "set":
                clock.set_wall(value, "manual")
            else:
                clock.drift_ppm = value
            shown = max(shown, clock.wall())
            assert WallMark.in_state_dir(state).floor >= shown
        if not crash:
            clock.close()
            assert WallMark.in_state_dir(state).floor == shown  # exact after a clean stop


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["wall", "when"]), inner, max_size=2)
    ),
    max_leaves=6,
)


@settings(max_examples=examples(200), deadline=None)
@given(content=st.one_of(st.binary(max_size=60), st.builds(json.dumps, json_values)))
@example(content=b'{"wall": 1717200000.5}')
@example(content=b'{"wall": true}')
@example(content=b'{"wall": NaN}')
@example(content=b'{"wall": -1}')
@example(content=b'{"wall": 1, "extra": 2}')
@example(content=b"\xff")
def test_a_mark_file_that_is_not_a_mark_is_refused_naming_the_file(
    tmp_path_factory: pytest.TempPathFactory, content: bytes | str
) -> None:
    path = tmp_path_factory.mktemp("state") / FILE_NAME
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    try:
        mark = WallMark(path)
    except DeviceError as e:
        assert str(e).startswith(f"{path}: not a simulated clock mark: got ")
        assert 'allowed: {"wall": <UTC epoch seconds > 0>}' in str(e)
    else:
        assert mark.floor is not None and mark.floor > 0


def test_a_mark_that_cannot_be_saved_is_logged_and_the_clock_runs_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    clock = boot(state, start_wall=SIM_START_WALL)
    (state / FILE_NAME).unlink()
    state.rmdir()
    with caplog.at_level(logging.ERROR, logger="sim.clock"):
        clock.advance(2 * LEASE_S)
    assert clock.wall() == SIM_START_WALL + 2 * LEASE_S
    assert "cannot save the simulated clock's mark" in caplog.text
    assert "may go backwards at the next boot" in caplog.text
