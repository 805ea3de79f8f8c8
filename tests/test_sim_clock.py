"""The virtual clock: timers in order, exactly once; wall time that jumps, drifts, starts unset."""

from __future__ import annotations

import threading
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.clock import NEVER_SET_WALL, SIM_START_WALL, SimClock
from tests.profiles import examples

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
    clock = SimClock()
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
        clock.set_wall(float("nan"), "gps")


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
