"""Text mode for people, JSON for machines: STATUS? and friends at a glance (docs/console.md §5)."""

from __future__ import annotations

import math

from hypothesis import example, given
from hypothesis import strategies as st

from recorder.console.readable import duration, size, utc
from tests.test_console_session import Harness


def test_status_in_text_shows_iso_times_durations_and_sizes() -> None:
    h = Harness()
    h.device.recording_since = h.device.mono - 303.0  # recording for 5 min 03 s
    body = h.ok("STATUS?")
    assert "wall: 2024-06-01T00:00:00Z" in body
    assert "recording_since: 2024-05-31T23:54:57Z (for 5 min 03 s)" in body
    assert "pre_roll_s: 30 s" in body
    assert "storage_free_bytes: 1.00 GiB" in body
    assert "monotonic: 16 min 40 s" in body
    assert "frames: 1234" in body  # counts stay counts


def test_status_in_json_keeps_the_machine_values() -> None:
    h = Harness()
    h.device.recording_since = 697.0
    h.json("MODE JSON")
    data = h.json("STATUS?")["data"]
    assert data["wall"] == 1_717_200_000.0 and data["recording_since"] == 697.0
    assert data["storage_free_bytes"] == 2**30 and data["pre_roll_s"] == 30.0


def test_storage_battery_and_time_set_read_at_a_glance() -> None:
    h = Harness()
    assert h.ok("STORAGE?") == [
        "free_bytes: 1.00 GiB",
        "total_bytes: 2.00 GiB",
        "free_percent: 50 %",
    ]
    assert "percent: 87.5 %" in h.ok("BATTERY?")
    h.authenticate()
    assert h.ok("TIME SET 2025-01-02T03:04:05Z")[:2] == [
        "old_wall: 2024-06-01T00:00:00Z",
        "new_wall: 2025-01-02T03:04:05Z",
    ]


def test_durations_and_sizes() -> None:
    assert [duration(s) for s in (0.6, 2.0, 42, 59.96, 303, 3600, 7500, 3 * 86400 + 4 * 3600)] == [
        "0.6 s",
        "2 s",
        "42 s",
        "1 min 00 s",
        "5 min 03 s",
        "1 h 00 min",
        "2 h 05 min",
        "3 d 04 h",
    ]
    assert [size(n) for n in (0, 512, 11042, 1024**3 - 4943, 30 * 1024**3, 2**60)] == [
        "0 B",
        "512 B",
        "10.8 KiB",
        "1.00 GiB",
        "30.0 GiB",
        "1024 PiB",
    ]
    assert utc(1_735_787_045.9) == "2025-01-02T03:04:05Z"


@example(math.nan)
@example(-math.inf)
@example(1e300)
@example(-0.04)
@given(st.floats())
def test_any_figure_is_shown_without_an_error(value: float) -> None:
    for show in (duration, size, utc):
        text = show(value)
        assert text and text.isprintable()
