"""The Camera contract: H.264 access units delivered from the camera's own thread to a sink."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

from hal.device import Device

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


class Camera(Device[FrameSink]):
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

    _kind = "camera"

    def __init__(self, *, width: int, height: int, fps: int) -> None:
        super().__init__()
        self._width = width
        self._height = height
        self._fps = fps
        self._delivered = 0

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
    def frames_delivered(self) -> int:
        """Frames handed to a sink since the camera was made (whether or not the sink kept them)."""
        return self._delivered

    def _started(self, sink: FrameSink) -> None:
        self._start(sink)  # beginning with a keyframe

    def _stopped(self) -> None:
        self._stop()

    def _deliver(self, sink: FrameSink, frame: EncodedFrame) -> bool:
        """Hand one frame to the sink (backends call this from their thread)."""
        self._delivered += 1
        return sink.put_nowait(frame)

    @abstractmethod
    def _start(self, sink: FrameSink) -> None: ...

    @abstractmethod
    def _stop(self) -> None: ...
