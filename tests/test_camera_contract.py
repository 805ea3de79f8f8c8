"""The camera contract, written once and run against every camera that can be built here.

A maker takes a CameraSpec and returns an unstarted Camera. Listed: the simulator's, and the Pi
backend's PiCamera on the real picamera2 from PyPI. Off a Pi that runs on stand-ins for
libcamera and the kernel (tests/picamera2_off_pi.py), once as a Pi 4 (picamera2's
H264Encoder, through V4L2) and once as a Pi 5 (its LibavH264Encoder, libx264 through PyAV); on
a Pi, where the real libcamera imports, on the camera itself instead.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import av
import pytest

from hal.camera import Camera, EncodedFrame
from hal.errors import DeviceError
from hal.pi.camera import PiCamera
from hal.pi.clock import PiClock
from sim.camera import SimCamera
from sim.clock import SimClock
from sim.sink import CollectingSink
from tests import picamera2_off_pi


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


@contextlib.contextmanager
def pi_platform(platform: str) -> Iterator[None]:
    """picamera2 believes it runs on a Pi 4 ("vc4") or a Pi 5 ("pisp"); "real" leaves it be.

    ``Picamera2.platform`` is what picamera2 itself probes from /dev/video* at import (this
    machine has none, so VC4), and what PiCamera reads to choose the encoder.
    """
    if platform == "real":
        yield
        return
    picamera2: Any = picamera2_off_pi.require()
    saved = picamera2.Picamera2.platform
    picamera2.Picamera2.platform = getattr(picamera2.Platform, platform.upper())
    try:
        yield
    finally:
        picamera2.Picamera2.platform = saved


def make_pi_camera(spec: CameraSpec, platform: str = "pisp", *, clock: Any = None) -> PiCamera:
    """PiCamera on the real picamera2; ``platform`` as :func:`pi_platform` takes it."""
    with pi_platform(platform):
        return PiCamera(
            clock=clock if clock is not None else PiClock(),
            width=spec.width,
            height=spec.height,
            fps=spec.fps,
            bitrate=spec.bitrate,
            keyframe_interval_s=spec.keyframe_interval_s,
            device_id="CONTRACT",
        )


# (platform, test id): the Pi camera's parameters, here or on a Pi
PI_PLATFORMS = (
    [("vc4", "pi4-h264"), ("pisp", "pi5-libav")] if picamera2_off_pi.STUBBED else [("real", "pi")]
)
CAMERA_MAKERS: list[object] = [
    pytest.param(make_sim_camera, id="sim"),
    *(pytest.param(functools.partial(make_pi_camera, platform=p), id=i) for p, i in PI_PLATFORMS),
]

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
