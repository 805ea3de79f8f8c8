"""The Gnss contract, written once and run against both receivers, each reading a real gpsd.

The simulator's receiver plays a route through gpsfake on the virtual clock; the Pi's reads a
gpsd that the test feeds through gpsfake itself (the same gpsd the Pi would run, on a pty instead
of a UART). A harness makes the receiver report ``n`` more seconds of the same 20-second route:
seconds 0-9 with a fix, 10-14 in a tunnel, 15-19 with a fix again. Every gpsfake and gpsd is
ended by its PID when the test ends, passed or failed.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator

import pytest

from hal.errors import DeviceError
from hal.gnss import Fix, Gnss
from hal.pi.gnss import PiGnss
from sim.clock import SIM_START_WALL, SimClock
from sim.gnss import LATENCY_S, SimGnss
from sim.gpsfake import GpsFake, free_port
from sim.nmea import second
from sim.route import Route, parse_route

pytestmark = pytest.mark.skipif(
    shutil.which("gpsfake") is None, reason="gpsd's gpsfake is not installed (make tools)"
)

SECONDS = 20
TUNNEL = (10, 15)
ROUTE: Route = parse_route(
    {
        "point": [
            {"lat": 50.8467, "lon": 4.3524, "alt_m": 58.0, "speed_mps": 1.5},
            {"lat": 50.8476, "lon": 4.3540, "alt_m": 60.0},
        ],
        "no_fix": [{"from": TUNNEL[0], "to": TUNNEL[1]}],
    },
    SECONDS,
)
UTC0 = int(SIM_START_WALL)
WAIT_S = 15.0  # a bounded poll on a real gpsd


class Sink:
    def __init__(self) -> None:
        self.fixes: list[Fix] = []

    def put_nowait(self, fix: Fix) -> bool:
        self.fixes.append(fix)
        return True


class SimHarness:
    def __init__(self) -> None:
        self.clock = SimClock(start_wall=SIM_START_WALL)
        self.sim = SimGnss(clock=self.clock)
        self.gnss: Gnss = self.sim
        self.played = 0

    def play(self, n: int) -> None:
        if self.played == 0:
            self.sim.follow(ROUTE, SECONDS)
        self.played += n
        self.clock.advance_to(self.played - 1 + LATENCY_S)

    def kill_gpsd(self) -> None:
        pid = self.sim.gpsd_pid
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)

    def close(self) -> None:
        self.gnss.close()


class PiHarness:
    def __init__(self) -> None:
        sentences = [
            second(UTC0 + k, ROUTE.at(k) if ROUTE.has_fix(k) else None) for k in range(SECONDS)
        ]
        self.counts = [len(s) for s in sentences]
        self.fake = GpsFake([line for s in sentences for line in s])
        self.clock = SimClock(start_wall=SIM_START_WALL)
        self.gnss = PiGnss(clock=self.clock, port=self.fake.port)
        self.played = 0
        self._connected = False

    def play(self, n: int) -> None:
        if not self._connected:  # gpsfake's gpsd must listen, and PiGnss be watching, first
            self._wait(lambda: self._watching())
            self._connected = True
        for k in range(self.played, self.played + n):
            before = self.gnss.reports
            self.fake.feed(self.counts[k])
            self._wait(lambda before=before: self.gnss.reports > before)  # type: ignore[misc]
        self.played += n

    def _watching(self) -> bool:
        return _client_ready(self.gnss)

    def _wait(self, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT_S
        while not done():
            assert time.monotonic() < deadline, self.fake.output()[-500:]
            time.sleep(0.01)

    def kill_gpsd(self) -> None:
        pid = self.fake.pid
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)

    def close(self) -> None:
        self.gnss.close()
        self.fake.stop()


def _client_ready(gnss: PiGnss) -> bool:
    client = gnss._client
    return client is not None and client.version is not None


Harness = SimHarness | PiHarness


@pytest.fixture(params=[SimHarness, PiHarness], ids=["sim", "pi"])
def rx(request: pytest.FixtureRequest) -> Iterator[Harness]:
    harness: Harness = request.param()
    try:
        yield harness
    finally:
        harness.close()


def test_fixes_carry_the_receivers_time_and_position(rx: Harness) -> None:
    sink = Sink()
    rx.gnss.start(sink)
    rx.play(5)
    times = [f.time for f in sink.fixes]
    assert [round(t) for t in times] == [UTC0 + k for k in range(5)]  # each second once
    last = sink.fixes[-1]
    expected = ROUTE.at(4)
    assert last.mode == "3d" and rx.gnss.has_fix and rx.gnss.last_fix == last
    assert last.lat == pytest.approx(expected.lat, abs=1e-6)
    assert last.lon == pytest.approx(expected.lon, abs=1e-6)
    assert last.alt_m == pytest.approx(expected.alt_m, abs=0.1)
    assert last.speed_mps == pytest.approx(1.5, abs=0.01)
    assert last.eph_m is not None and last.eph_m > 0


def test_a_tunnel_gives_no_fix_and_no_stale_position(rx: Harness) -> None:
    sink = Sink()
    rx.gnss.start(sink)
    rx.play(TUNNEL[0])
    before = len(sink.fixes)
    last = rx.gnss.last_fix
    rx.play(TUNNEL[1] - TUNNEL[0])
    assert len(sink.fixes) == before  # nothing delivered in the tunnel
    assert not rx.gnss.has_fix and rx.gnss.last_fix == last
    rx.play(2)
    assert rx.gnss.has_fix
    assert [round(f.time) for f in sink.fixes[before:]] == [UTC0 + 15, UTC0 + 16]


def test_no_fix_reaches_a_sink_after_stop(rx: Harness) -> None:
    sink = Sink()
    rx.gnss.start(sink)
    rx.play(2)
    rx.gnss.stop()
    kept = len(sink.fixes)
    rx.play(2)
    assert len(sink.fixes) == kept
    assert rx.gnss.last_fix is not None and round(rx.gnss.last_fix.time) == UTC0 + 3
    again = Sink()
    rx.gnss.start(again)
    rx.play(1)
    assert [round(f.time) for f in again.fixes] == [UTC0 + 4]


def test_start_twice_and_start_after_close_are_refused(rx: Harness) -> None:
    rx.gnss.start(Sink())
    with pytest.raises(DeviceError, match="already running"):
        rx.gnss.start(Sink())
    rx.gnss.close()
    rx.gnss.close()
    with pytest.raises(DeviceError, match="closed"):
        rx.gnss.start(Sink())


def test_losing_gpsd_is_a_fault(rx: Harness) -> None:
    rx.gnss.start(Sink())
    rx.play(1)
    assert rx.gnss.fault is None
    rx.kill_gpsd()
    deadline = time.monotonic() + WAIT_S
    while rx.gnss.fault is None:
        assert time.monotonic() < deadline
        if isinstance(rx, SimHarness):
            rx.clock.advance(1)  # the next second finds gpsd gone
        else:
            time.sleep(0.01)
    assert "gpsd" in str(rx.gnss.fault) or "gpsfake" in str(rx.gnss.fault)
    assert not rx.gnss.has_fix


def test_the_pi_receiver_reports_a_fault_while_gpsd_is_absent() -> None:
    gnss = PiGnss(clock=SimClock(), port=free_port())
    try:
        gnss.start(Sink())
        deadline = time.monotonic() + WAIT_S
        while gnss.fault is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert "cannot be reached" in str(gnss.fault)
    finally:
        gnss.close()
