"""A stand-in for libcamera's Python bindings, so that the real picamera2 runs off a Pi.

libcamera (C++, with pybind11 bindings in ``libcamera._libcamera``) is the one layer of the Pi
camera stack that is not Python and not on PyPI. This package has the names picamera2 uses,
with the semantics of the bindings (``src/py/libcamera/py_main.cpp``): a camera manager with
an ``event_fd`` and ``get_ready_requests()``, cameras that generate, validate and apply
configurations, requests carrying frame buffers and controls, and ``controls``/``properties``
as ControlId objects. Behind it, :mod:`libcamera._sensor` plays an imx219 (Camera Module 2)
sensor and ISP: it fills the buffers of each queued request with a YUV420 picture and
completes it with a ``SensorTimestamp``.

Only ever on ``sys.path`` when no real libcamera can be imported (tests/picamera2_off_pi.py).
What is not simulated is listed in :mod:`libcamera._sensor`.
"""

from ._libcamera import *  # noqa: F403  (the bindings' own layout: libcamera re-exports _libcamera)
from ._libcamera import controls, properties  # noqa: F401
