"""A scenario's route: waypoints walked or driven at given speeds, and spans with no fix.

In a scenario file::

    [route]
    [[route.point]]            # two or more; the route starts at the first at t = 0
    lat = 48.8530              # degrees, -90..90
    lon = 2.3499               # degrees, -180..180
    alt_m = 35.0               # optional, metres above mean sea level, -500..9000 (default 0)
    speed_mps = 1.5            # the speed of the leg from this point to the next, > 0 and
                               # at most 100 (required on every point but the last)
    [[route.no_fix]]           # any number: the receiver has no fix from..to (a tunnel)
    from = 200.0               # seconds after play() began, 0 <= from < to <= duration
    to = 230.0

After the last point the device stands still there. Legs are measured on a local flat
approximation of the Earth (equirectangular), which is within centimetres over a city walk.
Every violation raises ScenarioError naming the key and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hal.errors import BackendError

__all__ = ["EARTH_RADIUS_M", "Position", "Route", "RouteError", "parse_route"]

EARTH_RADIUS_M = 6_371_008.8


class RouteError(BackendError):
    """A scenario's [route] is not valid (the scenario loader names the file)."""


@dataclass(frozen=True)
class Waypoint:
    lat: float
    lon: float
    alt_m: float
    speed_mps: float  # of the leg that starts here; 0 for the last point


@dataclass(frozen=True)
class Position:
    """Where the device is at one moment of the route, and how it moves."""

    lat: float
    lon: float
    alt_m: float
    speed_mps: float
    track_deg: float


@dataclass(frozen=True)
class Route:
    points: tuple[Waypoint, ...]
    no_fix: tuple[tuple[float, float], ...] = ()

    def has_fix(self, t: float) -> bool:
        return not any(lo <= t < hi for lo, hi in self.no_fix)

    def at(self, t: float) -> Position:
        """The position ``t`` seconds after the route began."""
        elapsed = 0.0
        for a, b in zip(self.points, self.points[1:], strict=False):
            north, east = _offset_m(a, b)
            length = math.hypot(north, east)
            leg_s = length / a.speed_mps
            track = math.degrees(math.atan2(east, north)) % 360.0
            if t < elapsed + leg_s:
                f = (t - elapsed) / leg_s if leg_s > 0 else 0.0
                return Position(
                    lat=a.lat + (b.lat - a.lat) * f,
                    lon=a.lon + (b.lon - a.lon) * f,
                    alt_m=a.alt_m + (b.alt_m - a.alt_m) * f,
                    speed_mps=a.speed_mps,
                    track_deg=track,
                )
            elapsed += leg_s
        last = self.points[-1]
        return Position(last.lat, last.lon, last.alt_m, 0.0, 0.0)


def _offset_m(a: Waypoint, b: Waypoint) -> tuple[float, float]:
    """Metres north and east from ``a`` to ``b``."""
    mean_lat = math.radians((a.lat + b.lat) / 2)
    north = math.radians(b.lat - a.lat) * EARTH_RADIUS_M
    east = math.radians(b.lon - a.lon) * EARTH_RADIUS_M * math.cos(mean_lat)
    return north, east


def _number(raw: Mapping[str, Any], key: str, where: str, lo: float, hi: float) -> float:
    value = raw.get(key)
    number = (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    )
    if number is not None and math.isfinite(number) and lo <= number <= hi:
        return number
    got = "missing" if key not in raw else f"got {value!r}"
    raise RouteError(f"{where}: key {key!r}: {got}; allowed: a number within {lo:g}..{hi:g}")


def _only(raw: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in raw:
        if key not in keys:
            raise RouteError(f"{where}: unknown key {key!r}; allowed keys: {', '.join(keys)}")


def parse_route(raw: object, duration: float) -> Route:
    """Validate a scenario's ``[route]`` table (RouteError naming the key if it is bad)."""
    if not isinstance(raw, dict):
        raise RouteError("key 'route' must be a table ([route])")
    _only(raw, ("point", "no_fix"), "route")
    points_raw = raw.get("point")
    if not isinstance(points_raw, list) or len(points_raw) < 2:
        raise RouteError("route: needs two or more [[route.point]] tables")
    points = []
    for i, p in enumerate(points_raw, 1):
        where = f"route point {i}"
        if not isinstance(p, dict):
            raise RouteError(f"{where}: must be a table ([[route.point]])")
        last = i == len(points_raw)
        _only(p, ("lat", "lon", "alt_m", "speed_mps"), where)
        if last and "speed_mps" in p:
            raise RouteError(f"{where}: the last point has no leg after it, so no 'speed_mps'")
        points.append(
            Waypoint(
                lat=_number(p, "lat", where, -90, 90),
                lon=_number(p, "lon", where, -180, 180),
                alt_m=_number(p, "alt_m", where, -500, 9000) if "alt_m" in p else 0.0,
                speed_mps=0.0 if last else _number(p, "speed_mps", where, 1e-3, 100),
            )
        )
    spans = []
    no_fix = raw.get("no_fix", [])
    if not isinstance(no_fix, list):
        raise RouteError("route: 'no_fix' must be an array of tables ([[route.no_fix]])")
    for i, span in enumerate(no_fix, 1):
        where = f"route no_fix {i}"
        if not isinstance(span, dict):
            raise RouteError(f"{where}: must be a table ([[route.no_fix]])")
        _only(span, ("from", "to"), where)
        lo = _number(span, "from", where, 0, duration)
        hi = _number(span, "to", where, 0, duration)
        if not lo < hi:
            raise RouteError(f"{where}: 'from' ({lo:g}) must be before 'to' ({hi:g})")
        spans.append((lo, hi))
    return Route(tuple(points), tuple(spans))
