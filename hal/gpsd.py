"""A gpsd client: gpsd's JSON protocol (gpsd_json(5), protocol 3), with the stdlib.

It reaches gpsd over TCP (a host and port: gpsd's own 127.0.0.1:2947) or over a Unix socket (a
"host" that is an absolute path): the Pi's daemon, which has no network, reads gpsd through the
socket proxy ``bodycam-gpsd.socket`` at ``/run/bodycam-gpsd/gpsd.sock`` (docs/install-pi.md,
section 5a). The bytes on either are the same.

Shared by the Pi backend (``hal.pi.gnss``) and the simulator (``sim.gnss``), so the code that reads
fixes in CI is the code that reads them on the camera. The client sends one command,
``?WATCH={"enable":true,"json":true}``, and reads newline-terminated JSON objects. It checks the
VERSION banner (protocol major 3) and turns each TPV (time-position-velocity) report into a
:class:`~hal.gnss.Fix`, or into None when the report has no position (mode 0 or 1). Other classes
(DEVICES, WATCH, SKY, ...) are read and skipped.

Anything else raises :class:`GpsdError` naming what was wrong: a line that is not JSON, a line
longer than MAX_LINE, a banner that is not gpsd's, a TPV with a position out of range. The
reasons for writing this rather than using a library are in docs/decisions.md ("GNSS").
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hal.errors import DeviceError
from hal.gnss import Fix

__all__ = [
    "MAX_LINE",
    "WATCH",
    "GpsdClient",
    "GpsdError",
    "is_unix_path",
    "parse_time",
    "parse_tpv",
]

WATCH = b'?WATCH={"enable":true,"json":true}\n'
MAX_LINE = 64 * 1024  # gpsd's longest reports (SKY with many satellites) are a few KiB


class GpsdError(DeviceError):
    """gpsd cannot be reached, or it sent something that is not its protocol."""


def is_unix_path(host: str) -> bool:
    """Whether ``host`` names a Unix socket (an absolute path) rather than a TCP host."""
    return host.startswith("/")


def parse_time(value: object) -> float:
    """gpsd's ISO 8601 UTC time (``2024-06-01T00:00:01.000Z``) as epoch seconds."""
    if not isinstance(value, str) or not value.endswith("Z") or len(value) > 40:
        raise GpsdError(f"TPV time must be an ISO 8601 UTC string ending in Z, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        raise GpsdError(f"TPV time is not ISO 8601: {value!r}") from None
    if parsed.utcoffset() is None or parsed.year < 1980:
        raise GpsdError(f"TPV time is before GPS time began (1980): {value!r}")
    return parsed.timestamp()


def _optional(report: dict[str, Any], key: str) -> float | None:
    value = report.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GpsdError(f"TPV {key} must be a finite number, got {value!r}")
    return float(value)


def parse_tpv(report: dict[str, Any], received: float) -> Fix | None:
    """A TPV report as a Fix received at monotonic time ``received``, or None without a fix.

    A 2d/3d report needs ``time``, ``lat`` and ``lon``; gpsd leaves out what the receiver did not
    say, so the rest may be absent. GpsdError for anything that does not fit.
    """
    mode = report.get("mode")
    if mode in (0, 1):
        return None
    if mode not in (2, 3):
        raise GpsdError(f"TPV mode must be 0, 1, 2 or 3, got {mode!r}")
    if "time" not in report or "lat" not in report or "lon" not in report:
        # gpsd reports a fix before the receiver's time is known on a cold start: not usable.
        return None
    fix_time = parse_time(report["time"])
    alt = _optional(report, "altMSL")
    if alt is None:
        alt = _optional(report, "alt")  # gpsd before 3.20 had only "alt"
    try:
        return Fix(
            time=fix_time,
            received=received,
            mode="3d" if mode == 3 else "2d",
            lat=_optional(report, "lat"),  # type: ignore[arg-type]  # present: checked above
            lon=_optional(report, "lon"),  # type: ignore[arg-type]
            alt_m=alt if mode == 3 else None,
            eph_m=_optional(report, "eph"),
            epv_m=_optional(report, "epv") if mode == 3 else None,
            speed_mps=_optional(report, "speed"),
            track_deg=_optional(report, "track"),
        )
    except ValueError as exc:
        raise GpsdError(f"TPV out of range: {exc}") from None


class GpsdClient:
    """One connection to gpsd, watching JSON reports.

    ``host`` is a host name or address (TCP, with ``port``), or the absolute path of a Unix
    socket (``port`` is then unused).
    ``now`` gives the monotonic time a fix is stamped with on arrival (the device clock's
    ``monotonic``). :meth:`connect` raises GpsdError if gpsd does not answer with its banner
    within ``timeout`` seconds. :meth:`read` returns the next TPV report (a Fix or None), or
    raises TimeoutError when none came in time. :meth:`close` may be called from another thread
    to end a blocked :meth:`read`; it is safe to call twice.
    """

    def __init__(self, host: str, port: int, now: Callable[[], float], timeout: float = 5.0):
        self.host = host
        self.port = port
        self._now = now
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""
        self.version: str | None = None
        self.address = host if is_unix_path(host) else f"{host}:{port}"
        """Where gpsd is, as messages name it: ``host:port`` or the socket's path."""

    def __repr__(self) -> str:
        return f"GpsdClient({self.address})"

    def connect(self) -> None:
        self.close()
        try:
            self._sock = self._open()
            self._sock.sendall(WATCH)
        except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
            self.close()
            raise GpsdError(f"gpsd at {self.address} cannot be reached: {exc}") from exc
        self._buf = b""
        try:
            self.version = self._banner()
        except BaseException:
            self.close()  # a connection that did not become a gpsd session is not kept
            raise

    def _banner(self) -> str:
        banner = self._message(time.monotonic() + self._timeout)
        if banner.get("class") != "VERSION":
            raise GpsdError(
                f"{self.address} is not gpsd: its first report is "
                f"{str(banner.get('class'))[:40]!r}, not VERSION"
            )
        major = banner.get("proto_major")
        if major != 3:
            raise GpsdError(f"gpsd speaks protocol {major!r}; this client knows protocol 3")
        return str(banner.get("release", "?"))[:40]

    def _open(self) -> socket.socket:
        if not is_unix_path(self.host):
            return socket.create_connection((self.host, self.port), timeout=self._timeout)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self._timeout)
            sock.connect(self.host)
        except BaseException:
            sock.close()
            raise
        return sock

    def read(self, timeout: float | None = None) -> Fix | None:
        """The next TPV report: a Fix, or None for a report without a position."""
        deadline = time.monotonic() + (self._timeout if timeout is None else timeout)
        while True:
            message = self._message(deadline)
            if message.get("class") == "TPV":
                return parse_tpv(message, self._now())
            if message.get("class") == "ERROR":
                raise GpsdError(f"gpsd error: {str(message.get('message'))[:200]}")

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _message(self, deadline: float) -> dict[str, Any]:
        line = self._line(deadline)
        try:
            message = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise GpsdError(f"gpsd sent a line that is not JSON: {line[:80]!r}") from None
        if not isinstance(message, dict):
            raise GpsdError(f"gpsd sent JSON that is not an object: {line[:80]!r}")
        return message

    def _line(self, deadline: float) -> bytes:
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line, self._buf = self._buf[:end], self._buf[end + 1 :]
                if line.strip():
                    return line
                continue
            if len(self._buf) > MAX_LINE:
                raise GpsdError(f"gpsd sent a line longer than {MAX_LINE} bytes")
            sock = self._sock
            if sock is None:
                raise GpsdError("not connected to gpsd")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no report from gpsd at {self.address} in time")
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                raise TimeoutError(f"no report from gpsd at {self.address} in time") from None
            except OSError as exc:
                raise GpsdError(f"reading from gpsd at {self.address} failed: {exc}") from exc
            if not data:
                raise GpsdError(f"gpsd at {self.address} closed the connection")
            self._buf += data
