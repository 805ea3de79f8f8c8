"""The camera contract, written once and run against every camera that can be built here.

A maker takes a CameraSpec and returns an unstarted Camera. Only the simulator's is listed for
now; the Pi backend's maker joins CAMERA_MAKERS when it exists (skipping where it cannot load).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import av
import pytest

from hal.camera import Camera, EncodedFrame
from hal.errors import DeviceError
from sim.camera import SimCamera
from sim.clock import SimClock
from sim.sink import CollectingSink


@dataclass(frozen=True)
class CameraSpec:
    width: int = 160
    height: int = 120
    fps: int = 30
    bitrate: int = 200_000
    keyframe_interval_s: float = 0.5

    @property
    def gop(self) -> int:
        return round(self.fps * self.keyframe_interval_s)


def make_sim_camera(spec: CameraSpec) -> Camera:
    return SimCamera(
        clock=SimClock(),
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        bitrate=spec.bitrate,
        keyframe_interval_s=spec.keyframe_interval_s,
        device_id="CONTRACT",
    )


CAMERA_MAKERS: list[object] = [pytest.param(make_sim_camera, id="sim")]

SPEC = CameraSpec()
RUN = 3 * SPEC.gop + 5  # frames per run: three keyframe intervals and a bit


@pytest.fixture(params=CAMERA_MAKERS)
def camera(request: pytest.FixtureRequest) -> Iterator[Camera]:
    maker: Callable[[CameraSpec], Camera] = request.param
    cam = maker(SPEC)
    yield cam
    cam.close()


def run(camera: Camera, count: int = RUN) -> list[EncodedFrame]:
    sink = CollectingSink(capacity=count)
    camera.start(sink)
    try:
        return sink.wait_for(count)
    finally:
        camera.stop()


def nal_types(access_unit: bytes) -> list[int]:
    """The NAL unit types of an Annex-B access unit."""
    types = []
    i = access_unit.find(b"\x00\x00\x01")
    while i >= 0:
        if i + 3 < len(access_unit):
            types.append(access_unit[i + 3] & 0x1F)
        i = access_unit.find(b"\x00\x00\x01", i + 3)
    return types


def test_properties_come_from_the_settings(camera: Camera) -> None:
    assert (camera.width, camera.height, camera.fps) == (SPEC.width, SPEC.height, SPEC.fps)
    assert not camera.is_running


def test_the_first_frame_is_a_keyframe(camera: Camera) -> None:
    assert run(camera, 1)[0].keyframe


def test_keyframes_fall_exactly_every_interval(camera: Camera) -> None:
    frames = run(camera)
    keyframes = [i for i, f in enumerate(frames) if f.keyframe]
    assert keyframes == list(range(0, RUN, SPEC.gop))


def test_timestamps_increase_strictly_at_the_frame_rate(camera: Camera) -> None:
    stamps = [f.timestamp_us for f in run(camera)]
    steps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(step > 0 for step in steps)
    assert sum(steps) / len(steps) == pytest.approx(1e6 / SPEC.fps, rel=0.05)


def test_every_keyframe_carries_sps_pps_and_an_idr(camera: Camera) -> None:
    for frame in run(camera):
        types = nal_types(frame.data)
        assert frame.data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01"))
        if frame.keyframe:
            assert {7, 8, 5} <= set(types), types
        else:
            assert 5 not in types, types


def test_frames_flow_again_after_stop_and_start(camera: Camera) -> None:
    first = run(camera)
    assert not camera.is_running
    second = run(camera)
    assert second[0].keyframe
    assert [i for i, f in enumerate(second) if f.keyframe] == list(range(0, RUN, SPEC.gop))
    assert second[0].timestamp_us > first[-1].timestamp_us
    assert camera.frames_delivered >= 2 * RUN


def test_no_frame_reaches_a_sink_after_stop_returns(camera: Camera) -> None:
    old = CollectingSink()
    camera.start(old)
    old.wait_for(5)
    camera.stop()
    kept = len(old.frames)
    run(camera, 10)  # the camera is busy with another sink now
    assert len(old.frames) == kept


def test_frames_decode_with_pyav(camera: Camera) -> None:
    decoder = av.CodecContext.create("h264", "r")
    pictures = 0
    for frame in run(camera):
        for picture in decoder.decode(av.Packet(frame.data)):
            assert (picture.width, picture.height) == (SPEC.width, SPEC.height)
            pictures += 1
    assert pictures == RUN


def test_start_twice_is_an_error_and_close_is_idempotent(camera: Camera) -> None:
    sink = CollectingSink(capacity=1)
    camera.start(sink)
    with pytest.raises(DeviceError, match="already running"):
        camera.start(sink)
    camera.stop()
    camera.stop()
    camera.close()
    camera.close()
    with pytest.raises(DeviceError, match="closed"):
        camera.start(sink)
