"""The bandwidth cap and the byte count: bytes are paced as the HTTP client reads a body.

:class:`Pace` is a token bucket: reading ``n`` bytes moves the earliest time of the next read
on by ``n / rate``, and a read that comes earlier waits. A burst of at most ``BURST`` bytes goes
at once, so a short body is not held back for nothing, and the long-run rate never exceeds
the cap. The clock and the sleep are passed in, so tests run on a virtual clock.

:class:`PacedBody` is the body handed to boto3: a read-only, seekable view of bytes in memory
whose reads go through the pace. A retry seeks back to 0 and reads again; the progress count
then goes back too, so it shows what the store has, not what was tried.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable

__all__ = ["BURST", "Pace", "PacedBody"]

BURST = 256 * 1024


class Pace:
    """Caps the rate of reads (bytes/s; None: no cap) and counts the bytes sent."""

    def __init__(
        self,
        limit: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        if limit is not None and not limit > 0:
            raise ValueError(f"a bandwidth cap is a positive number of bytes/s, not {limit}")
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._next = clock()
        self._lock = threading.Lock()
        self.sent = 0
        """Bytes read by the HTTP client and not taken back by a retry."""
        self.done = 0
        """Bytes counted towards the progress: sent, or found already in the bucket."""
        self._on_progress = on_progress

    def take(self, n: int) -> None:
        """Account for ``n`` bytes about to be sent; wait while over the cap."""
        with self._lock:
            self.sent += n
            self.done += n
            wait = 0.0
            if self.limit is not None:
                now = self._clock()
                start = max(self._next, now - BURST / self.limit)
                self._next = start + n / self.limit
                wait = self._next - now
        self._progress()
        if wait > 0:
            self._sleep(wait)

    def give_back(self, n: int) -> None:
        """A retry will send ``n`` bytes again: they do not count twice."""
        with self._lock:
            self.sent -= n
            self.done -= n
        self._progress()

    def skip(self, n: int) -> None:
        """``n`` bytes need not be sent (already in the bucket): progress, not bandwidth."""
        with self._lock:
            self.done += n
        self._progress()

    def _progress(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.done)


class PacedBody(io.RawIOBase):
    """Bytes in memory, read through a :class:`Pace`."""

    def __init__(self, data: bytes | memoryview, pace: Pace) -> None:
        super().__init__()
        self._data = memoryview(data)
        self._pace = pace
        self._pos = 0
        self._counted = 0  # the furthest position read since the last seek back

    def __len__(self) -> int:
        return len(self._data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._data)}[whence]
        self._pos = min(max(base + offset, 0), len(self._data))
        if self._pos < self._counted:
            self._pace.give_back(self._counted - self._pos)
            self._counted = self._pos
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), len(self._data) - self._pos)
        if n <= 0:
            return 0
        end = self._pos + n
        if end > self._counted:
            self._pace.take(end - max(self._pos, self._counted))
            self._counted = end
        buffer[:n] = self._data[self._pos : end]
        self._pos = end
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._data) - self._pos
        buf = bytearray(min(size, max(len(self._data) - self._pos, 0)))
        n = self.readinto(memoryview(buf))
        return bytes(buf[:n])
