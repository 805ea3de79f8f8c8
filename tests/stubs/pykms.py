"""A stand-in for kms++'s Python bindings (Raspberry Pi OS's python3-kms++; not on PyPI).

picamera2's DRM preview imports it at module level (``from pykms import PixelFormat``), so
``import picamera2`` needs it. The tests have no display: opening a DRM card fails, as it does
on a Pi with no monitor, and ``picamera2.previews.list_devices()`` finds none.

Do not install PyPI's "kms" instead: that name belongs to an unrelated project, not kms++.
"""

from __future__ import annotations

import enum

__all__ = ["Card", "PixelFormat"]


class PixelFormat(enum.Enum):
    RGB888 = "RG24"
    BGR888 = "BG24"
    XRGB8888 = "XR24"
    XBGR8888 = "XB24"
    ABGR8888 = "AB24"
    YUV420 = "YU12"
    YVU420 = "YV12"
    NV12 = "NV12"


class Card:
    def __init__(self, path: str = "") -> None:
        raise OSError(f"no DRM display here ({path or 'default card'})")
