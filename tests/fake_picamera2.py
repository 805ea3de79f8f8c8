"""A stand-in for the picamera2 module, following its documented API, for running hal.pi off a Pi.

``make_module(platform)`` returns a fresh module object with what hal.pi.camera uses:
``Picamera2`` (with the class attribute ``platform``), ``Platform``, ``MappedArray``,
``encoders.H264Encoder``, ``encoders.LibavH264Encoder`` and ``outputs.Output``.

What it does the way picamera2 does it:

- ``create_video_configuration(main=, controls=)`` builds a config dict; ``configure`` fixes
  the main stream's stride (rounded up to 64 bytes, so rows carry padding) and the frame rate
  (``controls["FrameRate"]`` overrides the default ``FrameDurationLimits`` of 33333 us).
- ``start_recording(encoder, output)`` sets ``encoder.output`` (refusing anything that is not an
  ``Output``), starts the encoder, then the camera; ``stop_recording`` stops the camera, then
  the encoder, which flushes and joins before it returns.
- The camera thread makes YUV420 requests whose metadata carries ``SensorTimestamp`` in ns,
  calls ``pre_callback(request)`` and then ``encoder.encode("main", request)`` for each encoder.
- Encoders stamp frames in microseconds since their first frame (sensor ns / 1000, minus the
  first), resetting that origin in ``start``. ``H264Encoder`` (the V4L2 hardware path) queues
  requests to its own thread, which calls ``outputframe(frame, keyframe, timestamp)`` with three
  arguments; ``LibavH264Encoder`` encodes in the camera thread and calls
  ``outputframe(bytes, keyframe, timestamp=pts, packet=packet)``. Both encode real H.264 with
  PyAV's libx264 configured as picamera2's LibavH264Encoder configures it: preset "ultrafast",
  tune "zerolatency", ``gop_size = iperiod``, and no global header, so x264 repeats SPS/PPS in
  front of every IDR.

Not simulated: libcamera, the ISP, sensor modes and their size limits, DMA buffers, real frame
pacing (the camera thread runs as fast as the encoder takes frames, with synthetic sensor
timestamps exactly one frame apart from the monotonic time at start), audio, previews.
"""

from __future__ import annotations

import enum
import queue
import threading
import time
import types
from fractions import Fraction
from typing import Any, ClassVar

import av
import numpy as np

__all__ = ["make_module"]


class Platform(enum.Enum):
    VC4 = 0
    PISP = 1


class Output:
    def __init__(self, pts: Any = None) -> None:
        self.recording = False
        self.ptsoutput = pts
        self.needs_pacing = False

    def start(self) -> None:
        self.recording = True

    def stop(self) -> None:
        self.recording = False

    def outputframe(
        self,
        frame: Any,
        keyframe: bool = True,
        timestamp: int | None = None,
        packet: Any = None,
        audio: bool = False,
    ) -> None:
        """Outputs frame from encoder."""


class CompletedRequest:
    def __init__(self, picam2: Picamera2, buffers: dict[str, np.ndarray], metadata: dict[str, Any]):
        self.picam2 = picam2
        self.config = picam2.camera_config
        self._buffers = buffers
        self._metadata = metadata

    def get_metadata(self) -> dict[str, Any]:
        return dict(self._metadata)


class MappedArray:
    def __init__(
        self, request: CompletedRequest, stream: str, reshape: bool = True, write: bool = True
    ) -> None:
        self._request = request
        self._stream = stream
        self._array: np.ndarray | None = None

    def __enter__(self) -> MappedArray:
        # YUV420 is shaped (height * 3 // 2, stride), as picamera2's helpers shape it.
        self._array = self._request._buffers[self._stream]
        return self

    def __exit__(self, *exc: object) -> None:
        self._array = None

    @property
    def array(self) -> np.ndarray | None:
        return self._array


class _X264:
    """libx264 set up as picamera2's LibavH264Encoder sets it up (repeat=True, no profile)."""

    def __init__(
        self, width: int, height: int, bitrate: int | None, iperiod: int | None, rate: float
    ) -> None:
        cc = av.CodecContext.create("libx264", "w")
        cc.width, cc.height, cc.pix_fmt = width, height, "yuv420p"
        cc.framerate = Fraction(rate).limit_denominator(1001)  # add_stream(codec, rate=framerate)
        cc.time_base = Fraction(1, 1_000_000)
        if bitrate is not None:
            cc.bit_rate = bitrate
        cc.gop_size = iperiod or (1 << 31) - 1
        cc.thread_count = 1
        cc.options = {"preset": "ultrafast", "deblock": "1", "tune": "zerolatency"}
        self._cc = cc
        self._width = width

    def encode(self, yuv: np.ndarray | None, pts_us: int = 0) -> list[Any]:
        if yuv is None:
            return list(self._cc.encode(None))
        frame = av.VideoFrame.from_numpy_buffer(yuv, format="yuv420p", width=self._width)
        frame.pts = pts_us
        return list(self._cc.encode(frame))


class Encoder:
    def __init__(self) -> None:
        self._output: list[Output] = []
        self._running = False
        self._lock = threading.Lock()
        self._output_lock = threading.Lock()
        self.firsttimestamp: int | None = None
        self.width = self.height = self.stride = 0
        self.format: str | None = None
        self.name: str | None = None
        self.framerate: float | None = None
        self.frames_encoded = 0

    @property
    def output(self) -> Any:
        return self._output[0] if len(self._output) == 1 else self._output

    @output.setter
    def output(self, value: Any) -> None:
        outputs = value if isinstance(value, list) else [value]
        if not all(isinstance(o, Output) for o in outputs):
            raise RuntimeError("Must pass Output")
        self._output = outputs

    @property
    def running(self) -> bool:
        return self._running

    def start(self, quality: Any = None) -> None:
        with self._lock:
            if self._running:
                raise RuntimeError("Encoder already running")
            self._running = True
            self.firsttimestamp = None
            for out in self._output:
                out.start()
            self._start()

    def stop(self) -> None:
        with self._lock:
            if not self._running:
                raise RuntimeError("Encoder already stopped")
            self._running = False
            self._stop()
            for out in self._output:
                out.stop()

    def encode(self, stream: str, request: CompletedRequest) -> None:
        with self._lock:
            if not self._running:
                return
            self._encode(stream, request)
        self.frames_encoded += 1

    def outputframe(
        self,
        frame: Any,
        keyframe: bool = True,
        timestamp: int | None = None,
        packet: Any = None,
        audio: bool = False,
    ) -> None:
        with self._output_lock:
            for out in self._output:
                out.outputframe(frame, keyframe, timestamp, packet, audio)

    def _timestamp(self, request: CompletedRequest) -> int:
        ts = int(request.get_metadata()["SensorTimestamp"] / 1000)  # ns to us
        if self.firsttimestamp is None:
            self.firsttimestamp = ts
            return 0
        return ts - self.firsttimestamp

    def _start(self) -> None: ...

    def _stop(self) -> None: ...

    def _encode(self, stream: str, request: CompletedRequest) -> None: ...


class H264Encoder(Encoder):
    """The V4L2 hardware encoder: frames go to a queue, outputs come from the encoder's thread."""

    def __init__(
        self,
        bitrate: int | None = None,
        repeat: bool = True,
        iperiod: int | None = None,
        framerate: float | None = None,
        enable_sps_framerate: bool = False,
        qp: int | None = None,
        profile: str | None = None,
    ) -> None:
        super().__init__()
        self.bitrate, self.repeat, self.iperiod = bitrate, repeat, iperiod
        self.framerate = framerate
        self._queue: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue(maxsize=4)
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        self._x264 = _X264(
            self.width, self.height, self.bitrate, self.iperiod, self.framerate or 30
        )
        self._thread = threading.Thread(target=self._poll, name="fake-v4l2-encoder", daemon=True)
        self._thread.start()

    def _encode(self, stream: str, request: CompletedRequest) -> None:
        timestamp_us = self._timestamp(request)
        with MappedArray(request, stream) as m:
            assert m.array is not None
            # The real encoder blocks here too when all of its input buffers are in use.
            self._queue.put((m.array.copy(), timestamp_us))

    def _stop(self) -> None:
        self._queue.put(None)
        assert self._thread is not None
        self._thread.join()

    def _poll(self) -> None:
        while (item := self._queue.get()) is not None:
            yuv, timestamp_us = item
            for packet in self._x264.encode(yuv, timestamp_us):
                self.outputframe(bytes(packet), packet.is_keyframe, packet.pts)


class LibavH264Encoder(Encoder):
    """The software encoder of a Pi 5: encodes in the camera thread, flushes on stop."""

    def __init__(
        self,
        bitrate: int | None = None,
        repeat: bool = True,
        iperiod: int = 30,
        framerate: float = 30,
        qp: int | None = None,
        profile: str | None = None,
    ) -> None:
        super().__init__()
        self.bitrate, self.repeat, self.iperiod = bitrate, repeat, iperiod
        self.framerate = framerate

    def _start(self) -> None:
        self._x264 = _X264(
            self.width, self.height, self.bitrate, self.iperiod, self.framerate or 30
        )

    def _encode(self, stream: str, request: CompletedRequest) -> None:
        timestamp_us = self._timestamp(request)
        with MappedArray(request, stream) as m:
            assert m.array is not None
            for packet in self._x264.encode(m.array, timestamp_us):
                self.outputframe(
                    bytes(packet), packet.is_keyframe, timestamp=packet.pts, packet=packet
                )

    def _stop(self) -> None:
        for packet in self._x264.encode(None):
            self.outputframe(bytes(packet), packet.is_keyframe, timestamp=packet.pts, packet=packet)


class Picamera2:
    platform = Platform.VC4
    cameras = 1  # how many cameras the fake system has; 0 makes opening fail as on a bare Pi
    opened: ClassVar[list[Picamera2]] = []

    def __init__(self, camera_num: int = 0, verbose_console: Any = None, tuning: Any = None):
        if camera_num >= type(self).cameras:
            raise IndexError("list index out of range")
        type(self).opened.append(self)
        self.camera_num = camera_num
        self.camera_config: dict[str, Any] = {}
        self.pre_callback: Any = None
        self.encoders_started: list[Encoder] = []
        self.is_open = True
        self.started = False
        self._encoders: set[Encoder] = set()
        self.lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self.frames = 0

    def create_video_configuration(
        self,
        main: dict[str, Any] | None = None,
        lores: Any = None,
        raw: Any = None,
        transform: Any = None,
        colour_space: Any = None,
        buffer_count: int = 6,
        controls: dict[str, Any] | None = None,
        display: str = "main",
        encode: str = "main",
        queue: bool = True,
        sensor: Any = None,
        use_case: str = "video",
    ) -> dict[str, Any]:
        stream = {"format": "XBGR8888", "size": (1280, 720), "preserve_ar": True} | (main or {})
        w, h = stream["size"]
        stream["size"] = (w - w % 2, h - h % 2)  # align_stream(optimal=False)
        return {
            "use_case": use_case,
            "buffer_count": buffer_count,
            "main": stream,
            "lores": lores,
            "controls": {"FrameDurationLimits": (33333, 33333)} | (controls or {}),
            "encode": encode,
        }

    def configure(self, camera_config: dict[str, Any]) -> None:
        if camera_config["main"]["format"] != "YUV420":
            raise RuntimeError("this fake makes YUV420 only")
        config = dict(camera_config)
        main = dict(config["main"])
        w, _ = main["size"]
        main["stride"] = -(-w // 64) * 64
        config["main"] = main
        controls = config["controls"]
        if "FrameRate" in controls:
            self.frame_duration_us = 1e6 / controls["FrameRate"]
        else:
            self.frame_duration_us = float(controls["FrameDurationLimits"][0])
        self.camera_config = config

    def camera_configuration(self) -> dict[str, Any]:
        return self.camera_config

    def start_encoder(self, encoder: Encoder, output: Any = None, **kw: Any) -> None:
        if output is not None:
            encoder.output = output
        main = self.camera_config["main"]
        encoder.name = "main"
        encoder.width, encoder.height = main["size"]
        encoder.format, encoder.stride = main["format"], main["stride"]
        if encoder.framerate is None:
            encoder.framerate = min(30.0, 1e6 / self.frame_duration_us)
        encoder.start()
        with self.lock:
            self._encoders.add(encoder)
        self.encoders_started.append(encoder)

    def stop_encoder(self, encoders: Any = None) -> None:
        for encoder in list(self._encoders) if encoders is None else [encoders]:
            encoder.stop()
            with self.lock:
                self._encoders.discard(encoder)

    def start_recording(self, encoder: Encoder, output: Any, **kw: Any) -> None:
        self.start_encoder(encoder, output)
        self.start()

    def stop_recording(self) -> None:
        self.stop()
        self.stop_encoder()

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        self._stop_event.clear()
        self._thread = threading.Thread(target=self._camera_loop, name="fake-camera", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if not self.started:
            return
        self._stop_event.set()
        assert self._thread is not None
        self._thread.join()
        self.started = False

    def close(self) -> None:
        self.stop()
        self.is_open = False

    def _camera_loop(self) -> None:
        main = self.camera_config["main"]
        (w, h), stride = main["size"], main["stride"]
        base_ns = time.monotonic_ns()
        n = 0
        yy, xx = np.mgrid[0:h, 0:w]
        while not self._stop_event.is_set():
            buffer = np.zeros((h * 3 // 2, stride), dtype=np.uint8)
            buffer[:h, :w] = (xx * 2 + yy + n * 3) % 200 + 28
            buffer[h:, :] = 128
            request = CompletedRequest(
                self,
                {"main": buffer},
                {
                    "SensorTimestamp": base_ns + round(n * self.frame_duration_us * 1000),
                    "FrameDuration": round(self.frame_duration_us),
                },
            )
            with self.lock:
                if self.pre_callback is not None:
                    self.pre_callback(request)
                for encoder in list(self._encoders):
                    encoder.encode("main", request)
            n += 1
            self.frames = n
            time.sleep(0.0005)  # let other threads in, as a real sensor's frame interval would


def make_module(platform: str = "vc4") -> types.ModuleType:
    """A fresh fake picamera2 module (its own Picamera2 class) on platform "vc4" or "pisp"."""
    module = types.ModuleType("picamera2")
    camera_class = type("Picamera2", (Picamera2,), {"opened": []})
    camera_class.platform = Platform.PISP if platform == "pisp" else Platform.VC4
    module.Picamera2 = camera_class
    module.Platform = Platform
    module.MappedArray = MappedArray
    module.encoders = types.SimpleNamespace(
        H264Encoder=H264Encoder, LibavH264Encoder=LibavH264Encoder, Encoder=Encoder
    )
    module.outputs = types.SimpleNamespace(Output=Output)
    return module
