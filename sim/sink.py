"""CollectingSink: a FrameSink that keeps every frame it takes, for tests and tools.

Not simulated: a consumer's timing. It consumes instantly until it is full, then never again.
"""

from __future__ import annotations

import threading

from hal.camera import EncodedFrame

__all__ = ["CollectingSink"]

_FULL_BACKLOG = 1 << 30


class CollectingSink:
    """Keeps frames in ``frames``; after ``capacity`` of them it refuses more.

    While it has room it reports no backlog; once full it reports a huge one, so a simulated
    camera at speed "max" pauses (and virtual time with it) instead of racing on.
    """

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = capacity
        self.frames: list[EncodedFrame] = []
        self.refused = 0
        self._cond = threading.Condition()

    def put_nowait(self, frame: EncodedFrame) -> bool:
        with self._cond:
            if self._full():
                self.refused += 1
                return False
            self.frames.append(frame)
            self._cond.notify_all()
            return True

    def backlog(self) -> int:
        with self._cond:
            return _FULL_BACKLOG if self._full() else 0

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EncodedFrame]:
        """Block until ``count`` frames arrived (TimeoutError after ``timeout`` real seconds)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.frames) >= count, timeout):
                raise TimeoutError(f"{len(self.frames)} of {count} frames in {timeout}s")
            return list(self.frames[:count])

    def _full(self) -> bool:
        return self.capacity is not None and len(self.frames) >= self.capacity
