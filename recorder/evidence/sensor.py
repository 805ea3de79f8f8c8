"""Sensor samples: the UTF-8 JSON of stream 2 (section 9.1 of docs/evidence-format.md).

A sensor frame's data is one JSON object with one key saying what it is:

- ``{"marker": true}``: the officer pressed marker, at the frame's pts;
- ``{"fix": {...}}``: a GNSS fix that reached the device at the frame's pts; its fields are
  FIX_FIELDS (``t`` the receiver's UTC time, RFC 3339; ``mode`` "2d" or "3d"; ``lat``/``lon``
  WGS84 degrees; the rest numbers or null).

One function makes a fix's bytes (:func:`fix_sample`) and one reads them back
(:func:`read_fix`), so the camera and the agency's export agree by construction. A reader skips
kinds it does not know; a ``fix`` that does not fit is an error naming the field.
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from typing import Any

from hal.gnss import Fix

__all__ = ["FIX_FIELDS", "SensorError", "fix_sample", "read_fix"]

FIX_FIELDS = ("t", "mode", "lat", "lon", "alt_m", "eph_m", "epv_m", "speed_mps", "track_deg")


class SensorError(ValueError):
    """A sensor sample's JSON does not follow section 9.1."""


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _num(value: float | None, digits: int) -> str:
    return "null" if value is None else f"{value:.{digits}f}"


def fix_sample(fix: Fix) -> bytes:
    """The sensor-frame data for ``fix``: compact JSON, keys sorted, numbers with fixed decimals
    (lat/lon 7, speed 3, the rest 2). Spelt out rather than ``json.dumps``: it runs once a
    second on the recorder's thread, within a budget (recorder/bench/gnss.py)."""
    whole = int(fix.time // 1)
    millis = min(999, int((fix.time - whole) * 1000 + 0.5))
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return (
        f'{{"fix":{{"alt_m":{_num(fix.alt_m, 2)},"eph_m":{_num(fix.eph_m, 2)},'
        f'"epv_m":{_num(fix.epv_m, 2)},"lat":{fix.lat:.7f},"lon":{fix.lon:.7f},'
        f'"mode":"{fix.mode}","speed_mps":{_num(fix.speed_mps, 3)},"t":"{t}.{millis:03d}Z",'
        f'"track_deg":{_num(fix.track_deg, 2)}}}}}'
    ).encode()


def _number(body: dict[str, Any], key: str, lo: float, hi: float, nullable: bool) -> float | None:
    value = body.get(key)
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SensorError(f"fix {key} must be a finite number, got {str(value)[:40]!r}")
    if not lo <= value <= hi:
        raise SensorError(f"fix {key} must be within {lo:g}..{hi:g}, got {value!r}")
    return float(value)


def read_fix(data: bytes) -> dict[str, Any] | None:
    """The fix in a sensor frame's data, checked (its fields as :func:`fix_sample` wrote them,
    ``t`` also as epoch seconds under ``epoch``); None if the frame is another kind."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise SensorError("sensor frame is not UTF-8 JSON") from None
    if not isinstance(doc, dict):
        raise SensorError("sensor frame is not a JSON object")
    body = doc.get("fix")
    if body is None:
        return None
    if not isinstance(body, dict) or set(body) != set(FIX_FIELDS):
        raise SensorError(f"fix must be an object with exactly the fields {', '.join(FIX_FIELDS)}")
    t = body["t"]
    try:
        if not isinstance(t, str) or not t.endswith("Z"):
            raise ValueError
        epoch = datetime.fromisoformat(t[:-1] + "+00:00").timestamp()
    except ValueError:
        raise SensorError(f"fix t must be an RFC 3339 UTC time, got {str(t)[:40]!r}") from None
    if body["mode"] not in ("2d", "3d"):
        raise SensorError(f"fix mode must be '2d' or '3d', got {str(body['mode'])[:10]!r}")
    inf = math.inf
    return {
        "t": t,
        "epoch": epoch,
        "mode": body["mode"],
        "lat": _number(body, "lat", -90, 90, False),
        "lon": _number(body, "lon", -180, 180, False),
        "alt_m": _number(body, "alt_m", -12_000, 100_000, True),
        "eph_m": _number(body, "eph_m", 0, inf, True),
        "epv_m": _number(body, "epv_m", 0, inf, True),
        "speed_mps": _number(body, "speed_mps", 0, inf, True),
        "track_deg": _number(body, "track_deg", 0, 360, True),
    }
