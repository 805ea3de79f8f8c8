"""Control: how the console's threads reach the recorder thread, and how that ends at shutdown.

No recorder loop runs here unless a test starts one: a list stands in for the Recorder, and a
request is a function that appends to it. Waits are bounded by thread joins, never timed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from recorder.control import Control, ControlStopping, ControlTimeout

Recorder = list[Any]


def in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Run ``fn`` on a thread; the list gets its result or the exception it raised."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(fn())
        except Exception as e:
            out.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


@contextmanager
def recorder_loop(control: Control, rec: Recorder) -> Iterator[None]:
    """A recorder thread that runs requests until the block ends."""
    done = threading.Event()

    def loop() -> None:
        while not done.wait(0.001):
            control.run_pending(rec)  # type: ignore[arg-type]

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield
    finally:
        done.set()
        t.join()


def test_a_call_is_refused_at_once_when_the_recorder_begins_to_stop() -> None:
    control, rec = Control(), []
    # Whether the call is queued before stopping() (it is woken) or after (it is refused), it
    # returns long before its 60 s timeout, and the request never runs.
    waiter, out = in_thread(lambda: control.call(lambda r: r.append("late"), timeout=60))
    control.stopping()
    waiter.join(timeout=5)
    assert not waiter.is_alive(), "a caller waited on a recorder that is stopping"
    assert len(out) == 1 and isinstance(out[0], ControlStopping)
    control.close(rec)  # type: ignore[arg-type]
    assert rec == [] and control.timeouts == 0


def test_posts_while_stopping_do_not_wait_and_run_in_order_at_close() -> None:
    control, rec = Control(), []
    control.stopping()
    poster, out = in_thread(
        lambda: [control.post(lambda r, i=i: r.append(i), timeout=60) for i in range(3)]
    )
    poster.join(timeout=5)
    assert not poster.is_alive(), "a post waited on a recorder that is stopping"
    assert out == [[None, None, None]] and rec == []
    control.close(rec)  # type: ignore[arg-type]
    assert rec == [0, 1, 2]
    with pytest.raises(ControlStopping):
        control.post(lambda r: r.append("after close"))
    with pytest.raises(ControlStopping):
        control.call(lambda r: r.append("after close"))
    assert rec == [0, 1, 2]


def test_while_the_recorder_runs_a_post_waits_for_it_and_raises_its_error() -> None:
    control, rec = Control(), []

    def fails(r: Recorder) -> None:
        raise ValueError("audit refused")

    with recorder_loop(control, rec):
        control.post(lambda r: r.append("audited"))
        assert rec == ["audited"]  # it ran before post returned
        with pytest.raises(ValueError, match="audit refused"):
            control.post(fails)
        assert control.call(len) == 1


def test_a_recorder_that_does_not_answer_times_out_and_a_late_post_still_runs() -> None:
    control, rec = Control(), []
    with pytest.raises(ControlTimeout):
        control.call(lambda r: r.append("never"), timeout=0.01)
    control.post(lambda r: r.append("late but kept"), timeout=0.01)
    assert control.timeouts == 1
    control.close(rec)  # type: ignore[arg-type]
    assert rec == ["late but kept"]  # the timed-out call was withdrawn; the post was kept
