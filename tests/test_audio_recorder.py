"""Sound end to end on the simulator: AAC packets in the signed segments with their video second,
the pre-event policy, mute as digital silence with the track going on, and a microphone fault
survived (audited, the pictures go on, the audio has a gap)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from hal.camera import EncodedFrame
from hal.inputs import InputEvent
from hal.microphone import AudioPacket
from recorder.cli import main
from recorder.daemon import Daemon, load_recipients, settings_from
from recorder.evidence.media import STREAM_AUDIO, STREAM_VIDEO, Frame
from recorder.evidence.reader import Verdict
from recorder.recorder import Recorder
from recorder.selftest import microphone_delivers
from sim.backend import SimBackend, SimDevices
from tests.simdevice import SimDevice, scenario

PACKET_US = 1024 / 48_000 * 1e6

RECORD = """
[[step]]
at = 10.0
do = "press"
input = "record"
[[step]]
at = 10.2
do = "release"
input = "record"
[[step]]
at = 30.0
do = "hold"
input = "record"
seconds = 3.5
"""


def _run(tmp: Path, steps: str, duration: float = 40.0, **sections: dict[str, Any]) -> SimDevice:
    cam = SimDevice.provision(tmp, **sections)
    daemon = cam.run(scenario(tmp / "s.toml", duration, RECORD + steps))
    assert daemon.frames is not None and daemon.frames.dropped == 0
    report = cam.verify()
    assert report.worst is Verdict.OK, [str(line) for line in report.lines]
    return cam


def _streams(cam: SimDevice) -> tuple[list[Frame], list[Frame]]:
    frames = [f for s in cam.segments() for f in cam.frames(s)]
    video = [f for f in frames if f.stream == STREAM_VIDEO]
    audio = [f for f in frames if f.stream == STREAM_AUDIO]
    return video, audio


def _decode(cam: SimDevice, audio: list[Frame]) -> list[np.ndarray]:
    """Each packet's samples, decoded with the format the first header names."""
    meta = cam.header(cam.segments()[0])["audio"]
    decoder = av.CodecContext.create("aac", "r")
    decoder.extradata = bytes.fromhex(meta["config"])
    out = []
    for f in audio:
        pictures = decoder.decode(av.Packet(f.data))
        out.append(np.concatenate([p.to_ndarray().reshape(-1) for p in pictures]))
    return out


def _event(cam: SimDevice, name: str) -> list[dict[str, Any]]:
    return [e for e in cam.audit_events() if e.get("event") == name]


def test_a_recording_carries_its_sound_from_the_trigger_in_the_records_of_its_time(
    tmp_path: Path,
) -> None:
    cam = _run(tmp_path, "")
    video, audio = _streams(cam)
    trigger_us = _event(cam, "record_start")[0]["trigger_us"]
    assert video[0].pts_us < trigger_us - 4e6  # the pre-roll's pictures...
    assert trigger_us <= audio[0].pts_us < trigger_us + 2 * PACKET_US  # ...are silent (policy)
    pts = [f.pts_us for f in audio]
    assert all(b > a for a, b in itertools.pairwise(pts))
    gaps = [b - a for a, b in itertools.pairwise(pts)]
    assert max(gaps) < 1.5 * PACKET_US  # continuous, across the segments too
    assert len(cam.segments()) >= 3
    # Up to the encoder's delay, the sound ends with the pictures.
    assert video[-1].pts_us - 0.2e6 < pts[-1] <= video[-1].pts_us
    for seg in cam.segments():
        meta = cam.header(seg)["audio"]
        assert meta["codec"] == "aac-lc" and meta["rate"] == 48_000 and meta["channels"] == 1
        assert meta["pre_event_audio"] is False
        # Each record's audio is of its own second: it trails the pictures by the encoder's
        # delay, never by a record.
        seg_frames = cam.frames(seg)
        assert any(f.stream == STREAM_AUDIO for f in seg_frames)
    later = cam.header(cam.segments()[-1])["audio"]
    assert later["anchor_us"] is not None and abs(later["drift_ppm"]) < 5
    # The samples decode: sound (the ambient noise) is there, not silence.
    samples = _decode(cam, audio)
    assert np.abs(np.concatenate(samples[10:])).max() > 0.001


def test_with_pre_event_audio_the_pre_roll_has_sound(tmp_path: Path) -> None:
    cam = _run(tmp_path, "", recording={"pre_event_audio": True})
    video, audio = _streams(cam)
    trigger_us = _event(cam, "record_start")[0]["trigger_us"]
    assert audio[0].pts_us < trigger_us - 4e6
    assert abs(audio[0].pts_us - video[0].pts_us) < 2 * PACKET_US
    pts = [f.pts_us for f in audio]
    assert max(b - a for a, b in itertools.pairwise(pts)) < 1.5 * PACKET_US
    assert cam.header(cam.segments()[0])["audio"]["pre_event_audio"] is True


MUTE = """
[[step]]
at = 15.0
do = "press"
input = "mute"
[[step]]
at = 15.2
do = "release"
input = "mute"
[[step]]
at = 20.0
do = "press"
input = "mute"
[[step]]
at = 20.2
do = "release"
input = "mute"
"""


STEALTH = """
[[step]]
at = 22.0
do = "hold"
input = "stealth"
seconds = 2.5
"""


def test_mute_is_digital_silence_continuous_and_audited(tmp_path: Path) -> None:
    cam = _run(tmp_path, MUTE + STEALTH)
    _, audio = _streams(cam)
    mute, unmute = _event(cam, "mute"), _event(cam, "unmute")
    assert len(mute) == 1 and len(unmute) == 1
    on, off = mute[0]["mono_us"], unmute[0]["mono_us"]
    samples = _decode(cam, audio)
    pts = [f.pts_us for f in audio]
    # Packets wholly inside the mute (after the encoder's overlap settles) are exact zeros...
    inside = [s for p, s in zip(pts, samples, strict=True) if on + 0.1e6 < p < off - 0.1e6]
    assert len(inside) > 150 and all(not s.any() for s in inside)
    # ...and the track goes on through it with no gap.
    assert max(b - a for a, b in itertools.pairwise(pts)) < 1.5 * PACKET_US
    after = [s for p, s in zip(pts, samples, strict=True) if p > off + 0.1e6]
    assert np.abs(np.concatenate(after)).max() > 0.001
    # Stealth darkens the camera; it changes nothing about the sound.
    stealth = _event(cam, "stealth_on")[0]["mono_us"]
    assert stealth > off
    during = [s for p, s in zip(pts, samples, strict=True) if p > stealth + 0.1e6]
    assert len(during) > 100 and all(np.abs(s).max() > 0.001 for s in during[:100])


def mic_fail(at: float, error: str, seconds: float) -> str:
    return f"""
[[step]]
at = {at}
do = "mic_fail"
error = "{error}"
seconds = {seconds}
"""


FAULT = mic_fail(15.0, "missing", 3.0) + mic_fail(24.0, "overrun", 0.5)


def test_a_microphone_fault_is_survived_audited_and_leaves_a_gap(tmp_path: Path) -> None:
    cam = _run(tmp_path, FAULT)
    video, audio = _streams(cam)
    faults = [e for e in cam.audit_events() if e.get("event") == "fault"]
    whats = [e["what"] for e in faults]
    assert "microphone" in whats and "microphone resumed" in whats
    assert "microphone overrun" in whats
    # The pictures never stopped.
    vpts = [f.pts_us for f in video]
    assert max(b - a for a, b in itertools.pairwise(vpts)) < 0.1e6
    # The audio has a gap where the microphone was gone, and one where samples were lost.
    pts = [f.pts_us for f in audio]
    gaps = [(a, b) for a, b in itertools.pairwise(pts) if b - a > 1.5 * PACKET_US]
    assert len(gaps) == 2
    (a1, b1), (a2, b2) = gaps
    assert 14.5e6 < a1 < 15.1e6 and 17.9e6 < b1 < 19.2e6  # gone 3 s, tried again each second
    assert 23.9e6 < a2 < 24.1e6 and 24.4e6 < b2 < 24.7e6
    assert all(b > a for a, b in itertools.pairwise(pts))


def test_status_shows_the_microphone_active_muted_and_faulted(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    seen: dict[str, float] = {}

    def look(d: Daemon) -> None:
        assert d.recorder is not None
        status = d.recorder.status()
        seen.setdefault(status["microphone"].split(":")[0], d.recorder.devices.clock.monotonic())

    daemon = Daemon(cam.config)
    daemon.on_loop = look
    steps = RECORD + MUTE + mic_fail(22.0, "missing", 3.0)
    assert daemon.run(scenario(tmp_path / "s.toml", 40.0, steps)) == 0
    assert set(seen) == {"active", "muted", "fault"}
    assert 15 <= seen["muted"] < 15.5 and 22 <= seen["fault"] < 22.5
    # The mute LED is lit while muted, as Axis's microphone LED shows the microphone off.
    assert isinstance(daemon.devices, SimDevices)
    leds = [
        (round(t), on) for t, what, on in daemon.devices.indicators.history if what == "led:mute"
    ]
    assert leds == [(15, True), (20, False)]


def test_selftest_checks_the_microphone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cam = SimDevice.provision(tmp_path)
    assert main(["selftest", "--config", str(cam.toml())]) == 0
    assert re.search(r"PASS microphone: \d+ packet\(s\) arrived", capsys.readouterr().out)
    off = SimDevice.provision(tmp_path / "off", audio={"enabled": False})
    assert main(["selftest", "--config", str(off.toml())]) == 0
    out = capsys.readouterr().out
    assert "PASS microphone: no microphone (audio.enabled = false)" in out


def test_a_microphone_that_fails_or_stays_silent_only_warns() -> None:
    ticks = iter(range(100))
    silent = microphone_delivers(lambda: 7, lambda: None, lambda: None, tries=3)
    assert (silent.status, silent.detail) == (
        "WARN",
        "no sound arrived; recording goes on without it",
    )
    gone = microphone_delivers(lambda: 0, lambda: OSError("no such device"), lambda: None, 3)
    assert gone.status == "WARN" and gone.detail.startswith("no such device")
    ok = microphone_delivers(lambda: next(ticks), lambda: None, lambda: None, tries=3)
    assert ok.status == "PASS"


def test_no_sound_from_before_the_trigger_is_kept_once_the_policy_is_off(tmp_path: Path) -> None:
    """The policy holds even for what the buffer already had (a configuration that changed)."""
    cam = SimDevice.provision(tmp_path, recording={"pre_event_audio": True})
    devices = SimBackend().create(settings_from(cam.config))
    rec = Recorder(cam.config, devices, load_recipients(cam.config.state_dir))
    rec.open()
    fps = 15
    for i in range(5 * fps):
        t = round(i * 1e6 / fps)
        rec.audio(AudioPacket(b"\x01" * 20, t, 1024))
        rec.frame(EncodedFrame(b"\x00\x00\x00\x01\x65" + bytes(20), i % fps == 0, t))
    assert any(s.stream == STREAM_AUDIO for s in rec.ring.samples())
    rec.config = rec.config.replace({"recording.pre_event_audio": False})
    rec.input(InputEvent("record", True, 5.0))
    for i in range(5 * fps, 7 * fps):
        t = round(i * 1e6 / fps)
        rec.audio(AudioPacket(b"\x01" * 20, t, 1024))
        rec.frame(EncodedFrame(b"\x00\x00\x00\x01\x41" + bytes(20), i % fps == 0, t))
    rec.close()
    devices.close()
    _, audio = _streams(cam)
    assert audio and min(f.pts_us for f in audio) >= 5_000_000
