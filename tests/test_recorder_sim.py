"""The camera on the simulator, end to end and in-process, on the virtual clock."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from recorder.daemon import Daemon
from recorder.evidence.keys import load_agency_private
from recorder.evidence.media import STREAM_VIDEO
from recorder.evidence.reader import Verdict
from recorder.export.exporter import export
from sim.watermark import read_frame_counter
from tests.simdevice import PINNED_START, SimDevice, scenario

FPS = 15


def incident(
    tmp_path: Path, start: float = 20.0, hold_at: float = 45.0, pin: str | None = PINNED_START
) -> Path:
    return scenario(
        tmp_path / "incident.toml",
        60,
        f"""
        [[step]]
        at = {start}
        do = "press"
        input = "record"
        [[step]]
        at = {start + 0.2}
        do = "release"
        input = "record"
        [[step]]
        at = {hold_at}
        do = "hold"
        input = "record"
        seconds = 3.5
        """,
        start=pin,
    )


def test_an_incident_keeps_the_pre_roll_and_every_frame(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    daemon = cam.run(incident(tmp_path))
    assert daemon.frames is not None and daemon.frames.dropped == 0
    report = cam.verify()
    assert report.worst is Verdict.OK, [str(ln) for ln in report.lines]
    segs = cam.segments()
    assert len(segs) >= 3  # 5 s pre-roll + 28 s live, in 10 s segments

    frames = [f for s in segs for f in cam.frames(s) if f.stream == STREAM_VIDEO]
    first_s = frames[0].pts_us / 1e6
    # the clip starts at least the pre-roll before the trigger, within one keyframe interval
    assert 5.0 <= 20.0 - first_s <= 5.0 + 1.0
    assert frames[0].keyframe
    # stopped by the hold at 45 s, 3 s in
    assert 48.0 <= frames[-1].pts_us / 1e6 <= 48.5
    meta = cam.header(segs[0])
    assert meta["trigger"] == "button" and meta["pre_roll_s"] == pytest.approx(20 - first_s, 0.01)

    out = tmp_path / "export"
    agency = load_agency_private(tmp_path / "keys" / "agency.key")
    result = export(cam.evidence, agency, cam.device_pub, out)
    assert len(result.outputs) == 1
    with av.open(str(out / result.outputs[0]["file"])) as c:
        counters = [read_frame_counter(f.to_ndarray(format="gray")) for f in c.decode(video=0)]
    # no frame lost or duplicated at the seam between buffer and live, or across segments
    assert counters == list(range(counters[0], counters[0] + len(counters)))
    assert len(counters) == len(frames)
    assert counters[0] == round(first_s * FPS)


def test_the_audit_log_tells_the_story(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    cam.run(incident(tmp_path))
    events = [e["event"] for e in cam.audit_events()]
    assert events[0] == "boot" and events[-1] == "shutdown"
    # the first segment opens and its pre-roll is made durable before record_start is logged:
    # the seconds before the press are on disk first (docs/decisions.md, "Pre-roll durability")
    assert events.index("segment_open") == events.index("record_start") - 1
    assert events.count("segment_open") == events.count("segment_close") == len(cam.segments())
    stop = next(e for e in cam.audit_events() if e["event"] == "record_stop")
    assert stop["reason"] == "button"


def test_holster_draw_starts_recording(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    path = scenario(
        tmp_path / "s.toml",
        30,
        """
        [[step]]
        at = 10.0
        do = "draw"
        """,
    )
    cam.run(path)
    segs = cam.segments()
    assert segs and cam.header(segs[0])["trigger"] == "holster"
    # never stopped by hand: the shutdown at the end of the scenario closes it cleanly
    assert cam.verify().worst is Verdict.OK
    stop = [e for e in cam.audit_events() if e["event"] == "record_stop"]
    assert stop[0]["reason"] == "scenario_finished" or stop[0]["reason"] == "shutdown"


def test_storage_full_closes_cleanly_stops_alarms_and_refuses(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path, sim={"storage_capacity_mib": 64})
    daemon = cam.run(
        scenario(
            tmp_path / "s.toml",
            60,
            """
        [[step]]
        at = 5.0
        do = "hold"
        input = "record"
        seconds = 0.2
        [[step]]
        at = 20.0
        do = "storage_fill"
        fraction = 1.0
        [[step]]
        at = 40.0
        do = "hold"
        input = "record"
        seconds = 0.2
        """,
        )
    )
    report = cam.verify()
    assert report.worst is Verdict.OK, [str(ln) for ln in report.lines]  # nothing torn or lost
    events = cam.audit_events()
    names = [e["event"] for e in events]
    assert "storage_full" in names
    stop = next(e for e in events if e["event"] == "record_stop")
    assert stop["reason"] == "storage_full"
    refused = [e for e in events if e["event"] == "fault" and e.get("reason") == "storage full"]
    assert refused, names
    assert daemon.devices is not None
    history = daemon.devices.indicators.history  # type: ignore[attr-defined]
    assert any(what == "beep" and value == "alarm" for _, what, value in history)


def test_an_io_error_mid_recording_is_audited_and_the_chain_holds(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    cam.run(
        scenario(
            tmp_path / "s.toml",
            40,
            """
        [[step]]
        at = 5.0
        do = "press"
        input = "record"
        [[step]]
        at = 20.0
        do = "storage_fail"
        error = "EIO"
        """,
        )
    )
    report = cam.verify()
    assert report.worst.rank <= Verdict.INCOMPLETE.rank, [str(ln) for ln in report.lines]
    assert any(e["event"] == "fault" for e in cam.audit_events())


def test_stealth_darkens_the_indicators_but_is_audited(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    seen: list[tuple[bool, bool, bool]] = []

    def sample(d: Daemon) -> None:
        ind = d.devices.indicators  # type: ignore[union-attr]
        if d.recorder and d.recorder.machine.is_recording:
            seen.append((ind.is_lit("recording"), ind.is_vibrating, ind.is_buzzing))  # type: ignore[attr-defined]

    daemon = Daemon(cam.config)
    daemon.on_loop = sample
    daemon.run(
        scenario(
            tmp_path / "s.toml",
            30,
            """
        [[step]]
        at = 5.0
        do = "press"
        input = "stealth"
        [[step]]
        at = 10.0
        do = "press"
        input = "record"
        """,
        )
    )
    assert seen and not any(any(x) for x in seen)  # recording, yet dark and silent
    assert "stealth_on" in [e["event"] for e in cam.audit_events()]


def test_a_clock_never_set_is_written_into_the_header(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path, sim={"clock_never_set": True})
    cam.run(incident(tmp_path, 8, 15, pin=None))  # it starts in 2000: no start to pin
    meta = cam.header(cam.segments()[0])
    assert meta["clock_set"] is False and meta["clock_source"] == "none"
