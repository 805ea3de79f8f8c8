"""A segment that cannot be opened, or a file that is abandoned: a fault, never the daemon's end.

Any failure to open a segment (an I/O error, an agency key HPKE refuses, ...) is audited as a
fault, raises the alarm, shows in ``bodycam verify`` and leaves the camera running and buffering;
the stream notes the failed sequence number so that the next segment opens and the chain holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

import recorder.daemon
from recorder.cli import main
from recorder.daemon import Daemon, StartupError
from recorder.evidence.header import Kind, LinkState
from recorder.evidence.keys import Ed25519Signer, load_device_private
from recorder.evidence.reader import Verdict
from recorder.evidence.state import EvidenceStream
from recorder.provisioning import RECIPIENTS
from tests.simdevice import SimDevice, scenario
from tests.test_keys import X25519_SMALL_ORDER, low_order_agency_pem

FPS = 15
LOW_ORDER = X25519PublicKey.from_public_bytes(bytes.fromhex(X25519_SMALL_ORDER[2]))


def presses(tmp_path: Path, duration: float, *at: float) -> Path:
    steps = "".join(
        f'[[step]]\nat = {t}\ndo = "hold"\ninput = "record"\nseconds = 0.2\n' for t in at
    )
    return scenario(tmp_path / "s.toml", duration, steps)


def open_faults(cam: SimDevice) -> list[dict[str, object]]:
    return [
        e
        for e in cam.audit_events()
        if e["event"] == "fault" and e.get("what") == "segment open failed"
    ]


def verify_output(cam: SimDevice, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["verify", str(cam.evidence), "--device-pub", str(cam.root / "state/device.pub")])
    return code, capsys.readouterr().out


def test_hpke_refusing_the_recipient_is_a_fault_and_the_camera_keeps_buffering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cam = SimDevice.provision(tmp_path)
    # The loader now refuses such a key at provisioning and at start; hand it to the daemon past
    # the loader, as a device provisioned by older firmware would have it.
    monkeypatch.setattr(recorder.daemon, "load_recipients", lambda state: (LOW_ORDER,))
    daemon = cam.run(presses(tmp_path, 60, 10.0, 12.0))  # exit 0: it ran to the end

    faults = open_faults(cam)
    assert len(faults) == 2, cam.audit_events()  # each press tried, each failure audited
    # a fault is not a full card: the recording stops as a fault, and the next press tries again
    stops = [e["reason"] for e in cam.audit_events() if e["event"] == "record_stop"]
    assert stops == ["fault", "fault"]
    assert "shared key" in str(faults[0]["error"])
    assert cam.segments() == []
    rec, devices = daemon.recorder, daemon.devices
    assert rec is not None and devices is not None
    assert rec.counters.frames >= 59 * FPS  # frames kept coming to the end
    assert rec.ring.span_us >= 4_000_000  # and the pre-event buffer kept filling
    alarms = [t for t, what, value in devices.indicators.history if value == "alarm"]  # type: ignore[attr-defined]
    assert any(10.0 <= t < 11.0 for t in alarms) and any(12.0 <= t < 13.0 for t in alarms)
    assert any(f.startswith("segment open failed") for f in rec.counters.faults)

    code, out = verify_output(cam, capsys)
    assert code == 0, out
    assert "faults the camera logged (2):" in out
    assert out.count("segment open failed (error=Error computing shared key.)") == 2


def test_an_io_error_opening_a_segment_is_a_fault_and_the_next_segment_opens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cam = SimDevice.provision(tmp_path)
    daemon = Daemon(cam.config)

    def storage_mends_at_20s(d: Daemon) -> None:
        assert d.devices is not None
        if d.devices.clock.monotonic() >= 20.0:
            d.devices.storage.clear_faults()  # type: ignore[attr-defined]

    daemon.on_loop = storage_mends_at_20s
    s = presses(tmp_path, 60, 10.0, 30.0)
    s.write_text(s.read_text() + '[[step]]\nat = 5.0\ndo = "storage_fail"\nerror = "EIO"\n')
    assert daemon.run(s) == 0

    (fault,) = open_faults(cam)
    assert "EIO" in str(fault["error"]) or "Input/output" in str(fault["error"])
    segments = cam.segments()  # the second press recorded, in 10 s segments
    assert segments and segments[0].name == "segment-00000002.bcam"  # #1 failed, noted torn
    assert cam.header(segments[0])["trigger"] == "button"
    report = cam.verify()
    assert report.worst is Verdict.OK, [str(ln) for ln in report.lines]  # no gap, no MISSING
    code, out = verify_output(cam, capsys)
    assert code == 0 and "segment open failed" in out, out


def test_a_daemon_with_a_low_order_recipient_refuses_to_start(tmp_path: Path) -> None:
    """Not a crash at the first trigger: a clear error naming the file, before recording."""
    cam = SimDevice.provision(tmp_path)
    bad = low_order_agency_pem(cam.config.state_dir / RECIPIENTS / "02-escrow.pub")
    with pytest.raises(StartupError, match=rf"{bad}: refused as an agency X25519 public key"):
        Daemon(cam.config).run(presses(tmp_path, 5, 1.0))


# --- the stream and the file, below the recorder ------------------------------------------------


def media_stream(cam: SimDevice, recipients: tuple[X25519PublicKey, ...]) -> EvidenceStream:
    cam.evidence.mkdir(exist_ok=True)
    signer = Ed25519Signer(load_device_private(cam.config.state_dir / "device.key"))
    return EvidenceStream(
        cam.evidence,
        cam.config.state_dir,
        Kind.MEDIA,
        signer,
        cam.device_pub,
        recipients=recipients,
    )


def test_a_failed_open_is_noted_as_torn_so_the_stream_goes_on(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    stream = media_stream(cam, (LOW_ORDER,))
    with pytest.raises(ValueError):
        stream.open({})
    assert stream.current is None and not stream.needs_recovery
    assert (stream.last.state, stream.last.seq, stream.last.records) == (LinkState.TORN, 1, 0)
    stream._recipients = (cam.agency_pub(),)
    f = stream.open({})
    assert f.seq == 2 and f.header.prev == stream.last


def test_an_abandoned_file_forgets_its_file_key(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    stream = media_stream(cam, (cam.agency_pub(),))
    f = stream.open({})
    f.append(b"frames")
    assert f.holds_file_key
    stream.fail()  # a write failed: the file can take nothing more
    assert not f.holds_file_key and not f.is_open
    g = stream.open({})
    g.close({"reason": "stop"})
    assert not g.holds_file_key
