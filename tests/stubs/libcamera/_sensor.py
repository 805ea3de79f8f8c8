"""The camera behind the libcamera stand-in: an imx219 (Camera Module 2) with the Pi's ISP.

What it does as libcamera's Raspberry Pi pipeline does:

- **Modes and validation**: the imx219's raw modes (SRGGB10_CSI2P and SRGGB8 at 640x480,
  1640x1232, 1920x1080 and 3280x2464); ``validate()`` picks the mode ``sensor_config`` names
  (Invalid if there is none), gives processed streams YUV420 with a stride rounded up to 64
  bytes (so rows carry padding) and sizes within the ISP's 64..4096 pixels, and says
  Adjusted when it changed anything.
- **Controls**: FrameDurationLimits (from ``start`` and from each request) sets the frame
  duration, clamped to the mode's shortest; the ControlInfo map and properties are the
  imx219's as libcamera reports them (rounded).
- **Requests**: ``queue`` hands a request to the sensor's thread, which fills each buffer
  (through its file descriptor, as the ISP writes a dma-buf) with a moving YUV420 test picture
  and completes the request with metadata: ``SensorTimestamp`` in ns on CLOCK_MONOTONIC,
  exactly one frame duration apart, ``FrameDuration``, ``ExposureTime``, ``AnalogueGain``.
  ``stop`` cancels the requests still queued and completes them with status Cancelled.

Not simulated: real frame pacing (a frame is made as soon as a request is queued, so sensor
time runs ahead of the clock, from the monotonic time at ``start``), startup frames, raw
pixel data (raw buffers stay zero), RGB output formats, transforms, autofocus, HDR, lores
scaling, frame errors and dropped frames.
"""

from __future__ import annotations

import contextlib
import mmap
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from libcamera._libcamera import (
    CameraConfiguration,
    ColorSpace,
    ControlId,
    ControlInfo,
    FrameMetadata,
    Rectangle,
    Request,
    Size,
    StreamConfiguration,
    StreamFormats,
    StreamRole,
    controls,
    properties,
)

__all__ = ["SENSOR", "Imx219", "attached", "unplugged"]

PIXEL_ARRAY = (3280, 2464)
MODES = {  # raw format -> [(size, shortest frame duration in us)]
    fmt: [
        ((640, 480), 9_709),
        ((1640, 1232), 24_390),
        ((1920, 1080), 21_277),
        (PIXEL_ARRAY, 47_619),
    ]
    for fmt in ("SRGGB10_CSI2P", "SRGGB8")
}
ISP_MIN, ISP_MAX = 64, 4096
LONGEST_FRAME_US = 11_767_556


def _align(value: int, to: int) -> int:
    return -(-value // to) * to


def _bit_depth(fmt: str) -> int:
    return 10 if fmt.startswith("SRGGB10") else 8


class Imx219:
    """One imx219 on CSI port 0. Thread-safe where libcamera is: queue() from any thread."""

    id = "/base/soc/i2c0mux/i2c@1/imx219@10"

    def __init__(self) -> None:
        self._mode = (MODES["SRGGB10_CSI2P"][0][0], MODES["SRGGB10_CSI2P"][0][1])
        self._streams: list[StreamConfiguration] = []
        self._queue: queue.Queue[Request | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._frame_us = 33_333
        self._next_ns = 0
        self._sequence = 0
        # What a test may look at: is a process holding it, how often was it opened, frames made.
        self.acquired = False
        self.acquisitions = 0
        self.running = False
        self.frames = 0

    # -- what the camera reports ----------------------------------------------------------

    def control_info(self) -> dict[ControlId, ControlInfo]:
        (w, h), shortest = self._mode
        draft = controls.draft
        return {
            controls.AeEnable: ControlInfo(False, True, True),
            controls.ExposureTimeMode: ControlInfo(0, 1, 0),
            controls.ExposureTime: ControlInfo(75, LONGEST_FRAME_US, 20_000),
            controls.AnalogueGainMode: ControlInfo(0, 1, 0),
            controls.AnalogueGain: ControlInfo(1.0, 10.666, 1.0),
            controls.FrameDurationLimits: ControlInfo(shortest, LONGEST_FRAME_US, 33_333),
            controls.ScalerCrop: ControlInfo(
                Rectangle(0, 0, 64, 64), Rectangle(0, 0, *PIXEL_ARRAY), Rectangle(0, 0, w, h)
            ),
            draft.NoiseReductionMode: ControlInfo(0, 4, 0),
        }

    def properties(self) -> dict[ControlId, Any]:
        return {
            properties.Model: "imx219",
            properties.Location: 2,
            properties.Rotation: 0,
            properties.PixelArraySize: Size(*PIXEL_ARRAY),
            properties.UnitCellSize: Size(1120, 1120),
            properties.draft.ColorFilterArrangement: 0,
        }

    def stream_config(self, role: StreamRole) -> StreamConfiguration:
        if role == StreamRole.Raw:
            sizes = {fmt: [size for size, _ in modes] for fmt, modes in MODES.items()}
            return StreamConfiguration(
                role, StreamFormats(sizes), Size(*PIXEL_ARRAY), "SRGGB10_CSI2P"
            )
        sizes = {"YUV420": [(ISP_MIN, ISP_MIN), (ISP_MAX, ISP_MAX)]}
        return StreamConfiguration(role, StreamFormats(sizes), Size(1920, 1080), "YUV420")

    # -- configuration -------------------------------------------------------------------------

    def _pick_mode(self, config: CameraConfiguration) -> tuple[str, tuple[int, int], int] | None:
        raw = [sc for sc in config if sc.role == StreamRole.Raw]
        sensor = config.sensor_config
        if sensor is not None:
            want = ((sensor.output_size.width, sensor.output_size.height), sensor.bit_depth)
        elif raw:
            want = ((raw[0].size.width, raw[0].size.height), _bit_depth(str(raw[0].pixel_format)))
        else:
            return "SRGGB10_CSI2P", MODES["SRGGB10_CSI2P"][0][0], MODES["SRGGB10_CSI2P"][0][1]
        for fmt, modes in MODES.items():
            for size, shortest in modes:
                if (size, _bit_depth(fmt)) == want:
                    return fmt, size, shortest
        return None

    def validate(self, config: CameraConfiguration) -> CameraConfiguration.Status:
        mode = self._pick_mode(config)
        if mode is None or not any(sc.role != StreamRole.Raw for sc in config):
            return CameraConfiguration.Status.Invalid
        fmt, (mw, mh), _ = mode
        adjusted = False
        for sc in config:
            before = (str(sc.pixel_format), sc.size.width, sc.size.height, sc.stride)
            if sc.role == StreamRole.Raw:
                sc.pixel_format = type(sc.pixel_format)(fmt)
                sc.size = Size(mw, mh)
                sc.stride = _align(mw * _bit_depth(fmt) // 8, 32)
                sc.frame_size = sc.stride * mh
                sc.color_space = ColorSpace.Raw()
            else:
                sc.pixel_format = type(sc.pixel_format)("YUV420")
                w = min(max(sc.size.width, ISP_MIN), ISP_MAX) & ~1
                h = min(max(sc.size.height, ISP_MIN), ISP_MAX) & ~1
                sc.size = Size(w, h)
                sc.stride = max(sc.stride, _align(w, 64))
                sc.frame_size = sc.stride * h * 3 // 2
            sc.buffer_count = max(1, sc.buffer_count)
            if before[3] == 0:
                before = (*before[:3], sc.stride)  # 0 asks libcamera to choose
            adjusted |= before != (str(sc.pixel_format), sc.size.width, sc.size.height, sc.stride)
        if adjusted:
            return CameraConfiguration.Status.Adjusted
        return CameraConfiguration.Status.Valid

    def configure(self, config: CameraConfiguration) -> None:
        mode = self._pick_mode(config)
        assert mode is not None  # validated by the caller
        _, size, shortest = mode
        self._mode = (size, shortest)
        self._streams = list(config)

    # -- running -------------------------------------------------------------------------------

    def start(
        self, start_controls: dict[ControlId, Any], complete: Callable[[Request], None]
    ) -> None:
        if self.running:
            raise RuntimeError("Failed to start camera: it is running (-EBUSY)")
        self._complete = complete
        self._apply(start_controls)
        self._next_ns = time.monotonic_ns()
        self._sequence = 0
        self._stop = threading.Event()
        self.running = True
        self._thread = threading.Thread(target=self._run, name="libcamera-stub-sensor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if not self.running:
            return
        self._stop.set()
        self._queue.put(None)
        assert self._thread is not None
        self._thread.join()
        self.running = False
        while not self._queue.empty():
            request = self._queue.get_nowait()
            if request is not None:
                request.status = Request.Status.Cancelled
                for buffer in request.buffers.values():
                    buffer.metadata.status = FrameMetadata.Status.Cancelled
                self._complete(request)

    def queue(self, request: Request) -> None:
        if not self.running:
            raise RuntimeError("Failed to queue request: the camera is stopped (-EACCES)")
        self._queue.put(request)

    def _apply(self, request_controls: dict[ControlId, Any]) -> None:
        limits = request_controls.get(controls.FrameDurationLimits)
        if limits is not None:
            shortest = self._mode[1]
            low, high = (int(v) for v in limits)
            self._frame_us = min(max(low, shortest), max(high, shortest))

    def _run(self) -> None:
        while True:
            request = self._queue.get()
            if request is None or self._stop.is_set():
                if request is not None:
                    self._queue.put(request)  # stop() cancels it
                return
            self._apply(request.controls)
            timestamp = self._next_ns
            self._next_ns += self._frame_us * 1000
            for stream, buffer in request.buffers.items():
                if stream.configuration.role != StreamRole.Raw:
                    self._paint(buffer.planes[0].fd, stream.configuration)
                buffer.metadata.status = FrameMetadata.Status.Success
                buffer.metadata.sequence = self._sequence
                buffer.metadata.timestamp = timestamp
                buffer.metadata.planes = [FrameMetadata.Plane(p.length) for p in buffer.planes]
            request.metadata = {
                controls.SensorTimestamp: timestamp,
                controls.FrameDuration: self._frame_us,
                controls.ExposureTime: min(20_000, self._frame_us - 100),
                controls.AnalogueGain: 1.0,
            }
            request.status = Request.Status.Complete
            self._sequence += 1
            self.frames += 1
            self._complete(request)

    def _paint(self, fd: int, config: StreamConfiguration) -> None:
        """A moving gradient in luma, neutral chroma; written through the buffer's own fd."""
        w, h, stride = config.size.width, config.size.height, config.stride
        with mmap.mmap(fd, config.frame_size) as mapped:
            picture = np.frombuffer(mapped, dtype=np.uint8).reshape(h * 3 // 2, stride)
            yy, xx = np.mgrid[0:h, 0:w]
            picture[:h, :w] = (xx * 2 + yy + self._sequence * 3) % 200 + 28
            picture[h:, :] = 128
            del picture  # the mapping cannot close while a view of it lives


SENSOR = Imx219()  # the camera on CSI port 0
_ATTACHED: list[Imx219] = [SENSOR]


def attached() -> list[Imx219]:
    """The sensors a CameraManager finds now."""
    return list(_ATTACHED)


@contextlib.contextmanager
def unplugged() -> Iterator[None]:
    """No camera attached for the duration: what a Pi with a loose ribbon cable reports."""
    saved = _ATTACHED[:]
    _ATTACHED.clear()
    try:
        yield
    finally:
        _ATTACHED[:] = saved
