"""NMEA 0183 sentences for a simulated receiver: RMC, GGA and GSA, one set per second.

These three are what a basic receiver sends each second and what gpsd needs for a 3d fix with
time, speed, course, altitude and dilution of precision. gpsd parses them (the simulator never
does): the firmware and the simulator share only gpsd's JSON output. A second without a fix is
sent as a receiver sends it: RMC status V, GGA quality 0, GSA mode 1, with the time still there.
"""

from __future__ import annotations

import time
from functools import reduce

from sim.route import Position

__all__ = ["HDOP", "KNOTS_PER_MPS", "checksum", "second"]

KNOTS_PER_MPS = 3600 / 1852
HDOP, VDOP, PDOP = 0.9, 1.2, 1.5  # a clear sky
SATELLITES = "01,02,03,04,05,06,07,08,,,,,"  # twelve slots, then PDOP


def checksum(body: str) -> str:
    """The NMEA checksum: the XOR of every character between '$' and '*', in hex."""
    return f"{reduce(lambda acc, ch: acc ^ ord(ch), body, 0):02X}"


def _sentence(body: str) -> str:
    return f"${body}*{checksum(body)}\r\n"


def _angle(value: float, positive: str, negative: str, width: int) -> str:
    hemisphere = positive if value >= 0 else negative
    value = abs(value)
    degrees = int(value)
    minutes = round((value - degrees) * 60, 6)
    if minutes >= 60:
        degrees, minutes = degrees + 1, 0.0
    return f"{degrees:0{width}d}{minutes:09.6f},{hemisphere}"


def second(epoch: int, position: Position | None) -> list[str]:
    """The sentences a receiver sends for the whole UTC second ``epoch``; None: no fix."""
    t = time.gmtime(epoch)
    hms = time.strftime("%H%M%S", t) + ".00"
    dmy = time.strftime("%d%m%y", t)
    if position is None:
        return [
            _sentence(f"GPRMC,{hms},V,,,,,,,{dmy},,,N"),
            _sentence(f"GPGGA,{hms},,,,,0,00,99.9,,M,,M,,"),
            _sentence("GPGSA,A,1,,,,,,,,,,,,,99.9,99.9,99.9"),
        ]
    lat = _angle(position.lat, "N", "S", 2)
    lon = _angle(position.lon, "E", "W", 3)
    knots = position.speed_mps * KNOTS_PER_MPS
    return [
        _sentence(f"GPRMC,{hms},A,{lat},{lon},{knots:.3f},{position.track_deg:.2f},{dmy},,,A"),
        _sentence(f"GPGGA,{hms},{lat},{lon},1,08,{HDOP},{position.alt_m:.1f},M,47.0,M,,"),
        _sentence(f"GPGSA,A,3,{SATELLITES}{PDOP},{HDOP},{VDOP}"),
    ]
