"""SampleClock: audio timestamps from counted samples stay within 2 ms of when the
samples were captured, whatever the microphone's drift, the device's buffering and the reads'
lateness; they only move forward."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hal.sampleclock import SampleClock
from tests.profiles import examples

RATE = 48_000


def capture(
    ppm: float, block: int, seconds: float, seed: int, late_ms: float, held_blocks: int
) -> list[tuple[float, int]]:
    """Simulate a microphone whose clock runs ``ppm`` fast, read in blocks: the true capture
    time of each block's first sample (us), and the timestamp the clock gave it."""
    rng = random.Random(seed)
    clock = SampleClock(RATE)
    true_rate = RATE * (1 + ppm * 1e-6)
    start_us = 5_000_000.0
    out = []
    count = 0
    while count < seconds * RATE:
        held = rng.randint(0, held_blocks) * block  # the device's buffer when the read runs
        captured_end = start_us + (count + block + held) * 1e6 / true_rate
        late = min(rng.expovariate(1 / (late_ms * 1000)), 5 * late_ms * 1000) if late_ms else 0.0
        ts = clock.observe(block, captured_end + late, delay=held)
        out.append((start_us + count * 1e6 / true_rate, ts))
        count += block
    return out


@settings(max_examples=examples(20), deadline=None)
@given(
    ppm=st.floats(-100, 100),
    block=st.sampled_from([256, 1024, 4096]),
    seed=st.integers(0, 2**32),
    late_ms=st.sampled_from([0.0, 0.5, 3.0]),
    held_blocks=st.integers(0, 3),
)
@example(ppm=50.0, block=1024, seed=0, late_ms=3.0, held_blocks=2)
@example(ppm=0.0, block=4096, seed=0, late_ms=3.0, held_blocks=0)  # a least-squares slope failed
@example(ppm=0.0, block=4096, seed=2, late_ms=3.0, held_blocks=2)  # 1.03 ms
def test_timestamps_follow_the_true_capture_time_within_two_milliseconds(
    ppm: float, block: int, seed: int, late_ms: float, held_blocks: int
) -> None:
    got = capture(ppm, block, 120, seed, late_ms, held_blocks)
    errors = [abs(ts - true) for true, ts in got]
    settled = [e for (true, _), e in zip(got, errors, strict=True) if true > got[0][0] + 5e6]
    assert max(settled) < 2000, max(settled)  # 2 ms (a tenth of the budget), once 5 s are seen
    assert max(errors) < 20_000  # 20 ms from the first block
    stamps = [ts for _, ts in got]
    assert all(b > a for a, b in itertools.pairwise(stamps))


def test_ten_minutes_at_50_ppm_end_within_a_millisecond_and_the_drift_is_measured() -> None:
    """Counting from one anchor would be 30 ms off after ten minutes at 50 ppm."""
    clock_err = capture(50.0, 1024, 600, seed=1, late_ms=2.0, held_blocks=2)
    true, ts = clock_err[-1]
    assert abs(ts - true) < 1000
    c = SampleClock(RATE)
    rate = RATE * (1 + 50e-6)
    for i in range(600 * RATE // 1024):
        c.observe(1024, 1e6 + (i + 1) * 1024 * 1e6 / rate)
    assert c.timing.drift_ppm == pytest.approx(50, abs=0.5)


@pytest.mark.parametrize(("samples", "delay"), [(0, 0), (-1, 0), (1024, -1)])
def test_an_impossible_read_is_refused(samples: int, delay: int) -> None:
    with pytest.raises(ValueError):
        SampleClock(RATE).observe(samples, 1e6, delay)
