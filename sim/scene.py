"""The synthetic picture: a moving scene drawn with OpenCV straight into an I420 frame buffer.

Not simulated: optics, exposure, noise, rolling shutter; the scene is a gradient with a
bouncing disc and a sweeping bar, cheap enough for the simulator's real-time budget.
"""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np

from sim.sound import FLASH_FRACTION
from sim.watermark import burn_caption, burn_frame_counter, counter_layout

__all__ = ["Scene"]


class Scene:
    """Renders frames of one size into a reused I420 (yuv420p) array of shape (h*3//2, w)."""

    def __init__(self, width: int, height: int, device_id: str) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"I420 needs even dimensions, got {width}x{height}")
        counter_layout(width, height)  # refuse sizes the counter strip cannot fit
        self.width, self.height, self.device_id = width, height, device_id
        self._buf = np.empty((height * 3 // 2, width), np.uint8)
        # Background: a diagonal luma gradient and flat, slightly blue chroma.
        ys, xs = np.mgrid[0:height, 0:width]
        self._background = (40 + 120 * (xs + ys) / (width + height)).astype(np.uint8)

    def render(self, t: float, wall: float, counter: int, flash: bool = False) -> np.ndarray:
        """Draw the scene at virtual time ``t`` with its burn-in; returns the reused buffer.

        ``flash``: a clap's frame (sim.sound), with a white square in the top-right corner,
        1/FLASH_FRACTION of the width across."""
        w, h = self.width, self.height
        y_plane = self._buf[:h]
        u_plane = self._buf[h : h + h // 4].reshape(h // 2, w // 2)
        v_plane = self._buf[h + h // 4 :].reshape(h // 2, w // 2)
        np.copyto(y_plane, self._background)
        u_plane.fill(140)
        v_plane.fill(120)

        bar_x = int((t * w / 4) % w)
        cv2.rectangle(y_plane, (bar_x, 0), (bar_x + w // 20, h - 1), 200, -1)
        cx, cy = _bounce(t * w / 3, w), _bounce(t * h / 2.3, h)
        radius = max(6, h // 8)
        cv2.circle(y_plane, (cx, cy), radius, 90, -1)
        cv2.circle(u_plane, (cx // 2, cy // 2), radius // 2, 90, -1)
        cv2.circle(v_plane, (cx // 2, cy // 2), radius // 2, 200, -1)

        if flash:
            side = w // FLASH_FRACTION
            y_plane[:side, w - side :] = 235
            u_plane[: side // 2, (w - side) // 2 :] = 128
            v_plane[: side // 2, (w - side) // 2 :] = 128

        stamp = dt.datetime.fromtimestamp(wall, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        burn_caption(y_plane, [f"{stamp}Z", f"{self.device_id} #{counter}"])
        burn_frame_counter(y_plane, counter & 0xFFFFFFFF)
        return self._buf


def _bounce(x: float, size: int) -> int:
    """Position ``x`` folded back and forth over [0, size)."""
    period = 2 * (size - 1)
    p = int(x) % period
    return p if p < size else period - p
