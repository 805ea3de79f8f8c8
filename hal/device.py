"""Device: the start/stop/close life of a device that delivers to a sink from its own thread.

The camera and the GNSS receiver share it: starting a closed or running device is a
DeviceError; :meth:`Device.stop` and :meth:`Device.close` are safe to call twice; a start
clears the last fault. Subclasses say what starting and stopping mean (:meth:`_started`,
:meth:`_stopped`), and backends what their hardware does (``_start``, ``_stop``, ``_close``).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from hal.errors import DeviceError

__all__ = ["Device"]

SinkT = TypeVar("SinkT")


class Device(ABC, Generic[SinkT]):
    _kind = "device"
    """What messages call it."""

    def __init__(self) -> None:
        self._state_lock = threading.RLock()
        self._running = False
        self._closed = False
        self._fault: BaseException | None = None

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def fault(self) -> BaseException | None:
        """The error that stopped the device's thread, if one did; None while healthy."""
        return self._fault

    def start(self, sink: SinkT) -> None:
        """Start delivering to ``sink``."""
        with self._state_lock:
            if self._closed:
                raise DeviceError(f"{self._kind} is closed")
            if self._running:
                raise DeviceError(f"{self._kind} is already running")
            self._fault = None
            self._started(sink)
            self._running = True

    def stop(self) -> None:
        """Stop delivering; nothing is delivered after this returns."""
        with self._state_lock:
            if not self._running:
                return
            self._running = False
            self._stopped()

    def close(self) -> None:
        """Stop and release the device."""
        with self._state_lock:
            if self._closed:
                return
            self.stop()
            self._closed = True
        self._close()  # outside the lock, so that it may join a thread that takes the lock

    def _set_fault(self, exc: BaseException) -> None:
        """Record the error that ended the device's thread (backends call this)."""
        self._fault = exc

    @abstractmethod
    def _started(self, sink: SinkT) -> None:
        """Begin delivering to ``sink`` (under the state lock)."""

    @abstractmethod
    def _stopped(self) -> None:
        """Stop delivering; return once nothing more can reach the sink."""

    def _close(self) -> None:
        return None
