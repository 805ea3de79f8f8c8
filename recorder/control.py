"""Control: how other threads (the console) ask the recorder thread to do something.

The recorder has one owner thread. A request is a function of the :class:`~recorder.recorder.
Recorder`; :meth:`Control.call` queues it and waits for its result, and the recorder loop runs
queued requests between frames (:meth:`Control.run_pending`). So a console can read a status,
set the clock or log to the audit trail without ever touching the recorder's state from its own
thread, and a slow or crashed console can never stall recording.

Shutdown, on the recorder thread::

    control.stopping()          nobody waits for this thread any more: every call() answers
                                ControlStopping at once, post()s are queued without waiting
    console.stop()              so this cannot stall; sessions queue their console_close
    control.close(rec)          what is queued runs (the console_close too); later requests
                                are refused
    rec.close(...)              the audit log closes

Errors::

    ControlError
    ├── ControlTimeout      the recorder did not answer in time (it is busy)
    └── ControlStopping     the recorder is shutting down, or has shut down
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from recorder.recorder import Recorder

__all__ = ["Control", "ControlError", "ControlStopping", "ControlTimeout"]

log = logging.getLogger("bodycam.control")

T = TypeVar("T")


class ControlError(Exception):
    """The recorder thread cannot answer a request."""


class ControlTimeout(ControlError, TimeoutError):
    """The recorder thread did not answer in time (it is busy)."""


class ControlStopping(ControlError):
    """The recorder thread is shutting down: it answers nobody any more."""


_Request = tuple[Callable[["Recorder"], object], "Future[object]"]


class Control:
    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders submissions against stopping() and close()
        self._stopping: Future[object] = Future()  # done once the recorder began to stop
        self._closed = False
        self.timeouts = 0
        """Requests whose caller gave up waiting for a recorder that was running."""

    # --- other threads -------------------------------------------------------------------------

    def call(self, fn: Callable[[Recorder], T], timeout: float = 3.0) -> T:
        """Run ``fn(recorder)`` on the recorder thread; return its result or raise its error.

        ControlTimeout after ``timeout`` seconds; ControlStopping at once when the recorder is
        stopping, whether before or during the wait (a request it had not run yet never runs).
        """
        fut = self._submit(fn, refuse_when_stopping=True)
        self._wait(fut, timeout)
        if fut.done():
            return fut.result()  # type: ignore[return-value]
        stopping = self._stopping.done()
        if not fut.cancel():  # the recorder is running it at this moment: it answers at once
            return fut.result(timeout)  # type: ignore[return-value]
        if stopping:
            raise ControlStopping("the recorder is stopping")
        with self._lock:
            self.timeouts += 1
        raise ControlTimeout("the recorder did not answer in time")

    def post(self, fn: Callable[[Recorder], object], timeout: float = 3.0) -> None:
        """Have ``fn(recorder)`` run on the recorder thread, in order with every other request,
        before the recorder closes its audit log (for audit events, which must not be lost).

        While the recorder runs this waits for ``fn`` (up to ``timeout``; then ``fn`` stays
        queued), so a flood of posts goes at the recorder's pace and ``fn``'s error is raised
        here. Once the recorder is stopping it returns at once and ``fn`` runs in the shutdown
        sequence (an error is then logged). ControlStopping if the recorder has already closed.
        """
        fut = self._submit(fn, refuse_when_stopping=False)
        self._wait(fut, timeout)
        if fut.done():
            fut.result()
        else:
            fut.add_done_callback(_log_failure)

    # --- the recorder thread -------------------------------------------------------------------

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

    def stopping(self) -> None:
        """The recorder begins to shut down: wake every waiter, refuse every later call()."""
        with self._lock:
            if not self._stopping.done():
                self._stopping.set_result(None)

    def close(self, recorder: Recorder) -> None:
        """Run what is still queued, then refuse every request (the recorder's last act)."""
        self.stopping()
        with self._lock:
            self._closed = True
        self.run_pending(recorder)

    # --- internals -----------------------------------------------------------------------------

    def _submit(
        self, fn: Callable[[Recorder], object], *, refuse_when_stopping: bool
    ) -> Future[object]:
        with self._lock:
            if self._closed:
                raise ControlStopping("the recorder has stopped")
            if refuse_when_stopping and self._stopping.done():
                raise ControlStopping("the recorder is stopping")
            fut: Future[object] = Future()
            self._requests.put((fn, fut))
        return fut

    def _wait(self, fut: Future[object], timeout: float) -> None:
        """Until ``fut`` is done, the recorder begins to stop, or ``timeout`` passes."""
        wait([fut, self._stopping], timeout, return_when=FIRST_COMPLETED)


def _log_failure(fut: Future[object]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.error("a request queued for the recorder failed: %s", fut.exception())
