"""``Picamera2Camera``, the DNG camera profile; not available here (see the package docstring)."""

from __future__ import annotations

from typing import Any


class Picamera2Camera:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("PiDNG is not installed in the test environment: no DNG output")
