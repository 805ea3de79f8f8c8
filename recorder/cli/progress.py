"""A progress bar on stderr, drawn only when stderr is a terminal (never in a log or a pipe)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Bar"]

_REDRAW_S = 0.1


class Bar:
    """``bar(done, total)`` draws ``label [####    ]  42.0% 12/30 MiB``, with the rate if asked."""

    def __init__(
        self,
        label: str,
        *,
        rate: bool = False,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.label = label
        self.rate = rate
        self._clock = clock
        self._start = clock()
        self._drawn = float("-inf")
        self._ended = False
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        with self._lock:  # offload's senders report from several threads
            if not self._ended:
                self._draw(done, total)

    def _draw(self, done: int, total: int) -> None:
        now = self._clock()
        if done < total and now - self._drawn < _REDRAW_S:
            return
        self._drawn = now
        frac = min(done / total, 1.0)
        bar = "#" * int(frac * 40)
        line = f"\r{self.label} [{bar:<40}] {frac:6.1%} {done >> 20}/{total >> 20} MiB"
        if self.rate and now > self._start:
            line += f" {done / (now - self._start) / (1 << 20):6.1f} MiB/s"
        self.stream.write(line)
        if done >= total:
            self.stream.write("\n")
            self._ended = True
        self.stream.flush()
