"""PiGnss: the receiver on the Pi's UART, read through gpsd (which owns the UART).

The firmware parses no NMEA: gpsd does (docs/install-pi.md says how it is set up). A daemon thread
keeps one :class:`~hal.gpsd.GpsdClient` connection; when gpsd is not there or sends garbage, the
error becomes :attr:`Gnss.fault`, the thread waits RETRY_S and connects again, and the recorder
records on without positions meanwhile.
"""

from __future__ import annotations

import logging
import threading

from hal.clock import Clock
from hal.gnss import Gnss
from hal.gpsd import GpsdClient, GpsdError

__all__ = ["RETRY_S", "PiGnss"]

log = logging.getLogger(__name__)

RETRY_S = 2.0  # seconds between attempts to reach gpsd
READ_TIMEOUT_S = 5.0  # gpsd reports every second while a receiver is attached


class PiGnss(Gnss):
    """gpsd at ``host:port`` (gpsd's default is 127.0.0.1:2947), or at the Unix socket ``host``
    names by its absolute path (the shipped config's socket proxy); fixes stamped by ``clock``."""

    def __init__(self, *, clock: Clock, host: str = "127.0.0.1", port: int = 2947) -> None:
        super().__init__()
        self._clock = clock
        self._host = host
        self._port = port
        self._wake = threading.Event()
        self._client: GpsdClient | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gnss-gpsd", daemon=True)
            self._thread.start()

    def _stop(self) -> None:
        return None  # the thread keeps the connection; _report delivers nothing while stopped

    def _close(self) -> None:
        self._closing = True
        self._wake.set()
        client = self._client
        if client is not None:
            client.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=READ_TIMEOUT_S + 1)

    def _run(self) -> None:
        while not self._closing:
            client = GpsdClient(self._host, self._port, self._clock.monotonic, READ_TIMEOUT_S)
            self._client = client
            try:
                client.connect()
                log.info("gnss: reading gpsd %s at %s", client.version, client.address)
                while not self._closing:
                    self._report(client.read())
            except (GpsdError, TimeoutError) as exc:
                if not self._closing:
                    log.warning("gnss: %s; trying again in %.0f s", exc, RETRY_S)
                    self._set_fault(exc)
            finally:
                client.close()
            self._wake.wait(RETRY_S)
