"""Control: how other threads (the console) ask the recorder thread to do something.

The recorder has one owner thread. A request is a function of the :class:`~recorder.recorder.
Recorder`; :meth:`Control.call` queues it and waits for its result, and the recorder loop runs
queued requests between frames (:meth:`Control.run_pending`). So a console can read a status,
set the clock or log to the audit trail without ever touching the recorder's state from its own
thread, and a slow or crashed console can never stall recording.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from recorder.recorder import Recorder

__all__ = ["Control", "ControlTimeout"]

T = TypeVar("T")


class ControlTimeout(TimeoutError):
    """The recorder thread did not answer in time (it is busy, or stopping)."""


class Control:
    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Callable[[Recorder], object], Future[object]]]
        self._requests = queue.SimpleQueue()

    def call(self, fn: Callable[[Recorder], T], timeout: float = 3.0) -> T:
        """Run ``fn(recorder)`` on the recorder thread; return its result or raise its error."""
        fut: Future[object] = Future()
        self._requests.put((fn, fut))
        try:
            return fut.result(timeout)  # type: ignore[return-value]
        except TimeoutError:
            fut.cancel()
            raise ControlTimeout("the recorder did not answer in time") from None

    def run_pending(self, recorder: Recorder) -> None:
        """Run every queued request (the recorder loop calls this between frames)."""
        while not self._requests.empty():  # cheap on the usual pass, when nothing waits
            try:
                fn, fut = self._requests.get_nowait()
            except queue.Empty:
                return
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(recorder))
            except Exception as e:
                fut.set_exception(e)
