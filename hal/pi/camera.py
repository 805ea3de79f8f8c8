"""PiCamera: the Raspberry Pi camera through picamera2, encoded to H.264 in hardware or software.

The one module that imports picamera2, lazily (it cannot import without libcamera).

Pipeline, per start::

    libcamera request ─▶ pre_callback: watermark into the Y plane ─▶ encoder ─▶ SinkOutput
                         (picamera2's camera thread)          (encoder thread) └─▶ Camera._deliver

- **Configuration**: ``create_video_configuration(main={"size": (w, h), "format": "YUV420"},
  controls={"FrameRate": fps})``. YUV420 is what both encoders take without conversion, and its
  first ``h`` rows are the luma plane the watermark is drawn into.
- **Encoder**: ``H264Encoder(bitrate, repeat=True, iperiod=gop, framerate=fps)`` on the Pi 4 /
  Zero 2 W video engine. The Pi 5 has none; there ``LibavH264Encoder`` (libx264 through PyAV)
  with the same settings. ``framerate`` is given to both: left unset, picamera2 tells the V4L2
  encoder 30 fps whatever the camera runs at, and the encoder picks its H.264 level from it.
  The platform is read the way picamera2 documents it, ``Picamera2.platform ==
  Platform.PISP``; a picamera2 too old to have ``platform`` predates the Pi 5, so it means VC4.
  ``repeat=True`` puts SPS/PPS in front of every keyframe, ``iperiod`` spaces keyframes exactly
  (libx264 runs with picamera2's "ultrafast" preset, which turns scene-cut keyframes off).
- **A new encoder object for every start**: picamera2 keeps an encoder's first timestamp, so a
  reused encoder would not start its timestamps afresh, and its internal state is not meant to
  be restarted.
- **Timestamps**: picamera2 passes ``timestamp`` in microseconds since the encoder's first frame
  (the sensor timestamp, ns, divided by 1000, minus the first one). The first request of a
  run is seen in ``pre_callback``; its ``SensorTimestamp`` anchors the run on the monotonic
  clock (trusted only within 5 s of ``Clock.monotonic()``, else the current time is used). If a
  run would not start after the previous one ended, the whole run is offset to one frame after
  it, so timestamps increase strictly across restarts.
- **Never blocks**: ``outputframe`` builds an EncodedFrame and calls ``Camera._deliver`` (a
  ``put_nowait``) under a lock that :meth:`_stop` holds only to swap the sink out. Frames from an
  encoder of an earlier start are dropped, so none reaches a sink after :meth:`stop` returns.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import cv2
import numpy as np

from hal.camera import Camera, EncodedFrame, FrameSink
from hal.clock import Clock
from hal.errors import BackendError, DeviceError

__all__ = ["PiCamera", "import_picamera2", "uses_software_encoder"]

log = logging.getLogger(__name__)

SENSOR_SKEW_LIMIT_S = 5.0
_BLACK, _WHITE = 16, 235  # video-range luma
_FONT = cv2.FONT_HERSHEY_SIMPLEX

OnFrame = Callable[[Any, bool, "int | None"], None]


def import_picamera2() -> ModuleType:
    """Import picamera2 by name; BackendError naming the backend, the module and the reason."""
    try:
        return importlib.import_module("picamera2")
    except Exception as exc:
        raise BackendError(
            f"backend 'pi': cannot import picamera2 ({type(exc).__name__}: {exc})"
        ) from exc


def _submodule(package: Any, name: str) -> Any:
    """``package.name``; picamera2 imports its ``encoders`` and ``outputs`` itself."""
    sub = getattr(package, name, None)
    return sub if sub is not None else importlib.import_module(f"{package.__name__}.{name}")


def uses_software_encoder(picamera2: Any) -> bool:
    """True on a Pi 5 (PiSP), which has no H.264 hardware; picamera2 says so in its ``platform``."""
    platform = getattr(picamera2.Picamera2, "platform", None)
    platforms = getattr(picamera2, "Platform", None)
    return platform is not None and platforms is not None and platform == platforms.PISP


def _output_class(picamera2: Any) -> Any:
    """A picamera2 Output subclass (encoders accept nothing else) that forwards every frame."""
    base = _submodule(picamera2, "outputs").Output

    class SinkOutput(base):  # type: ignore[misc,valid-type]
        """Hands each encoded video frame to ``on_frame``; audio packets are ignored."""

        def __init__(self, on_frame: OnFrame) -> None:
            super().__init__()
            self._on_frame = on_frame

        def outputframe(
            self,
            frame: Any,
            keyframe: bool = True,
            timestamp: int | None = None,
            packet: Any = None,
            audio: bool = False,
        ) -> None:
            if audio or frame is None:
                return
            self._on_frame(frame, keyframe, timestamp)

    return SinkOutput


class _Caption:
    """Burns "<UTC time> <device id>" into the top-left of a luma plane, white on a dark box."""

    def __init__(self, clock: Clock, device_id: str, width: int) -> None:
        self._clock = clock
        self._device_id = device_id
        self._scale = max(0.4, width / 1600)
        self._thickness = max(1, round(self._scale * 1.5))
        self._second: int | None = None
        self._text = ""

    def draw(self, y_plane: np.ndarray) -> None:
        second = int(self._clock.wall())
        if second != self._second:  # text (and the clock's source) once a second, not per frame
            self._second = second
            stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(second))
            unset = "" if self._clock.is_set else "  CLOCK NOT SET"
            self._text = f"{stamp}  {self._device_id}{unset}"
        (w, h), base = cv2.getTextSize(self._text, _FONT, self._scale, self._thickness)
        pad = max(2, h // 2)
        cv2.rectangle(y_plane, (0, 0), (w + 2 * pad, h + base + 2 * pad), _BLACK, -1)
        cv2.putText(
            y_plane,
            self._text,
            (pad, pad + h),
            _FONT,
            self._scale,
            _WHITE,
            self._thickness,
            cv2.LINE_AA,
        )


class PiCamera(Camera):
    """The camera module on a Raspberry Pi, as H.264 access units with a burnt-in watermark.

    ``picamera2_module`` replaces ``import picamera2`` (the tests import the real one, on
    stand-ins for libcamera and the kernel). Opening fails with BackendError when picamera2
    cannot be imported and with DeviceError when there is no camera or it refuses the size or
    frame rate.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        width: int,
        height: int,
        fps: int,
        bitrate: int,
        keyframe_interval_s: float,
        device_id: str,
        picamera2_module: Any = None,
        camera_num: int = 0,
    ) -> None:
        super().__init__(width=width, height=height, fps=fps)
        self._pc2 = import_picamera2() if picamera2_module is None else picamera2_module
        self._clock = clock
        self._bitrate = bitrate
        self._gop = max(1, round(fps * keyframe_interval_s))
        self._frame_us = max(1, round(1e6 / fps))
        self._caption = _Caption(clock, device_id, width)
        self._output_cls = _output_class(self._pc2)
        self.software_encoder = uses_software_encoder(self._pc2)
        self._lock = threading.Lock()  # the hand-over to the sink; never held while waiting
        self._sink: FrameSink | None = None
        self._run = 0  # bumped by every start and stop: frames of an older run are dropped
        self._anchor_us: int | None = None
        self._offset_us: int | None = None
        self._last_us = -1
        self._callback_failed = False
        try:
            self._picam2 = self._pc2.Picamera2(camera_num)
        except Exception as exc:
            raise DeviceError(
                f"camera {camera_num}: cannot open it (connected, and enabled in config.txt?): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        try:
            config = self._picam2.create_video_configuration(
                main={"size": (width, height), "format": "YUV420"},
                controls={"FrameRate": fps},
            )
            self._picam2.configure(config)
            size = tuple(self._picam2.camera_configuration()["main"]["size"])
        except Exception as exc:
            self._picam2.close()
            raise DeviceError(
                f"camera {camera_num}: cannot configure {width}x{height} at {fps} fps: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if size != (width, height):
            self._picam2.close()
            raise DeviceError(
                f"camera {camera_num}: asked for {width}x{height}, the camera gives "
                f"{size[0]}x{size[1]}; set video.width/height to a size it supports"
            )
        self._picam2.pre_callback = self._pre_callback

    @property
    def keyframe_interval_frames(self) -> int:
        return self._gop

    # -- Camera hooks -------------------------------------------------------------------------

    def _start(self, sink: FrameSink) -> None:
        encoder = self._new_encoder()
        with self._lock:
            self._run += 1
            run = self._run
            self._sink = sink
            self._anchor_us = None
            self._offset_us = None
        output = self._output_cls(
            lambda data, keyframe, ts: self._on_frame(run, data, keyframe, ts)
        )
        try:
            self._picam2.start_recording(encoder, output)
        except Exception as exc:
            self._detach()
            try:
                self._picam2.stop_recording()
            except Exception:
                log.debug("camera: cleanup after a failed start failed too", exc_info=True)
            raise DeviceError(f"camera: cannot start: {type(exc).__name__}: {exc}") from exc

    def _stop(self) -> None:
        try:
            self._picam2.stop_recording()  # camera, then encoder: flushed and joined on return
        except Exception as exc:
            log.exception("camera: stopping failed")
            self._set_fault(exc)
        finally:
            self._detach()

    def _close(self) -> None:
        self._picam2.pre_callback = None
        try:
            self._picam2.close()
        except Exception:
            log.exception("camera: closing failed")

    # -- helpers ------------------------------------------------------------------------------

    def _new_encoder(self) -> Any:
        encoders = _submodule(self._pc2, "encoders")
        cls = encoders.LibavH264Encoder if self.software_encoder else encoders.H264Encoder
        return cls(bitrate=self._bitrate, repeat=True, iperiod=self._gop, framerate=self.fps)

    def _detach(self) -> None:
        with self._lock:
            self._sink = None
            self._run += 1

    def _now_us(self) -> int:
        return int(self._clock.monotonic() * 1e6)

    def _pre_callback(self, request: Any) -> None:
        """picamera2's camera thread, before encoding: anchor the run, draw the watermark."""
        try:
            if self._anchor_us is None:
                anchor = self._sensor_us(request.get_metadata().get("SensorTimestamp"))
                with self._lock:
                    if self._anchor_us is None:
                        self._anchor_us = anchor
            with self._pc2.MappedArray(request, "main") as mapped:
                self._caption.draw(mapped.array[: self.height, : self.width])
        except Exception:
            if not self._callback_failed:  # once, not thirty times a second
                self._callback_failed = True
                log.exception("camera: the watermark callback failed; frames go on without it")

    def _sensor_us(self, sensor_ns: Any) -> int:
        now = self._now_us()
        if sensor_ns is None:
            return now
        sensor = int(sensor_ns) // 1000
        if abs(sensor - now) > SENSOR_SKEW_LIMIT_S * 1e6:
            log.warning(
                "camera: sensor timestamp %.3f s is %.3f s from the monotonic clock; using the "
                "clock",
                sensor / 1e6,
                (sensor - now) / 1e6,
            )
            return now
        return sensor

    def _on_frame(self, run: int, data: Any, keyframe: bool, timestamp: int | None) -> None:
        """picamera2's encoder thread: one access unit. Never blocks, never raises into it."""
        try:
            payload = bytes(data)
            with self._lock:
                sink = self._sink
                if run != self._run or sink is None:
                    return
                frame = EncodedFrame(payload, bool(keyframe), self._stamp(timestamp))
                self._deliver(sink, frame)
        except Exception as exc:
            log.exception("camera: handing a frame over failed")
            self._set_fault(exc)

    def _stamp(self, relative_us: int | None) -> int:
        """Map picamera2's per-run timestamp to the monotonic clock, strictly increasing."""
        if relative_us is None:
            stamp = self._now_us()
        else:
            rel = int(relative_us)
            if self._offset_us is None:
                anchor = self._anchor_us if self._anchor_us is not None else self._now_us()
                offset = anchor - rel
                if offset + rel <= self._last_us:  # this run would not follow the last one
                    offset = self._last_us + self._frame_us - rel
                self._offset_us = offset
            stamp = self._offset_us + rel
        stamp = max(stamp, self._last_us + 1)
        self._last_us = stamp
        return stamp
