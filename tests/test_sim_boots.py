"""Boots of one simulated camera: each starts after the last, on the host's time or a pinned one.

A simulated patrol runs many times faster than real time, so a boot that began at the host's time
(or at a fixed date) would start before the wall times an earlier boot already wrote; the clock's
mark in the state directory prevents that. Evidence says its clock is the simulator's (``sim``).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sim.clock import BOOT_GAP_S
from tests.simdevice import PINNED_START, SimDevice, scenario


def incident(path: Path, start: str | None) -> Path:
    return scenario(
        path,
        30,
        """
        [[step]]
        at = 2.0
        do = "hold"
        input = "record"
        seconds = 0.2
        [[step]]
        at = 20.0
        do = "hold"
        input = "record"
        seconds = 3.5
        """,
        start=start,
    )


def when(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339).timestamp()


def boot(cam: SimDevice, path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run one boot; return the headers of the segments and the audit events it wrote."""
    before_segments = set(cam.segments())
    before_events = len(cam.audit_events())
    cam.run(path)
    headers = [cam.header(s) for s in cam.segments() if s not in before_segments]
    events = cam.audit_events()[before_events:]
    assert headers and events[0]["event"] == "boot" and events[-1]["event"] == "shutdown"
    return headers, events


@pytest.mark.parametrize("start", [None, PINNED_START], ids=["host-time", "pinned"])
def test_a_second_boot_records_after_the_first(tmp_path: Path, start: str | None) -> None:
    cam = SimDevice.provision(tmp_path)
    host_before = time.time()
    first_headers, first_events = boot(cam, incident(tmp_path / "one.toml", start))
    second_headers, second_events = boot(cam, incident(tmp_path / "two.toml", start))

    first_end = max(when(e["wall"]) for e in first_events)
    assert min(when(e["wall"]) for e in second_events) >= first_end + BOOT_GAP_S
    assert min(when(h["wall_start"]) for h in second_headers) > first_end
    for header in first_headers + second_headers:
        assert (header["clock_source"], header["clock_set"]) == ("sim", True)
    if start is not None:
        assert first_headers[0]["wall_start"].startswith("2024-06-01T00:00:0")
    else:  # the host's time when the first boot began (a header is written a little later)
        assert when(first_events[0]["wall"]) >= host_before - 1e-6
