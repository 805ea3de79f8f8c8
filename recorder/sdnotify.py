"""systemd notification (READY, STATUS, WATCHDOG), written to ``$NOTIFY_SOCKET`` directly.

The one deliberate exception to "use the library": it is a datagram of text to a Unix socket,
as systemd's own self-contained example shows, and needs no dependency.

The watchdog is fed only while frames flow: :meth:`Notifier.frame` marks that one arrived and
:meth:`Notifier.tick` pings at most every half ``WatchdogSec``, and only if a frame came since the
last ping. A stalled camera therefore stops the pings, and systemd restarts the service.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping

__all__ = ["Notifier"]


class Notifier:
    def __init__(
        self,
        env: Mapping[str, str] = os.environ,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        addr = env.get("NOTIFY_SOCKET", "")
        self._addr = "\0" + addr[1:] if addr.startswith("@") else addr
        self._clock = clock
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        for_us = not pid or pid == str(os.getpid())
        self.interval = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 and for_us else 0.0
        self._fresh = False
        self._last_ping = clock()
        self.pings = 0

    @property
    def enabled(self) -> bool:
        return bool(self._addr)

    def send(self, message: str) -> bool:
        if not self._addr:
            return False
        try:
            flags = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
            with socket.socket(socket.AF_UNIX, flags) as s:
                s.connect(self._addr)
                s.send(message.encode())  # never blocks: a full queue drops the message
        except OSError:
            return False  # systemd gone, busy or unreachable: never a reason to stall recording
        return True

    def ready(self, status: str) -> None:
        self.send(f"READY=1\nSTATUS={status}")

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def frame(self) -> None:
        """A frame arrived (called per frame: keep it this cheap)."""
        self._fresh = True

    def tick(self) -> None:
        if not self.interval or not self._fresh:
            return
        now = self._clock()
        if now - self._last_ping >= self.interval:
            if self.send("WATCHDOG=1"):
                self.pings += 1
            self._last_ping, self._fresh = now, False
