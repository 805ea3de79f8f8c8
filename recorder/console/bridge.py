"""Bridge: copies bytes both ways between a serial port and the daemon's console socket.

``bodycam console-serve --port /dev/ttyGS0`` runs this, one process per tty (a systemd template
unit). It opens the port with pyserial at 115200 8N1 and connects to the daemon's Unix socket;
whichever side goes away, it reconnects. It never parses: the daemon does all of that. While the
daemon cannot be reached it tells whoever types, at most every NOTICE_EVERY_S, and discards
their bytes.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from pathlib import Path

import serial

__all__ = ["BAUDRATE", "DEFAULT_SOCKET", "Bridge", "open_port"]

log = logging.getLogger("bodycam.console")

BAUDRATE = 115200
DEFAULT_SOCKET = Path("/run/bodycam/console.sock")
NOTICE = b"\r\nbodycam: the camera's console is not running; retrying\r\n"
NOTICE_EVERY_S = 5.0
_READ_S = 0.2
_WRITE_S = 2.0


def open_port(port: str, baudrate: int = BAUDRATE, timeout: float = _READ_S) -> serial.SerialBase:
    """A device path or a pyserial URL (``loop://``, ``socket://host:port``) at ``baudrate`` 8N1."""
    return serial.serial_for_url(
        port,
        baudrate=baudrate,
        bytesize=serial.EIGHTBITS,
        parity=serial.PARITY_NONE,
        stopbits=serial.STOPBITS_ONE,
        timeout=timeout,
        write_timeout=_WRITE_S,
    )


class Bridge:
    def __init__(
        self,
        port: str,
        socket_path: Path = DEFAULT_SOCKET,
        *,
        baudrate: int = BAUDRATE,
        retry_s: float = 1.0,
    ) -> None:
        self.port = port
        self.socket_path = socket_path
        self.baudrate = baudrate
        self.retry_s = retry_s
        self.connections = 0
        """Times the daemon's socket was connected (tests watch it)."""

    def run(self, stop: threading.Event) -> None:
        """Bridge until ``stop`` is set, reopening the port and reconnecting as needed."""
        while not stop.is_set():
            try:
                ser = open_port(self.port, self.baudrate)
            except (serial.SerialException, OSError, ValueError) as e:
                log.warning("cannot open %s: %s; retrying", self.port, e)
                stop.wait(self.retry_s)
                continue
            log.info("serial console on %s at %d 8N1", self.port, self.baudrate)
            try:
                self._serve(ser, stop)
            finally:
                with contextlib.suppress(Exception):
                    ser.close()

    def _connect(self) -> socket.socket | None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(self.socket_path))
        except OSError:
            sock.close()
            return None
        sock.settimeout(_WRITE_S)
        self.connections += 1
        return sock

    def _serve(self, ser: serial.SerialBase, stop: threading.Event) -> None:
        """Until the serial port fails or ``stop``: connect to the daemon and pump."""
        noticed = next_try = float("-inf")
        while not stop.is_set():
            sock = self._connect() if time.monotonic() >= next_try else None
            if sock is None:
                next_try = max(next_try, time.monotonic() + self.retry_s)
                try:
                    data = ser.read(max(1, ser.in_waiting))
                    if data and time.monotonic() - noticed > NOTICE_EVERY_S:
                        noticed = time.monotonic()
                        ser.write(NOTICE)
                except serial.SerialTimeoutException:
                    pass
                except (serial.SerialException, OSError) as e:
                    log.warning("%s: %s; reopening", self.port, e)
                    return
                continue
            next_try = float("-inf")
            log.info("%s bridged to %s", self.port, self.socket_path)
            try:
                serial_lost = self._pump(ser, sock, stop)
            finally:
                sock.close()
            if serial_lost:
                return

    def _pump(self, ser: serial.SerialBase, sock: socket.socket, stop: threading.Event) -> bool:
        """Copy both ways until one side fails; True when it was the serial port."""
        done = threading.Event()
        serial_lost = threading.Event()

        def up() -> None:
            while not done.is_set() and not stop.is_set():
                try:
                    data = ser.read(max(1, ser.in_waiting))
                except (serial.SerialException, OSError) as e:
                    log.warning("%s: %s", self.port, e)
                    serial_lost.set()
                    break
                if data:
                    try:
                        sock.sendall(data)
                    except OSError as e:
                        log.warning("console socket: %s", e)
                        break
            done.set()

        reader = threading.Thread(target=up, name="bridge-up", daemon=True)
        reader.start()
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        try:
            while not done.is_set() and not stop.is_set():
                if not poller.poll(_READ_S * 1000):
                    continue
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    log.info("console socket closed; reconnecting")
                    break
                try:
                    ser.write(data)
                except serial.SerialTimeoutException:
                    log.warning("%s: nobody reading; %d bytes dropped", self.port, len(data))
                except (serial.SerialException, OSError) as e:
                    log.warning("%s: %s", self.port, e)
                    serial_lost.set()
                    break
        finally:
            done.set()
            reader.join()
        return serial_lost.is_set()
