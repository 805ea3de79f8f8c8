"""The Camera contract: H.264 access units delivered from the camera's own thread to a sink."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

from hal.errors import DeviceError

__all__ = ["Camera", "EncodedFrame", "FrameSink"]


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One H.264 access unit in Annex-B form.

    Every keyframe is an IDR picture that carries its SPS and PPS in-band, so a reader can start
    decoding at any keyframe. ``timestamp_us`` is the sensor's monotonic time (the backend's
    ``Clock.monotonic()``) in microseconds; it increases strictly from frame to frame.
    """

    data: bytes
    keyframe: bool
    timestamp_us: int


class FrameSink(Protocol):
    """Where a camera puts its frames: the consumer's bounded queue."""

    def put_nowait(self, frame: EncodedFrame) -> bool:
        """Take ``frame``; False means the queue was full and it was dropped. MUST never block."""
        ...

    def backlog(self) -> int:
        """How many frames are queued and not yet consumed."""
        ...


class Camera(ABC):
    """A camera that encodes and delivers frames on its own thread while it runs.

    Contract for every backend:

    - Frames are delivered from the camera's own thread (as picamera2's encoder thread does),
      through :meth:`_deliver`. The camera never blocks on the sink.
    - Every :meth:`start` begins with a keyframe; keyframes then fall every
      ``keyframe_interval_s`` exactly, each with SPS/PPS in-band.
    - Timestamps are strictly increasing, across stop/start too.
    - No frame is delivered after :meth:`stop` returns. :meth:`stop` and :meth:`close` are safe to
      call twice; a closed camera cannot be started again (DeviceError).

    MUST override: :meth:`_start` (begin delivering to the sink) and :meth:`_stop` (stop
    delivering, return once the last frame has been handed over).
    MAY override: :meth:`_close` (release the hardware; called once, after :meth:`_stop`).
    """

    def __init__(self, *, width: int, height: int, fps: int) -> None:
        self._width = width
        self._height = height
        self._fps = fps
        self._state_lock = threading.RLock()
        self._running = False
        self._closed = False
        self._delivered = 0
        self._fault: BaseException | None = None

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def fps(self) -> int:
        return self._fps

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def frames_delivered(self) -> int:
        """Frames handed to a sink since the camera was made (whether or not the sink kept them)."""
        return self._delivered

    @property
    def fault(self) -> BaseException | None:
        """The error that stopped the camera's thread, if one did; None while healthy."""
        return self._fault

    def start(self, sink: FrameSink) -> None:
        """Start delivering frames to ``sink``, beginning with a keyframe."""
        with self._state_lock:
            if self._closed:
                raise DeviceError("camera is closed")
            if self._running:
                raise DeviceError("camera is already running")
            self._fault = None
            self._start(sink)
            self._running = True

    def stop(self) -> None:
        """Stop delivering frames; no frame is delivered after this returns."""
        with self._state_lock:
            if not self._running:
                return
            self._running = False
            self._stop()

    def close(self) -> None:
        """Stop and release the camera."""
        with self._state_lock:
            if self._closed:
                return
            self.stop()
            self._closed = True
        self._close()  # outside the lock, so that it may join a thread that takes the lock

    def _deliver(self, sink: FrameSink, frame: EncodedFrame) -> bool:
        """Hand one frame to the sink (backends call this from their thread)."""
        self._delivered += 1
        return sink.put_nowait(frame)

    def _set_fault(self, exc: BaseException) -> None:
        """Record the error that ended the camera's thread (backends call this)."""
        self._fault = exc

    @abstractmethod
    def _start(self, sink: FrameSink) -> None: ...

    @abstractmethod
    def _stop(self) -> None: ...

    def _close(self) -> None:
        return None
