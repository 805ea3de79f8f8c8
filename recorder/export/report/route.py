"""A recording's route, drawn from its GNSS fixes as SVG geometry: no map tiles (the report is
read where there is no network).

The fixes are projected onto a local plane (equirectangular about their mean latitude, which is
exact enough over the few kilometres a recording covers) and scaled to fit the drawing, north up.
The line breaks where the fix was lost (a ``fix_gaps`` entry between two fixes, or more than
``BREAK_S`` seconds between them); the break is drawn dashed, so a lost fix reads as one and never
as a straight road. Markers are placed where the camera was at their time, between the fixes
around it.

Fixes come from signed evidence by way of report.json: a fix whose fields are not what the
format says (a latitude outside -90..90, a time that is not RFC 3339) is not drawn, and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Route", "build_route"]

WIDTH, HEIGHT, MARGIN = 600.0, 400.0, 24.0
BREAK_S = 5.0  # fixes come at 1 Hz: a longer silence is a lost fix even when no gap is listed
_M_PER_DEG = 111_320.0


@dataclass
class Route:
    runs: list[list[tuple[float, float]]] = field(default_factory=list)
    """Polylines of consecutive fixes, in drawing coordinates."""
    breaks: list[tuple[tuple[float, float], tuple[float, float], str]] = field(default_factory=list)
    """(last point before, first point after, what) for each lost fix."""
    start: tuple[float, float] | None = None
    end: tuple[float, float] | None = None
    markers: list[tuple[float, float, str]] = field(default_factory=list)
    scale: tuple[float, str] = (0.0, "")
    """A scale bar: its length in drawing units and what it measures."""
    fixes: int = 0
    skipped: int = 0
    """Fixes that were not drawn because a field is not what the format says."""
    first: str = ""
    last: str = ""
    gaps: list[tuple[str, str]] = field(default_factory=list)
    """The lost fixes as listed, (from, to)."""
    width: float = WIDTH
    height: float = HEIGHT


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def _coord(value: Any, limit: float) -> float | None:
    if type(value) not in (int, float) or not math.isfinite(value) or abs(value) > limit:
        return None
    return float(value)


def build_route(output: dict[str, Any], markers: list[tuple[str | None, str]]) -> Route | None:
    """The route of one recording of the report, or None when it has no ``fixes``; ``markers``
    are (wall time, label)."""
    raw = output.get("fixes")
    if not isinstance(raw, list) or not raw:
        return None
    route = Route()
    fixes: list[tuple[datetime, float, float]] = []
    for fix in raw:
        when = _when(fix.get("t")) if isinstance(fix, dict) else None
        lat = _coord(fix.get("lat"), 90) if isinstance(fix, dict) else None
        lon = _coord(fix.get("lon"), 180) if isinstance(fix, dict) else None
        if when is None or lat is None or lon is None:
            route.skipped += 1
        else:
            fixes.append((when, lat, lon))
    fixes.sort(key=lambda f: f[0])
    gaps = []
    for g in output.get("fix_gaps") or []:
        a, b = (_when(g.get("from")), _when(g.get("to"))) if isinstance(g, dict) else (None, None)
        if a is not None and b is not None:
            gaps.append((a, b))
            route.gaps.append((g["from"], g["to"]))
    route.fixes = len(fixes)
    if not fixes:
        return route
    route.first, route.last = fixes[0][0].isoformat(), fixes[-1][0].isoformat()
    lat0 = sum(f[1] for f in fixes) / len(fixes)
    k = math.cos(math.radians(lat0))
    metres = [((lon * k) * _M_PER_DEG, lat * _M_PER_DEG) for _, lat, lon in fixes]
    xs, ys = [m[0] for m in metres], [m[1] for m in metres]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 10.0)  # at least 10 m across
    scale = min(WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def at(m: tuple[float, float]) -> tuple[float, float]:
        return (
            round(WIDTH / 2 + (m[0] - cx) * scale, 2),
            round(HEIGHT / 2 - (m[1] - cy) * scale, 2),
        )

    points = [at(m) for m in metres]
    broken: set[int] = set()
    run = [points[0]]
    for i in range(1, len(fixes)):
        t0, t1 = fixes[i - 1][0], fixes[i][0]
        listed = any(a < t1 and b > t0 for a, b in gaps)
        if listed or (t1 - t0).total_seconds() > BREAK_S:
            lost = f"no fix from {t0.isoformat()} to {t1.isoformat()}"
            route.breaks.append((points[i - 1], points[i], lost))
            broken.add(i)
            route.runs.append(run)
            run = []
        run.append(points[i])
    route.runs.append(run)
    route.start, route.end = points[0], points[-1]
    for wall, label in markers:
        when = _when(wall)
        if when is not None and (p := _place(when, fixes, points, broken)) is not None:
            route.markers.append((p[0], p[1], label))
    bar = _nice(span / 4)
    route.scale = (round(bar * scale, 2), f"{bar:g} m" if bar < 1000 else f"{bar / 1000:g} km")
    return route


def _place(
    when: datetime,
    fixes: list[tuple[datetime, float, float]],
    points: list[tuple[float, float]],
    broken: set[int],
) -> tuple[float, float] | None:
    """Where the camera was at ``when``: between the fixes around it; None outside them, or
    while the fix was lost (the camera's place then is not known)."""
    for i in range(1, len(fixes)):
        t0, t1 = fixes[i - 1][0], fixes[i][0]
        if t0 <= when <= t1 and i not in broken:
            f = (when - t0) / (t1 - t0) if t1 > t0 else 0.0
            (x0, y0), (x1, y1) = points[i - 1], points[i]
            return round(x0 + (x1 - x0) * f, 2), round(y0 + (y1 - y0) * f, 2)
    return points[0] if len(fixes) == 1 and fixes[0][0] == when else None


def _nice(x: float) -> float:
    """1, 2 or 5 times a power of ten, at most ``x``."""
    p = 10.0 ** math.floor(math.log10(x))
    return next(m * p for m in (5.0, 2.0, 1.0) if m * p <= x)
