"""SimGnss: the simulator's receiver, read through a real gpsd fed by gpsd's own gpsfake.

Without a route it never reports (a receiver that sees no sky) and starts nothing. Given a route
(:meth:`follow`, called when a scenario with ``[route]`` is played), it writes the route's NMEA,
one set of sentences per second (``sim.nmea``), starts gpsfake (``sim.gpsfake``) and connects
the same :class:`~hal.gpsd.GpsdClient` the Pi uses. Then at each second ``k`` of the route,
LATENCY_S after the second began in virtual time, it has gpsfake write second ``k`` to gpsd and
waits (a bounded poll, at most READ_TIMEOUT_S of real time) for gpsd's TPV report for that
second, which it reports as a fix (or as no fix, in a ``no_fix`` span).

That wait holds up the thread that advances virtual time (normally the camera's), as the
camera's own backlog wait does at speed "max": the simulator never loses a fix for lack of CPU,
and a fix's ``received`` time is exactly ``start + k + LATENCY_S``, so runs are reproducible.

The receiver's UTC time is the simulated world's true time: the clock's wall time when the route
began if the clock was set, else the host's time then. A clock_jump step moves the device's
clock, not the satellites' time.

Not simulated: receiver noise and multipath, a cold start's minutes without a fix, leap
seconds, receivers reporting more or less often than once a second, the UART itself.
"""

from __future__ import annotations

import logging
import math
import time

from hal.errors import DeviceError
from hal.gnss import Fix, Gnss
from hal.gpsd import GpsdClient, GpsdError
from sim.clock import SimClock
from sim.gpsfake import GpsFake
from sim.nmea import second
from sim.route import Route

__all__ = ["LATENCY_S", "READ_TIMEOUT_S", "SimGnss"]

log = logging.getLogger(__name__)

LATENCY_S = 0.5  # virtual seconds from a fix's UTC second to its report reaching the device
READ_TIMEOUT_S = 10.0  # real seconds to wait for gpsd's report of one second


class SimGnss(Gnss):
    """A receiver on the simulated clock; ``history`` lists (monotonic, what, detail)."""

    def __init__(self, *, clock: SimClock) -> None:
        super().__init__()
        self._clock = clock
        self._fake: GpsFake | None = None
        self._client: GpsdClient | None = None
        self._route: Route | None = None
        self._t0 = 0.0
        self._utc0 = 0
        self._seconds = 0
        self._counts: list[int] = []
        self._closing = False
        self.history: list[tuple[float, str, object]] = []

    @property
    def gpsd_port(self) -> int | None:
        """The port the simulator's gpsd listens on (127.0.0.1), while it runs."""
        return self._fake.port if self._fake is not None else None

    @property
    def gpsd_pid(self) -> int | None:
        """gpsfake's PID (the process group of gpsfake and its gpsd), while it runs."""
        return self._fake.pid if self._fake is not None else None

    def follow(self, route: Route, duration: float) -> None:
        """Play ``route`` from now for ``duration`` seconds of virtual time, through gpsd.

        DeviceError (GpsFakeMissing) when gpsd is not installed, GpsdError when it does not
        answer; nothing is left running then.
        """
        if self._fake is not None:
            raise DeviceError("the simulated receiver already follows a route")
        self._t0 = self._clock.monotonic()
        truth = self._clock.wall() if self._clock.is_set else time.time()
        self._utc0 = math.floor(truth)
        self._seconds = max(1, math.floor(duration))
        sentences: list[str] = []
        for k in range(self._seconds):
            batch = second(self._utc0 + k, route.at(k) if route.has_fix(k) else None)
            self._counts.append(len(batch))
            sentences += batch
        fake = GpsFake(sentences)
        client = GpsdClient("127.0.0.1", fake.port, self._clock.monotonic, READ_TIMEOUT_S)
        try:
            _connect(client)
        except BaseException:
            fake.stop()
            raise
        self._fake, self._client, self._route = fake, client, route
        self.history.append((self._t0, "follow", (fake.port, self._seconds)))
        log.info(
            "simulated receiver: gpsfake (pid %d) feeds gpsd on 127.0.0.1:%d, %d s of route",
            fake.pid,
            fake.port,
            self._seconds,
        )
        self._clock.call_at(self._t0 + LATENCY_S, lambda: self._tick(0))

    def _tick(self, k: int) -> None:
        fake, client, route = self._fake, self._client, self._route
        if fake is None or client is None or route is None or self._closing:
            return
        try:
            fake.feed(self._counts[k])
            report = _read_second(client, self._utc0 + k, route.has_fix(k))
        except (DeviceError, TimeoutError) as exc:
            log.error("simulated receiver: second %d of the route: %s", k, exc)
            self.history.append((self._clock.monotonic(), "fault", str(exc)))
            self._set_fault(exc)
            self._end()
            return
        self._report(report)
        if k + 1 < self._seconds:
            self._clock.call_at(self._t0 + k + 1 + LATENCY_S, lambda: self._tick(k + 1))
        else:
            self._end()

    def _end(self) -> None:
        fake, self._fake = self._fake, None
        client, self._client = self._client, None
        if client is not None:
            client.close()
        if fake is not None:
            fake.stop()

    def _start(self) -> None:
        return None  # reports flow from the route's timers; _report delivers while running

    def _stop(self) -> None:
        return None

    def _close(self) -> None:
        self._closing = True
        self._end()


def _connect(client: GpsdClient) -> None:
    """Connect once gpsd listens (gpsfake starts it): a bounded poll on a real service."""
    deadline = time.monotonic() + READ_TIMEOUT_S
    while True:
        try:
            client.connect()
            return
        except GpsdError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _read_second(client: GpsdClient, utc: int, expect_fix: bool) -> Fix | None:
    """gpsd's report of UTC second ``utc``: the first TPV that fits, older ones skipped."""
    while True:
        report = client.read()
        if expect_fix and report is not None and round(report.time) == utc:
            return report
        if not expect_fix and report is None:
            return None
        if report is not None and round(report.time) > utc:
            raise GpsdError(f"gpsd reported {report.time} before second {utc} came")
