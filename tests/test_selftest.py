"""``bodycam selftest``: what the service runs before it starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recorder.cli import main
from recorder.selftest import check_audit
from tests.conftest import Device
from tests.simdevice import SimDevice


def test_a_provisioned_camera_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cam = SimDevice.provision(tmp_path)
    assert main(["selftest", "--config", str(cam.toml()), "--json"]) == 0
    checks = {c["name"]: c["status"] for c in json.loads(capsys.readouterr().out)}
    assert checks == {
        "camera": "PASS",
        "microphone": "PASS",
        "storage": "PASS",
        "keys": "PASS",
        "clock": "PASS",
        "audit": "PASS",
    }


def test_a_clock_never_set_warns_but_does_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cam = SimDevice.provision(tmp_path, sim={"clock_never_set": True})
    assert main(["selftest", "--config", str(cam.toml())]) == 0
    assert "WARN clock: clock never set" in capsys.readouterr().out


def test_missing_recipients_fail_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cam = SimDevice.provision(tmp_path)
    for p in (tmp_path / "state" / "recipients").iterdir():
        p.unlink()
    assert main(["selftest", "--config", str(cam.toml())]) == 1
    assert "FAIL keys: no agency recipient" in capsys.readouterr().out


def test_a_tampered_audit_log_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cam = SimDevice.provision(tmp_path)
    cam.run(_quiet(tmp_path))
    log = next(cam.evidence.glob("audit-*.bcam"))
    blob = bytearray(log.read_bytes())
    blob[-70] ^= 1
    log.chmod(0o600)
    log.write_bytes(bytes(blob))
    main(["selftest", "--config", str(cam.toml())])
    assert "WARN audit: TAMPERED" in capsys.readouterr().out


def test_a_bad_config_exits_78(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[video]\nfps = 0\n")
    assert main(["selftest", "--config", str(bad)]) == 78


def _quiet(tmp_path: Path) -> Path:
    path = tmp_path / "quiet.toml"
    path.write_text("name = 'quiet'\nduration = 3.0\n")
    return path


def test_the_audit_log_being_written_is_not_a_power_cut(device: Device) -> None:
    log = device.audit()
    log.log("boot", wall=1.8e9, mono_us=0)  # the running recorder's log: open, no FINAL yet
    assert check_audit(device.evidence, device.pub, open_seq=log.seq).status == "PASS"
    # the same file seen at start-up, with nobody writing it, was cut by a power loss
    assert check_audit(device.evidence, device.pub).status == "WARN"
