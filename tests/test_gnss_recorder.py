"""Location end to end on the simulator: a route through a real gpsd (gpsfake), fixes at 1 Hz in
the signed sensor stream with their video second, in the pre-roll, none in a tunnel, the clock
learnt from a fix, and the export's GPX, MP4 location (read by ffprobe) and report.json."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from recorder.evidence.keys import load_agency_private
from recorder.evidence.media import STREAM_SENSOR, STREAM_VIDEO
from recorder.evidence.reader import Verdict
from recorder.evidence.sensor import read_fix
from recorder.export.exporter import export
from recorder.export.location import iso6709
from tests.simdevice import SimDevice, scenario

pytestmark = pytest.mark.skipif(
    shutil.which("gpsfake") is None, reason="gpsd's gpsfake is not installed (make tools)"
)

ROUTE = """
[route]
[[route.point]]
lat = 50.8467
lon = 4.3524
alt_m = 58.0
speed_mps = 1.5
[[route.point]]
lat = 50.8476
lon = 4.3540
alt_m = 60.0
[[route.no_fix]]
from = 28.0
to = 33.0
"""

STEPS = """
[[step]]
at = 20.0
do = "press"
input = "record"
[[step]]
at = 20.2
do = "release"
input = "record"
[[step]]
at = 40.0
do = "hold"
input = "record"
seconds = 3.5
"""


def patrol(tmp_path: Path, **kw: Any) -> Path:
    return scenario(tmp_path / "route.toml", 50, STEPS + ROUTE, **kw)


def sensor_fixes(cam: SimDevice) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for seg in cam.segments():
        for frame in cam.frames(seg):
            if frame.stream == STREAM_SENSOR and (fix := read_fix(frame.data)) is not None:
                out.append((frame.pts_us, fix))
    return out


def test_fixes_ride_in_the_sensor_stream_once_a_second_with_their_video(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    cam.run(patrol(tmp_path))
    assert cam.verify().worst is Verdict.OK
    fixes = sensor_fixes(cam)
    seconds = [pts // 1_000_000 for pts, _ in fixes]
    assert seconds == sorted(set(seconds))  # at most one a device second, in order
    # the pre-roll (at least 5 s before the press at 20 s, from a keyframe) has its locations:
    # one for every second from its first frame on
    first = cam.frames(cam.segments()[0])[0].pts_us
    assert first <= 15_000_000
    assert [pts for pts, _ in fixes if pts < 20_000_000] == [
        s * 1_000_000 + 500_000 for s in range(first // 1_000_000, 20) if s * 1e6 + 5e5 >= first
    ]
    # no sample in the tunnel, and no stale one repeated: each fix is a new receiver second
    assert not [s for s in seconds if 28 <= s < 33]
    assert {33, 34} <= set(seconds)
    times = [f["epoch"] for _, f in fixes]
    assert times == sorted(set(times))
    # each fix is in the same record as the video of its second
    for seg in cam.segments():
        frames = cam.frames(seg)
        for i, frame in enumerate(frames):
            if frame.stream == STREAM_SENSOR:
                video = [
                    f.pts_us for f in frames[max(0, i - 2) : i + 3] if f.stream == STREAM_VIDEO
                ]
                assert video and min(abs(v - frame.pts_us) for v in video) < 100_000


def test_a_clock_never_set_learns_the_time_from_a_fix(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path, sim={"clock_never_set": True})
    cam.run(patrol(tmp_path, start=None))
    sets = [e for e in cam.audit_events() if e["event"] == "clock_set"]
    assert len(sets) == 1 and sets[0]["source"] == "gnss" and sets[0]["by"] == "gnss"
    assert sets[0]["old_source"] == "none" and sets[0]["new_wall"] > 1.7e9
    meta = cam.header(cam.segments()[0])
    assert meta["clock_source"] == "gnss" and meta["clock_set"] is True


def test_gnss_disabled_records_without_positions(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path, gnss={"enabled": False})
    cam.run(scenario(tmp_path / "plain.toml", 50, STEPS))
    assert cam.segments() and sensor_fixes(cam) == []


def test_the_export_gives_gpx_location_and_fixes_in_report_json(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    cam.run(patrol(tmp_path))
    out = tmp_path / "export"
    export(cam.evidence, load_agency_private(tmp_path / "keys" / "agency.key"), cam.device_pub, out)
    doc = json.loads((out / "report.json").read_text())
    (rec,) = doc["outputs"]
    fixes, gaps = rec["fixes"], rec["fix_gaps"]
    assert all(
        set(f) == {"t", "lat", "lon", "alt_m", "accuracy_m", "speed_mps", "mode"} for f in fixes
    )
    assert all(f["t"].endswith("Z") and f["mode"] in ("2d", "3d") for f in fixes)
    assert fixes[0]["t"] in ("2024-06-01T00:00:14.000Z", "2024-06-01T00:00:15.000Z")
    assert gaps == [{"from": "2024-06-01T00:00:27.000Z", "to": "2024-06-01T00:00:33.000Z"}]
    # GPX next to the MP4: one track, split where the fix was lost
    gpx = out / rec["gpx"]
    assert gpx.name == rec["file"].removesuffix(".mp4") + ".gpx"
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    segs = ET.parse(gpx).getroot().findall("g:trk/g:trkseg", ns)
    before = sum(f["t"] < "2024-06-01T00:00:28" for f in fixes)
    assert [len(s.findall("g:trkpt", ns)) for s in segs] == [before, len(fixes) - before]
    # the start position in the MP4, as ffprobe reads it
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format_tags=location",
            "-of",
            "json",
            str(out / rec["file"]),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    location = json.loads(probe.stdout)["format"]["tags"]["location"]
    assert location.startswith(iso6709(fixes[0])[:17])  # +50.8468+004.3526: lat, lon


def test_a_recording_that_begins_in_a_tunnel_gets_its_location_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recorder.export.location as location

    cam = SimDevice.provision(tmp_path)
    cam.run(patrol(tmp_path))
    # as if the first fix came later than the export reads ahead
    monkeypatch.setattr(location.first_fix_ahead, "__defaults__", (1,))
    out = tmp_path / "export"
    export(cam.evidence, load_agency_private(tmp_path / "keys" / "agency.key"), cam.device_pub, out)
    (rec,) = json.loads((out / "report.json").read_text())["outputs"]
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format_tags=location:stream=nb_frames",
            "-of",
            "json",
            str(out / rec["file"]),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(probe.stdout)
    assert info["format"]["tags"]["location"].startswith(iso6709(rec["fixes"][0])[:17])
    assert int(info["streams"][0]["nb_frames"]) == rec["frames"]


def test_status_shows_the_fix_or_no_fix_and_its_age(tmp_path: Path) -> None:
    from recorder.console import readable
    from recorder.console.commands import _value
    from recorder.daemon import Daemon

    cam = SimDevice.provision(tmp_path)
    daemon = Daemon(cam.config)
    seen: dict[int, dict[str, Any]] = {}

    def look(d: Daemon) -> None:
        assert d.recorder is not None and d.devices is not None
        now = d.devices.clock.monotonic()
        for at in (5, 26, 31):  # before the press, with a fix; later in the tunnel (28..33)
            if at not in seen and now >= at:
                seen[at] = d.recorder.status()

    daemon.on_loop = look
    assert daemon.run(patrol(tmp_path)) == 0
    assert seen[5]["gnss"] == "3d" and seen[5]["gnss_fix_age_s"] < 1.5
    assert seen[26]["gnss_lat"] == pytest.approx(50.8468, abs=1e-3)
    assert seen[31]["gnss"] == "no fix" and 2.5 <= seen[31]["gnss_fix_age_s"] <= 4.5
    text = readable.lines(seen[31], _value)
    assert "gnss: no fix" in text and any(ln.startswith("gnss_fix_age_s: ") for ln in text)
