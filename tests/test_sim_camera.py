"""The simulated camera: burn-in and read-back, time driving, stalls, backlog pacing."""

from __future__ import annotations

import itertools
import threading
import time

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.camera import EncodedFrame
from sim.camera import SimCamera
from sim.clock import SimClock
from sim.scene import Scene
from sim.sink import CollectingSink
from sim.watermark import burn_frame_counter, read_frame_counter
from tests.profiles import examples

FPS = 30


def make_camera(clock: SimClock, **kw: object) -> SimCamera:
    args: dict[str, object] = dict(
        clock=clock,
        width=160,
        height=120,
        fps=FPS,
        bitrate=200_000,
        keyframe_interval_s=1.0,
        device_id="CAM-7",
    )
    args.update(kw)
    return SimCamera(**args)  # type: ignore[arg-type]


def decode_counters(frames: list[EncodedFrame], height: int) -> list[int]:
    decoder = av.CodecContext.create("h264", "r")
    counters = []
    for frame in frames:
        for picture in decoder.decode(av.Packet(frame.data)):
            counters.append(read_frame_counter(picture.to_ndarray(format="yuv420p")[:height]))
    return counters


# -- watermark ----------------------------------------------------------------------------------


@settings(max_examples=examples(200), deadline=None)
@given(
    counter=st.integers(0, 2**32 - 1),
    size=st.sampled_from([(160, 120), (320, 240), (640, 360), (1280, 720)]),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_burnt_counter_reads_back_exactly(counter: int, size: tuple[int, int], seed: int) -> None:
    w, h = size
    y_plane = np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)
    burn_frame_counter(y_plane, counter)
    assert read_frame_counter(y_plane) == counter


def test_counters_survive_h264_round_trip_through_the_camera() -> None:
    camera = make_camera(SimClock())
    sink = CollectingSink(capacity=75)
    camera.start(sink)
    frames = sink.wait_for(75)
    camera.close()
    assert decode_counters(frames, 120) == list(range(75))


def test_a_frame_without_a_strip_is_refused_not_misread() -> None:
    with pytest.raises(ValueError, match="no frame-counter strip"):
        read_frame_counter(np.full((120, 160), 20, np.uint8))
    with pytest.raises(ValueError, match="too small"):
        burn_frame_counter(np.zeros((60, 100), np.uint8), 1)
    with pytest.raises(ValueError, match="32 bits"):
        burn_frame_counter(np.zeros((120, 160), np.uint8), 2**32)


def test_the_scene_moves_and_carries_the_counter() -> None:
    scene = Scene(320, 240, "CAM-7")
    a = scene.render(0.0, 1_717_200_000.0, 5).copy()
    b = scene.render(1.0, 1_717_200_001.0, 6)
    assert a.shape == (360, 320)
    assert read_frame_counter(a[:240]) == 5 and read_frame_counter(b[:240]) == 6
    assert np.count_nonzero(a[:150] != b[:150]) > 1000  # the picture above the strip changed


# -- time -------------------------------------------------------------------------------------


def test_each_frame_advances_the_clock_first_so_due_actions_run_before_it() -> None:
    clock = SimClock()
    camera = make_camera(clock)
    seen: list[int] = []
    clock.call_at(10 / FPS, lambda: seen.append(camera.frames_delivered))
    sink = CollectingSink(capacity=20)
    camera.start(sink)
    frames = sink.wait_for(20)
    camera.close()
    assert seen == [10]  # frames 0..9 out, frame 10 (at exactly 10/FPS) not yet
    assert [f.timestamp_us for f in frames] == [int(n / FPS * 1e6) for n in range(20)]


def test_a_stall_delivers_nothing_while_virtual_time_moves_on() -> None:
    clock = SimClock()
    camera = make_camera(clock)
    clock.call_at(0.5, lambda: camera.stall(2.0))
    sink = CollectingSink(capacity=40)
    camera.start(sink)
    frames = sink.wait_for(40)
    camera.close()
    stamps = [f.timestamp_us for f in frames]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert max(gaps) >= 2_000_000
    assert stamps[15] == 2_500_000  # frames 0..14 before the stall, then it resumes at 2.5 s
    assert "stall" in [what for _, what, _ in camera.history]
    assert decode_counters(frames, 120) == list(range(40))


class SlowConsumer:
    """Reports a long backlog from frame 20 until it has been asked ``patience`` times."""

    def __init__(self, patience: int) -> None:
        self.frames: list[EncodedFrame] = []
        self.patience = patience
        self.busy = False
        self.put_while_busy = 0
        self.done = threading.Event()

    def put_nowait(self, frame: EncodedFrame) -> bool:
        if self.busy:
            self.put_while_busy += 1
        self.frames.append(frame)
        if len(self.frames) == 20:
            self.busy = True
        if len(self.frames) == 30:
            self.done.set()
        return True

    def backlog(self) -> int:
        if self.busy:
            self.patience -= 1
            self.busy = self.patience > 0
            return 100
        return 0


def test_at_max_speed_the_camera_waits_for_a_backlogged_consumer_instead_of_dropping() -> None:
    clock = SimClock()
    camera = make_camera(clock)
    consumer = SlowConsumer(patience=5)
    camera.start(consumer)
    assert consumer.done.wait(30)
    camera.close()
    assert consumer.put_while_busy == 0
    assert consumer.patience == 0
    assert decode_counters(consumer.frames[:30], 120) == list(range(30))


def test_time_keeps_moving_after_stop_so_a_scenario_can_end() -> None:
    clock = SimClock()
    camera = make_camera(clock)
    sink = CollectingSink(capacity=3)
    camera.start(sink)
    sink.wait_for(3)
    camera.stop()
    ended = threading.Event()
    clock.call_at(clock.monotonic() + 5.0, ended.set)
    assert ended.wait(30)
    camera.close()
    after = clock.monotonic()
    assert after >= 5.0
    assert clock.monotonic() == after  # closed: time no longer moves on its own


def test_before_the_first_start_virtual_time_stands_still() -> None:
    clock = SimClock()
    camera = make_camera(clock)
    assert clock.monotonic() == 0.0
    camera.close()
    assert clock.monotonic() == 0.0


def test_a_failing_scheduled_action_is_logged_and_frames_carry_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = SimClock()
    camera = make_camera(clock)

    def broken() -> None:
        raise RuntimeError("scenario bug")

    clock.call_at(0.2, broken)
    sink = CollectingSink(capacity=15)
    camera.start(sink)
    sink.wait_for(15)
    camera.close()
    assert camera.fault is None
    assert any(what == "action_failed" for _, what, _ in camera.history)
    assert "scheduled action failed" in caplog.text


def test_realtime_speed_paces_frames_to_the_host_clock() -> None:
    camera = make_camera(SimClock(), speed="realtime")
    sink = CollectingSink(capacity=7)
    began = time.monotonic()
    camera.start(sink)
    sink.wait_for(7)
    elapsed = time.monotonic() - began
    camera.close()
    assert elapsed >= 6 / FPS * 0.9  # a floor only: pacing may be late, never early
