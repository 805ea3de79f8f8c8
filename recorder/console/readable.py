"""How figures read in text mode, for a technician at a glance (docs/console.md §5).

JSON replies keep the machine values (epoch seconds, bytes, seconds); text mode shows the same
keys, chosen by their names, with values a person reads: ISO 8601 UTC times, durations and sizes
in binary units::

    wall: 1717200000.6                ->  wall: 2024-06-01T00:00:00Z
    pre_roll_s: 0.6                   ->  pre_roll_s: 0.6 s
    storage_free_bytes: 1073736881    ->  storage_free_bytes: 1.00 GiB
    battery_percent: 87.5             ->  battery_percent: 87.5 %
    recording_since: 2.0              ->  recording_since: 2024-06-01T00:00:02Z (for 5 min 03 s)

``recording_since`` is device monotonic time; it becomes a wall time when the same reply holds
``wall`` and ``monotonic`` read together.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["duration", "lines", "size", "utc"]

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def utc(epoch: float) -> str:
    """``2024-06-01T00:00:00Z``: ISO 8601 UTC, to the second."""
    if not math.isfinite(epoch) or not 0 <= epoch < 253402300800:  # year 10000
        return str(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def duration(seconds: float) -> str:
    """``0.6 s``, ``42 s``, ``5 min 03 s``, ``2 h 05 min``, ``3 d 04 h``."""
    if not math.isfinite(seconds):
        return str(seconds)
    sign, s = ("-" if seconds < 0 else ""), abs(seconds)
    if round(s, 1) < 60:
        return f"{sign}{round(s, 1):g} s"
    whole = round(s)
    if whole < 3600:
        return f"{sign}{whole // 60} min {whole % 60:02d} s"
    if whole < 86400:
        return f"{sign}{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{sign}{whole // 86400} d {whole % 86400 // 3600:02d} h"


def size(n: float) -> str:
    """``512 B``, ``10.8 KiB``, ``1.00 GiB``: three significant digits, binary units."""
    if not math.isfinite(n):
        return str(n)
    value, unit = float(n), 0
    while abs(value) >= 1000 and unit < len(_SIZE_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    if unit == 0:
        return f"{n:g} B"
    digits = 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0
    return f"{value:.{digits}f} {_SIZE_UNITS[unit]}"


Render = Callable[[Any], str]


def lines(data: Mapping[str, Any], render: Render) -> list[str]:
    """``key: value`` lines of ``data`` for a person; ``render`` shows any other value."""
    return [_line(str(key), value, data, render) for key, value in data.items()]


def _line(key: str, value: Any, data: Mapping[str, Any], render: Render) -> str:
    if not _number(value):
        return f"{key}: {render(value)}"
    if key == "recording_since":
        return f"{key}: {_since(value, data)}"
    if key == "wall" or key.endswith("_wall"):
        return f"{key}: {utc(value)}"
    if key == "monotonic":
        return f"{key}: {duration(value)}"
    if key == "percent":
        return f"{key}: {_percent(value)}"
    for suffix, show in (("_bytes", size), ("_s", duration), ("_percent", _percent)):
        if key.endswith(suffix):
            return f"{key}: {show(value)}"
    return f"{key}: {render(value)}"


def _since(since: float, data: Mapping[str, Any]) -> str:
    wall, mono = data.get("wall"), data.get("monotonic")
    if not (isinstance(wall, int | float) and isinstance(mono, int | float)):
        return f"{since:g} (device time)"
    return f"{utc(wall - (mono - since))} (for {duration(mono - since)})"


def _percent(value: float) -> str:
    return f"{value:g} %"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
