"""The burn-in: a visible caption (UTC time, device id, frame counter) and a machine-readable
frame counter that survives H.264, drawn into the luma (Y) plane of a frame and read back.

The counter is 32 bits, most significant first, as black (Y=16) and white (Y=235) squares laid
row-major in a strip at the bottom-left corner, framed by a mid-grey (Y=128) margin one square
wide. Squares are 16 px when the frame is at least 288 px wide, else 8 px; there are 32 columns
when they fit, else 16 columns in two rows. Frames narrower than 144 px or lower than 64 px are
refused. Squares are aligned to the codec's 8/16 px blocks so that compression keeps their
centres far from the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["burn_caption", "burn_frame_counter", "counter_layout", "read_frame_counter"]

BLACK, GREY, WHITE = 16, 128, 235
_BITS = 32


@dataclass(frozen=True)
class CounterLayout:
    """Where the counter strip sits in a frame of a given size."""

    block: int
    cols: int
    rows: int
    x0: int  # top-left of the strip, margin included
    y0: int

    @property
    def box_width(self) -> int:
        return (self.cols + 2) * self.block

    @property
    def box_height(self) -> int:
        return (self.rows + 2) * self.block

    def square(self, bit: int) -> tuple[int, int]:
        """Top-left corner of the square carrying ``bit`` (0 = most significant)."""
        row, col = divmod(bit, self.cols)
        return self.x0 + (col + 1) * self.block, self.y0 + (row + 1) * self.block


def counter_layout(width: int, height: int) -> CounterLayout:
    """The strip layout for a ``width`` x ``height`` frame; ValueError if it cannot fit."""
    if width < 144 or height < 64:
        raise ValueError(f"frame {width}x{height} is too small for the counter (min 144x64)")
    block = 16 if width >= 18 * 16 else 8
    cols = 32 if (32 + 2) * block <= width else 16
    rows = _BITS // cols
    return CounterLayout(block, cols, rows, 0, height - (rows + 2) * block)


def burn_frame_counter(y_plane: np.ndarray, counter: int) -> None:
    """Draw ``counter`` (0 <= counter < 2**32) into ``y_plane`` in place."""
    if not 0 <= counter < 1 << _BITS:
        raise ValueError(f"frame counter {counter} does not fit in 32 bits")
    h, w = y_plane.shape
    lay = counter_layout(w, h)
    y_plane[lay.y0 : lay.y0 + lay.box_height, lay.x0 : lay.x0 + lay.box_width] = GREY
    b = lay.block
    for bit in range(_BITS):
        x, y = lay.square(bit)
        on = (counter >> (_BITS - 1 - bit)) & 1
        y_plane[y : y + b, x : x + b] = WHITE if on else BLACK


def read_frame_counter(y_plane: np.ndarray) -> int:
    """Read back the counter burnt by :func:`burn_frame_counter`, after lossy coding too.

    Raises ValueError when there is no strip (the margin is not grey) or a square is neither
    clearly black nor clearly white, rather than returning a wrong number.
    """
    h, w = y_plane.shape
    lay = counter_layout(w, h)
    b, q = lay.block, lay.block // 4
    margin = y_plane[lay.y0 + q : lay.y0 + b - q, lay.x0 + q : lay.x0 + lay.box_width - q]
    if abs(float(margin.mean()) - GREY) > 40:
        raise ValueError("no frame-counter strip: the margin is not mid-grey")
    value = 0
    for bit in range(_BITS):
        x, y = lay.square(bit)
        level = float(y_plane[y + q : y + b - q, x + q : x + b - q].mean())
        if BLACK + 40 < level < WHITE - 40:
            raise ValueError(f"frame-counter bit {bit} is unreadable (luma {level:.0f})")
        value = (value << 1) | (level > GREY)
    return value


def burn_caption(y_plane: np.ndarray, lines: list[str]) -> None:
    """Write ``lines`` of white text on a dark box at the top-left of ``y_plane``.

    A box rather than an outline: with OpenCV 5 a thicker stroke also widens the glyph advance,
    so an outline drawn as thicker black text drifts away from the white text it should frame.
    """
    _, w = y_plane.shape
    scale = max(0.3, w / 1600)
    thickness = max(1, round(scale * 1.5))
    font = cv2.FONT_HERSHEY_SIMPLEX
    (_, text_h), _ = cv2.getTextSize("0", font, scale, thickness)
    pad, step = max(2, text_h // 2), round(text_h * 1.6)
    width = max(cv2.getTextSize(line, font, scale, thickness)[0][0] for line in lines)
    cv2.rectangle(y_plane, (0, 0), (width + 2 * pad, step * len(lines) + pad), BLACK, -1)
    for i, line in enumerate(lines, start=1):
        cv2.putText(y_plane, line, (pad, step * i), font, scale, WHITE, thickness, cv2.LINE_AA)
