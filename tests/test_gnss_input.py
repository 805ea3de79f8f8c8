"""Bad input around GNSS gets a clear error, never a traceback: gpsd's JSON (from a socket that
sends anything), TPV fields, scenario routes, and the sensor JSON a segment carries."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hal.gnss import Fix
from hal.gpsd import GpsdClient, GpsdError, parse_time, parse_tpv
from recorder.evidence.sensor import SensorError, fix_sample, read_fix
from sim.nmea import checksum, second
from sim.route import Position, RouteError, parse_route
from tests.profiles import examples

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
TPV_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.just("2024-06-01T00:00:01.000Z"),
)


@given(
    st.dictionaries(
        st.sampled_from(
            ["mode", "time", "lat", "lon", "alt", "altMSL", "eph", "epv", "speed", "track"]
        ),
        TPV_VALUES,
    )
)
@example({"mode": 3, "time": "2024-06-01T00:00:01Z", "lat": 91.0, "lon": 0.0})
@example({"mode": 2, "time": "1970-01-01T00:00:00Z", "lat": 0.0, "lon": 0.0})
@example({"mode": 2, "time": "2024-06-01T00:00:01Z", "lat": 0.0, "lon": 0.0, "speed": float("nan")})
def test_any_tpv_is_a_fix_no_fix_or_a_named_error(report: dict[str, Any]) -> None:
    try:
        fix = parse_tpv({"class": "TPV", **report}, received=1.0)
    except GpsdError as e:
        assert "TPV" in str(e)
    else:
        assert fix is None or fix.mode in ("2d", "3d")


def test_a_tpv_reads_as_gpsd_writes_it() -> None:
    fix = parse_tpv(
        {
            "class": "TPV",
            "mode": 3,
            "time": "2024-06-01T00:00:01.000Z",
            "lat": 50.5,
            "lon": -4.25,
            "altMSL": 35.0,
            "eph": 3.1,
            "epv": 5.2,
            "speed": 1.4,
            "track": 359.9,
        },
        received=7.0,
    )
    assert fix == Fix(1717200001.0, 7.0, "3d", 50.5, -4.25, 35.0, 3.1, 5.2, 1.4, 359.9)
    assert parse_tpv({"mode": 1, "time": "2024-06-01T00:00:01.000Z"}, 1.0) is None
    with pytest.raises(GpsdError, match="ISO 8601"):
        parse_time("yesterday")


@contextmanager
def fake_peer(payload: bytes) -> Iterator[int]:
    """Not gpsd: a TCP peer on 127.0.0.1 that sends ``payload`` and closes (bad input only)."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(payload)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.close()
        thread.join(timeout=5)


BANNER = b'{"class":"VERSION","release":"3.22","proto_major":3,"proto_minor":14}\n'


@settings(max_examples=examples(40))
@given(st.binary(max_size=300) | JSON.map(lambda v: (json.dumps(v) + "\n").encode()))
@example(b"\xff\xfe\n")
@example(b'{"class":"TPV","mode":3,"time":"2024-06-01T00:00:01Z","lat":"x","lon":0}\n')
@example(b'{"class":"ERROR","message":"unrecognized"}\n')
@example(b"[]\n")
def test_garbage_from_gpsd_is_a_named_error(garbage: bytes) -> None:
    with fake_peer(BANNER + garbage) as port:
        client = GpsdClient("127.0.0.1", port, now=lambda: 0.0, timeout=2.0)
        try:
            client.connect()
            while True:
                client.read()
        except GpsdError as e:
            assert "gpsd" in str(e) or "TPV" in str(e)
        except TimeoutError:
            pass
        finally:
            client.close()


def test_a_peer_that_is_not_gpsd_is_named() -> None:
    with fake_peer(b'{"class":"HELLO"}\n') as port:
        client = GpsdClient("127.0.0.1", port, now=lambda: 0.0, timeout=2.0)
        with pytest.raises(GpsdError, match="is not gpsd"):
            client.connect()
    old = BANNER.replace(b'"proto_major":3', b'"proto_major":2')
    with fake_peer(old) as port, pytest.raises(GpsdError, match="protocol 2"):
        GpsdClient("127.0.0.1", port, now=lambda: 0.0, timeout=2.0).connect()


@given(JSON)
@example({"point": [{"lat": 0, "lon": 0, "speed_mps": 1}, {"lat": 0, "lon": 0, "speed_mps": 1}]})
@example({"point": [{"lat": 0, "lon": 0, "speed_mps": 0}, {"lat": 1, "lon": 1}]})
@example(
    {
        "point": [{"lat": 0, "lon": 0, "speed_mps": 1}, {"lat": 1, "lon": 1}],
        "no_fix": [{"from": 5, "to": 5}],
    }
)
def test_any_route_table_is_a_route_or_a_named_error(raw: object) -> None:
    try:
        route = parse_route(raw, 60.0)
    except RouteError as e:
        assert "route" in str(e)
    else:
        assert len(route.points) >= 2
        route.at(30.0)


def test_route_errors_name_the_key_and_what_is_allowed() -> None:
    point = {"lat": 95, "lon": 0, "speed_mps": 1}
    with pytest.raises(
        RouteError, match=r"route point 1: key 'lat': got 95; allowed: a number within -90\.\.90"
    ):
        parse_route({"point": [point, {"lat": 0, "lon": 0}]}, 60)
    with pytest.raises(RouteError, match=r"'from' .* must be before 'to'"):
        parse_route(
            {
                "point": [{"lat": 0, "lon": 0, "speed_mps": 1}, {"lat": 0, "lon": 1}],
                "no_fix": [{"from": 9, "to": 3}],
            },
            60,
        )


FIXES = st.builds(
    Fix,
    time=st.floats(315_964_800, 4_102_444_800),
    received=st.floats(0, 1e7),
    mode=st.sampled_from(["2d", "3d"]),
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    alt_m=st.none() | st.floats(-400, 9000),
    eph_m=st.none() | st.floats(0, 1e4),
    epv_m=st.none() | st.floats(0, 1e4),
    speed_mps=st.none() | st.floats(0, 300),
    track_deg=st.none() | st.floats(0, 360),
)


@given(FIXES)
def test_a_fix_sample_is_compact_json_with_sorted_keys(fix: Fix) -> None:
    data = fix_sample(fix)
    body = json.loads(data)["fix"]
    assert list(body) == sorted(body) and b" " not in data
    assert body["lat"] == pytest.approx(fix.lat, abs=1e-7) and body["mode"] == fix.mode
    assert (body["alt_m"] is None) == (fix.alt_m is None)


@given(FIXES)
def test_a_fix_sample_reads_back_as_written(fix: Fix) -> None:
    got = read_fix(fix_sample(fix))
    assert got is not None
    assert got["mode"] == fix.mode and abs(got["epoch"] - fix.time) < 0.001
    assert got["lat"] == pytest.approx(fix.lat, abs=1e-7) and got["lon"] == pytest.approx(
        fix.lon, abs=1e-7
    )


@given(st.binary(max_size=200) | JSON.map(lambda v: json.dumps({"fix": v}).encode()))
@example(b'{"marker": true}')
@example(
    b'{"fix": {"t": "2024-06-01T00:00:01.000Z", "mode": "4d", "lat": 0, "lon": 0, "alt_m": null, '
    b'"eph_m": null, "epv_m": null, "speed_mps": null, "track_deg": null}}'
)
def test_any_sensor_frame_is_a_fix_another_kind_or_a_named_error(data: bytes) -> None:
    try:
        read_fix(data)
    except SensorError as e:
        assert "fix" in str(e) or "sensor frame" in str(e)


def test_nmea_sentences_carry_their_checksum() -> None:
    # The NMEA 0183 standard's own GGA example.
    assert checksum("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") == "47"
    lines = second(1717200000, Position(-33.5, -70.25, 500.0, 1.0, 90.0))
    assert lines[0].startswith("$GPRMC,000000.00,A,3330.000000,S,07015.000000,W,")
    assert all(line.endswith("\r\n") and line[-5] == "*" for line in lines)
