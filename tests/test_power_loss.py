"""Power cuts: the pre-roll is durable in one write and one sync, no record waits longer than its
interval, and a camera that lost power while recording records again by itself."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hal.camera import EncodedFrame
from hal.inputs import InputEvent
from hal.microphone import AudioPacket
from recorder.daemon import load_recipients, settings_from
from recorder.evidence.media import STREAM_AUDIO, STREAM_VIDEO
from recorder.evidence.reader import Verdict
from recorder.recorder import Recorder
from sim.backend import SimBackend
from tests.simdevice import SimDevice

FPS, GOP = 15, 15


def camera_frames(start: int, n: int, fps: int = FPS) -> Iterator[EncodedFrame]:
    """Frames numbered by index (the index is the payload, so a test can tell them apart)."""
    for i in range(start, start + n):
        yield EncodedFrame(i.to_bytes(4, "big") * 8, i % GOP == 0, round(i * 1e6 / fps))


class Camera:
    """A Recorder on simulated devices, driven frame by frame; ``cut()`` is a power cut."""

    def __init__(self, cam: SimDevice) -> None:
        self.devices = SimBackend().create(settings_from(cam.config))
        self.rec = Recorder(cam.config, self.devices, load_recipients(cam.config.state_dir))
        self.rec.open()

    def cut(self) -> None:
        """The power goes: nothing more is written, nothing is closed."""
        w = self.rec.writer
        if w is not None and w._stream.current is not None:
            w._stream.current.abandon()  # only frees the descriptor; the file stays as it is
        self.devices.close()

    def shut_down(self) -> None:
        self.rec.close("shutdown")
        self.devices.close()


def durable_video(cam: SimDevice) -> list[int]:
    """The frame indexes on disk now, in every segment (what a power cut would leave)."""
    return [
        int.from_bytes(f.data[:4], "big")
        for seg in cam.segments()
        for f in cam.frames(seg)
        if f.stream == STREAM_VIDEO
    ]


@pytest.fixture
def counted_syncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every fsync and fdatasync the process makes, by name (the real calls still run)."""
    calls: list[str] = []
    real = {name: getattr(os, name) for name in ("fsync", "fdatasync")}

    def counting(name: str) -> Any:
        def call(fd: int) -> None:
            calls.append(name)
            real[name](fd)

        return call

    for name in real:
        monkeypatch.setattr(os, name, counting(name))
    return calls


def test_the_whole_pre_roll_is_written_with_one_data_sync(
    tmp_path: Path, counted_syncs: list[str]
) -> None:
    cam = SimDevice.provision(tmp_path, recording={"pre_event_s": 30, "segment_s": 60})
    camera = Camera(cam)
    frames = list(camera_frames(0, 35 * FPS + 1))
    for f in frames[:-1]:
        camera.rec.frame(f)
    camera.rec.input(InputEvent("record", True, frames[-1].timestamp_us / 1e6))
    counted_syncs.clear()
    camera.rec.frame(frames[-1])  # the press: 30 s of pre-roll, 30 records
    writer = camera.rec.writer
    assert writer is not None and writer.pre_roll_s >= 30
    # the stream state (file and directory), the header (file and directory), the pre-roll
    # (ONE sync for all of its records), then the audit log's segment_open and record_start
    assert counted_syncs.count("fdatasync") == 1 + 1 + 2, counted_syncs
    assert len(counted_syncs) == 7, counted_syncs
    start = next(e for e in cam.audit_events() if e["event"] == "record_start")
    assert start["trigger_us"] == frames[-1].timestamp_us  # when it came, not when it was logged
    # all of it is on disk (from the keyframe at 4 s), before the first live frame is written
    assert durable_video(cam) == list(range(4 * FPS, 35 * FPS))
    camera.shut_down()
    assert cam.verify().worst is Verdict.OK


@pytest.mark.parametrize(("fps", "interval"), [(15, 1.0), (30, 1.0), (25, 0.2), (10, 2.5)])
def test_no_media_waits_longer_than_the_record_interval(
    tmp_path: Path, fps: int, interval: float
) -> None:
    """A record is written as soon as its last frame is in, not when the next one arrives, so
    at any moment the media not yet on disk is less than record_interval_s by one frame: that
    frame period is what the write and sync may take without the loss passing the interval."""
    cam = SimDevice.provision(
        tmp_path, video={"fps": fps}, recording={"pre_event_s": 0, "record_interval_s": interval}
    )
    camera = Camera(cam)
    camera.rec.input(InputEvent("record", True, 0.0))
    worst = 0
    for f in camera_frames(0, round(3 * interval * fps), fps):
        camera.rec.frame(f)
        index = int.from_bytes(f.data[:4], "big")
        on_disk = durable_video(cam)
        lost = index + 1 - (on_disk[-1] + 1 if on_disk else 0)  # frames a cut now would lose
        worst = max(worst, lost)
    assert worst == round(interval * fps) - 1  # one frame period of headroom, and no more
    camera.shut_down()


def test_sound_waits_no_longer_than_the_pictures(tmp_path: Path) -> None:
    """Audio packets go into the record being gathered when they arrive (the encoder's delay,
    about 43 ms, after their time): of what reached the recorder, the sound not yet on disk is
    less than record_interval_s, as for the pictures."""
    cam = SimDevice.provision(tmp_path, recording={"pre_event_s": 0})
    camera = Camera(cam)
    camera.rec.input(InputEvent("record", True, 0.0))
    packet_us, delay_us = 1024 / 48_000 * 1e6, 43_000
    sent: list[int] = []
    worst = 0.0
    for f in camera_frames(0, 5 * FPS):
        while (ts := round(len(sent) * packet_us)) <= f.timestamp_us - delay_us:
            camera.rec.audio(AudioPacket(ts.to_bytes(8, "big"), ts, 1024))
            sent.append(ts)
        camera.rec.frame(f)
        durable = [
            int.from_bytes(a.data, "big")
            for seg in cam.segments()
            for a in cam.frames(seg)
            if a.stream == STREAM_AUDIO
        ]
        if sent:
            newest = durable[-1] if durable else -packet_us
            worst = max(worst, sent[-1] - newest)
    assert 0.8e6 < worst < 1e6  # record_interval_s is 1 s
    camera.shut_down()
    assert cam.verify().worst is Verdict.OK


def press_and_record(cam: SimDevice, seconds: int) -> Camera:
    camera = Camera(cam)
    camera.rec.input(InputEvent("record", True, 0.0))
    camera.rec.input(InputEvent("record", False, 0.2))
    for f in camera_frames(0, seconds * FPS):
        camera.rec.frame(f)
    return camera


def test_a_camera_that_lost_power_while_recording_records_again_by_itself(
    tmp_path: Path,
) -> None:
    cam = SimDevice.provision(tmp_path)
    press_and_record(cam, 12).cut()
    first = cam.audit_events()[-1]
    assert first["event"] == "segment_open"  # the cut came mid-segment

    camera = Camera(cam)  # power is back: nobody presses anything
    assert camera.rec.machine.is_recording
    for f in camera_frames(20 * FPS, 5 * FPS):
        camera.rec.frame(f)
    camera.shut_down()

    events = cam.audit_events()
    boots = [i for i, e in enumerate(events) if e["event"] == "boot"]
    after = events[boots[1] :]
    recovered = next(e for e in after if e["event"] == "recovered" and e["stream"] == "media")
    resumed = next(e for e in after if e["event"] == "record_start")
    cut_rid = next(e for e in events if e["event"] == "record_start")["recording_id"]
    assert resumed["trigger"] == "resume"
    assert resumed["resumes"] == cut_rid and resumed["after_seq"] == recovered["seq"]
    assert not recovered["closed"]
    # the gap shows: the cut segment is INCOMPLETE, and the resumed recording is whole
    verdicts = {ln.file: ln.verdict for ln in cam.verify().lines if ln.kind == "segment"}
    assert verdicts[f"segment-{recovered['seq']:08d}.bcam"] is Verdict.INCOMPLETE
    assert sorted(v.name for v in verdicts.values()).count("INCOMPLETE") == 1
    assert durable_video(cam)[-5 * FPS :] == list(range(20 * FPS, 25 * FPS))


def test_resume_after_power_loss_can_be_turned_off(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path, recording={"resume_after_power_loss": False})
    press_and_record(cam, 3).cut()
    camera = Camera(cam)
    assert not camera.rec.machine.is_recording
    camera.shut_down()
    assert [e["trigger"] for e in cam.audit_events() if e["event"] == "record_start"] == ["button"]


def test_a_clean_stop_is_not_resumed(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    press_and_record(cam, 3).shut_down()
    camera = Camera(cam)
    assert not camera.rec.machine.is_recording
    camera.shut_down()


def test_an_audit_log_deleted_while_the_camera_was_off_is_missing_not_reserved(
    tmp_path: Path,
) -> None:
    """The audit stream remembers each header once it is durable, so the next start tells a
    log deleted from the card from one whose header was never written."""
    cam = SimDevice.provision(tmp_path)
    press_and_record(cam, 12).cut()
    open_log = sorted(cam.evidence.glob("audit-*.bcam"))[-1]
    open_log.unlink()  # the power is off; someone pulls the card and deletes the open log
    Camera(cam).shut_down()
    line = next(ln for ln in cam.verify().lines if ln.kind == "audit" and ln.verdict.name != "OK")
    assert line.verdict is Verdict.MISSING, str(line)


def test_a_pre_roll_larger_than_a_chunk_is_written_in_chunks_and_synced_once(
    tmp_path: Path, counted_syncs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounded memory at the press: the pre-roll is not held whole as plaintext and ciphertext
    on top of the buffer; it is written in chunks, and still made durable with one sync."""
    writes: list[int] = []
    real_writev = os.writev

    def counting_writev(fd: int, buffers: Any) -> int:
        writes.append(sum(map(len, buffers)))
        return real_writev(fd, buffers)

    monkeypatch.setattr(os, "writev", counting_writev)
    cam = SimDevice.provision(tmp_path, recording={"pre_event_s": 10, "segment_s": 60})
    camera = Camera(cam)
    big = 200_000  # 10 s at 15 fps: about 30 MB, so several chunks
    frames = [
        EncodedFrame(i.to_bytes(4, "big") * (big // 4), i % GOP == 0, round(i * 1e6 / FPS))
        for i in range(12 * FPS + 1)
    ]
    for f in frames[:-1]:
        camera.rec.frame(f)
    camera.rec.input(InputEvent("record", True, frames[-1].timestamp_us / 1e6))
    counted_syncs.clear()
    writes.clear()
    camera.rec.frame(frames[-1])
    chunked = [n for n in writes if n > 1_000_000]
    assert len(chunked) >= 3 and max(chunked) < 12 * 1024 * 1024, writes
    assert counted_syncs.count("fdatasync") == 4  # header, pre-roll (once), two audit entries
    camera.shut_down()
    assert cam.verify().worst is Verdict.OK


def test_a_card_that_fails_reads_too_after_a_failed_write_never_crashes_the_recorder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failed write the stream's link comes from what the writer knows it synced; the
    failing card is not read again, so an EIO there cannot escape as an OSError."""
    import recorder.evidence.state as state

    cam = SimDevice.provision(tmp_path)
    camera = press_and_record(cam, 3)

    def eio(*args: object, **kwargs: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(state, "check_file", eio)
    monkeypatch.setattr(os, "writev", eio)
    for f in camera_frames(3 * FPS, 2 * FPS):
        camera.rec.frame(f)  # the write fails: a fault, the recording stops, nothing escapes
    assert camera.rec.writer is None and camera.rec.counters.write_failures == 1
    monkeypatch.undo()
    camera.shut_down()
    torn = [ln for ln in cam.verify().lines if ln.verdict is Verdict.INCOMPLETE]
    assert torn, [str(ln) for ln in cam.verify().lines]


def test_a_file_the_card_will_not_read_at_recovery_is_a_fault_and_the_camera_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recorder.evidence.state as state

    cam = SimDevice.provision(tmp_path)
    press_and_record(cam, 3).cut()

    def eio(*args: object, **kwargs: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(state, "check_file", eio)
    camera = Camera(cam)  # recovery cannot read the torn segment
    monkeypatch.undo()
    camera.shut_down()
    faults = [e for e in cam.audit_events() if e["event"] == "fault"]
    assert any(e["what"] == "recovery could not read" for e in faults), faults
