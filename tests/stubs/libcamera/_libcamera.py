"""The classes of libcamera's pybind11 module ``_libcamera``, as far as picamera2 uses them.

Names, arguments and return values follow the bindings (``py_main.cpp``, ``py_geometry.cpp``,
``py_color_space.cpp``, ``py_transform.cpp`` and the generated controls/properties); the
camera behind them is :mod:`libcamera._sensor`. Where the C++ returns an error code that
recent bindings turn into an exception, this raises RuntimeError as they do.
"""

from __future__ import annotations

import contextlib
import enum
import os
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

__all__ = [
    "Camera",
    "CameraConfiguration",
    "CameraManager",
    "ColorSpace",
    "ControlId",
    "ControlInfo",
    "ControlType",
    "FrameBuffer",
    "FrameMetadata",
    "Orientation",
    "PixelFormat",
    "Rectangle",
    "Request",
    "SensorConfiguration",
    "Size",
    "Stream",
    "StreamConfiguration",
    "StreamFormats",
    "StreamRole",
    "Transform",
    "log_set_level",
]

# -- geometry, transforms, colour spaces, pixel formats ----------------------------------------


class Size:
    def __init__(self, width: int = 0, height: int = 0) -> None:
        self.width, self.height = int(width), int(height)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Size) and (self.width, self.height) == (other.width, other.height)

    __hash__ = object.__hash__

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


class Rectangle:
    def __init__(self, x: int = 0, y: int = 0, width: int = 0, height: int = 0) -> None:
        self.x, self.y, self.width, self.height = int(x), int(y), int(width), int(height)

    def __str__(self) -> str:
        return f"({self.x}, {self.y})/{self.width}x{self.height}"


class Transform:
    def __init__(
        self,
        rotation: Any = 0,
        hflip: bool = False,
        vflip: bool = False,
        transpose: bool = False,
    ) -> None:
        if isinstance(rotation, Transform):  # the copy constructor
            self.hflip, self.vflip, self.transpose = (
                rotation.hflip,
                rotation.vflip,
                rotation.transpose,
            )
            return
        if rotation % 360 not in (0, 180):  # 90 and 270 need transpose, which no Pi sensor does
            raise ValueError("Invalid rotation")
        flip = rotation % 360 == 180
        self.hflip, self.vflip, self.transpose = (
            bool(hflip) ^ flip,
            bool(vflip) ^ flip,
            bool(transpose),
        )

    def __str__(self) -> str:
        names = [n for n in ("hflip", "vflip", "transpose") if getattr(self, n)]
        return f"<libcamera.Transform '{'|'.join(names) or 'identity'}'>"


class Orientation(enum.Enum):
    Rotate0 = 1
    Rotate0Mirror = 2
    Rotate180 = 3
    Rotate180Mirror = 4
    Rotate90Mirror = 5
    Rotate270 = 6
    Rotate90 = 7
    Rotate270Mirror = 8


class ColorSpace:
    class Primaries(enum.Enum):
        Raw, Smpte170m, Rec709, Rec2020 = range(4)

    class TransferFunction(enum.Enum):
        Linear, Srgb, Rec709 = range(3)

    class YcbcrEncoding(enum.Enum):
        Null, Rec601, Rec709, Rec2020 = range(4)

    class Range(enum.Enum):
        Full, Limited = range(2)

    def __init__(
        self,
        primaries: Any,
        transferFunction: Any = None,
        ycbcrEncoding: Any = None,
        range: Any = None,
    ) -> None:
        if isinstance(primaries, ColorSpace):  # the copy constructor
            other = primaries
            primaries, transferFunction = other.primaries, other.transferFunction
            ycbcrEncoding, range = other.ycbcrEncoding, other.range
        self.primaries, self.transferFunction = primaries, transferFunction
        self.ycbcrEncoding, self.range = ycbcrEncoding, range

    def __str__(self) -> str:
        parts = (self.primaries, self.transferFunction, self.ycbcrEncoding, self.range)
        return f"<libcamera.ColorSpace '{'/'.join(p.name for p in parts)}'>"

    @staticmethod
    def Raw() -> ColorSpace:
        C = ColorSpace
        return C(C.Primaries.Raw, C.TransferFunction.Linear, C.YcbcrEncoding.Null, C.Range.Full)

    @staticmethod
    def Sycc() -> ColorSpace:
        C = ColorSpace
        return C(C.Primaries.Rec709, C.TransferFunction.Srgb, C.YcbcrEncoding.Rec601, C.Range.Full)

    @staticmethod
    def Smpte170m() -> ColorSpace:
        C = ColorSpace
        return C(
            C.Primaries.Smpte170m,
            C.TransferFunction.Rec709,
            C.YcbcrEncoding.Rec601,
            C.Range.Limited,
        )

    @staticmethod
    def Rec709() -> ColorSpace:
        C = ColorSpace
        return C(
            C.Primaries.Rec709, C.TransferFunction.Rec709, C.YcbcrEncoding.Rec709, C.Range.Limited
        )


class PixelFormat:
    def __init__(self, name: str) -> None:
        self._name = str(name)

    def __str__(self) -> str:
        return self._name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PixelFormat) and self._name == other._name

    def __hash__(self) -> int:
        return hash(self._name)


class StreamRole(enum.Enum):
    Raw, StillCapture, VideoRecording, Viewfinder = range(4)


# -- controls and properties ----------------------------------------------------------------


class ControlType(enum.Enum):
    Bool, Byte, Integer32, Integer64, Float, String, Rectangle, Size, Point = range(1, 10)


class ControlId:
    def __init__(self, id: int, name: str, type: ControlType) -> None:
        self.id, self.name, self.type = id, name, type

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"libcamera.ControlId({self.id}, {self.name}, {self.type})"


class ControlInfo:
    def __init__(self, min: Any, max: Any, default: Any = None) -> None:
        self.min, self.max, self.default = min, max, default
        self.values: list[Any] = []


def _ids(first: int, **types: ControlType) -> dict[str, ControlId]:
    return {name: ControlId(first + i, name, t) for i, (name, t) in enumerate(types.items())}


_T = ControlType
controls = SimpleNamespace(
    **_ids(
        1,
        AeEnable=_T.Bool,
        ExposureTimeMode=_T.Integer32,
        ExposureTime=_T.Integer32,
        AnalogueGainMode=_T.Integer32,
        AnalogueGain=_T.Float,
        ScalerCrop=_T.Rectangle,
        FrameDurationLimits=_T.Integer64,
        FrameDuration=_T.Integer64,
        SensorTimestamp=_T.Integer64,
        SensorTemperature=_T.Float,
    ),
    draft=SimpleNamespace(
        **_ids(10001, NoiseReductionMode=_T.Integer32),
        NoiseReductionModeEnum=enum.IntEnum(
            "NoiseReductionModeEnum", "Off Fast HighQuality Minimal ZSL", start=0
        ),
    ),
)
properties = SimpleNamespace(
    **_ids(1, Location=_T.Integer32, Rotation=_T.Integer32, Model=_T.String),
    **_ids(5, PixelArraySize=_T.Size, UnitCellSize=_T.Size),
    draft=SimpleNamespace(
        **_ids(10001, ColorFilterArrangement=_T.Integer32),
        ColorFilterArrangementEnum=enum.IntEnum(
            "ColorFilterArrangementEnum", "RGGB GRBG GBRG BGGR RGB MONO", start=0
        ),
    ),
)


def log_set_level(category: str, level: str) -> None:
    """libcamera's own log; the stand-in logs nothing."""


# -- configuration ------------------------------------------------------------------------


class Stream:
    def __init__(self, configuration: StreamConfiguration) -> None:
        self.configuration = configuration


class StreamFormats:
    def __init__(self, sizes: dict[str, list[tuple[int, int]]]) -> None:
        self._sizes = sizes

    @property
    def pixel_formats(self) -> list[PixelFormat]:
        return [PixelFormat(name) for name in self._sizes]

    def sizes(self, pixel_format: PixelFormat) -> list[Size]:
        return [Size(w, h) for w, h in self._sizes.get(str(pixel_format), [])]


class StreamConfiguration:
    def __init__(self, role: StreamRole, formats: StreamFormats, size: Size, fmt: str) -> None:
        self.role = role
        self.formats = formats
        self.size = size
        self.pixel_format = PixelFormat(fmt)
        self.stride = 0
        self.frame_size = 0
        self.buffer_count = 4
        self.color_space: ColorSpace | None = None
        self.stream: Stream | None = None  # assigned by Camera.configure, as in libcamera

    def __str__(self) -> str:
        return f"{self.size}-{self.pixel_format}"


class SensorConfiguration:
    def __init__(self) -> None:
        self.bit_depth = 0
        self.output_size = Size()


class CameraConfiguration:
    class Status(enum.Enum):
        Valid, Adjusted, Invalid = range(3)

    def __init__(self, camera: Camera, configs: list[StreamConfiguration]) -> None:
        self._camera = camera
        self._configs = configs
        self.orientation = Orientation.Rotate0
        self.sensor_config: SensorConfiguration | None = None

    def __iter__(self) -> Iterator[StreamConfiguration]:
        return iter(self._configs)

    def __len__(self) -> int:
        return len(self._configs)

    def at(self, index: int) -> StreamConfiguration:
        return self._configs[index]

    @property
    def size(self) -> int:
        return len(self._configs)

    @property
    def empty(self) -> bool:
        return not self._configs

    def validate(self) -> CameraConfiguration.Status:
        return self._camera._sensor.validate(self)


# -- buffers and requests -----------------------------------------------------------------


class FrameMetadata:
    class Status(enum.Enum):
        Success, Error, Cancelled = range(3)

    class Plane:
        def __init__(self, bytes_used: int = 0) -> None:
            self.bytes_used = bytes_used

    def __init__(self) -> None:
        self.status = FrameMetadata.Status.Success
        self.sequence = 0
        self.timestamp = 0
        self.planes: list[FrameMetadata.Plane] = []


class FrameBuffer:
    class Plane:
        def __init__(self, fd: int = -1, offset: int = 0, length: int = 0) -> None:
            self.fd, self.offset, self.length = fd, offset, length

    def __init__(self, planes: list[FrameBuffer.Plane], cookie: int = 0) -> None:
        self.planes = list(planes)
        self.cookie = cookie
        self.metadata = FrameMetadata()


class Request:
    class Status(enum.Enum):
        Pending, Complete, Cancelled = range(3)

    def __init__(self, camera: Camera, cookie: int) -> None:
        self._camera = camera
        self.cookie = cookie
        self.status = Request.Status.Pending
        self.buffers: dict[Stream, FrameBuffer] = {}
        self.controls: dict[ControlId, Any] = {}
        self.metadata: dict[ControlId, Any] = {}

    def add_buffer(self, stream: Stream, buffer: FrameBuffer) -> None:
        if stream in self.buffers:
            raise RuntimeError("Failed to add buffer: the stream already has one (-EEXIST)")
        self.buffers[stream] = buffer

    def set_control(self, id: ControlId, value: Any) -> None:
        self.controls[id] = value

    def reuse(self) -> None:
        self.status = Request.Status.Pending
        self.controls = {}
        self.metadata = {}

    @property
    def has_pending_buffers(self) -> bool:
        return self.status == Request.Status.Pending and bool(self.buffers)

    def __str__(self) -> str:
        return f"Request({self.cookie}:{self.status.name})"


# -- the camera and its manager -------------------------------------------------------------


class Camera:
    def __init__(self, manager: CameraManager, sensor: Any) -> None:
        self._manager = manager
        self._sensor = sensor
        self.id = sensor.id
        self._acquired = False

    def __str__(self) -> str:
        return f"<libcamera.Camera '{self.id}'>"

    @property
    def controls(self) -> dict[ControlId, ControlInfo]:
        return self._sensor.control_info()

    @property
    def properties(self) -> dict[ControlId, Any]:
        return self._sensor.properties()

    def acquire(self) -> None:
        if self._sensor.acquired:
            raise RuntimeError("Failed to acquire camera: it is in use (-EBUSY)")
        self._sensor.acquired = True
        self._sensor.acquisitions += 1
        self._acquired = True

    def release(self) -> None:
        if self._sensor.running:
            raise RuntimeError("Failed to release camera: it is running (-EBUSY)")
        if self._acquired:
            self._sensor.acquired = self._acquired = False

    def generate_configuration(self, roles: list[StreamRole]) -> CameraConfiguration:
        return CameraConfiguration(self, [self._sensor.stream_config(role) for role in roles])

    def configure(self, config: CameraConfiguration) -> int:
        if not self._acquired or self._sensor.running:
            raise RuntimeError("Failed to configure camera (-EACCES)")
        if self._sensor.validate(config) == CameraConfiguration.Status.Invalid:
            raise RuntimeError("Failed to configure camera (-EINVAL)")
        for stream_config in config:
            stream_config.stream = Stream(stream_config)
        self._sensor.configure(config)
        return 0

    def create_request(self, cookie: int = 0) -> Request:
        return Request(self, cookie)

    def start(self, controls: dict[ControlId, Any] | None = None) -> None:
        if not self._acquired:
            raise RuntimeError("Failed to start camera (-EACCES)")
        self._sensor.start(dict(controls or {}), self._manager._complete)

    def stop(self) -> None:
        self._sensor.stop()

    def queue_request(self, request: Request) -> None:
        if request.status != Request.Status.Pending:
            raise RuntimeError("Failed to queue request: it is not pending (-EINVAL)")
        self._sensor.queue(request)


class CameraManager:
    _instance: CameraManager | None = None
    _lock = threading.Lock()

    @staticmethod
    def singleton() -> CameraManager:
        with CameraManager._lock:
            if CameraManager._instance is None:
                CameraManager._instance = CameraManager()
            return CameraManager._instance

    def __init__(self) -> None:
        from libcamera import _sensor  # the attached sensors, which tests may change

        self._attached = _sensor.attached
        self._cameras: dict[int, Camera] = {}
        self.version = "v0.5.2+stub"
        self.event_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._ready: list[Request] = []
        self._ready_lock = threading.Lock()

    @property
    def cameras(self) -> list[Camera]:
        """The cameras attached now (a test may unplug them), each one object for its life."""
        return [
            self._cameras.setdefault(id(sensor), Camera(self, sensor))
            for sensor in self._attached()
        ]

    def get(self, camera_id: str) -> Camera:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise RuntimeError(f"Failed to get camera {camera_id!r}")

    def get_ready_requests(self) -> list[Request]:
        with contextlib.suppress(BlockingIOError):  # nothing new since the last call
            os.eventfd_read(self.event_fd)
        with self._ready_lock:
            ready, self._ready = self._ready, []
        return ready

    def _complete(self, request: Request) -> None:
        """The sensor's thread: a request is done (or cancelled); wake whoever selects on us."""
        with self._ready_lock:
            self._ready.append(request)
        os.eventfd_write(self.event_fd, 1)
