"""The hal contracts themselves: settings validation, layering, keystore, system clock, statvfs."""

from __future__ import annotations

import ast
import errno
import hashlib
import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from hal.backend import DEFAULT_PINS, OUTPUT_PINS, DeviceSettings
from hal.clock import SystemClock
from hal.errors import DeviceError
from hal.inputs import INPUT_NAMES
from hal.keystore import FileKeyStore
from hal.storage import StatvfsStorage
from recorder.evidence.errors import KeyFileError
from recorder.evidence.keys import generate

ROOT = Path(__file__).resolve().parents[1]


def imported_packages(package: str) -> set[str]:
    """Top-level names imported anywhere in ``package`` (absolute imports only)."""
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_hal_imports_neither_recorder_nor_sim() -> None:
    assert imported_packages("hal").isdisjoint({"recorder", "sim"})


def test_sim_imports_hal_but_never_the_recorder() -> None:
    names = imported_packages("sim")
    assert "hal" in names and "recorder" not in names
    assert "picamera2" not in names | imported_packages("hal")


def settings(tmp_path: Path, **kw: object) -> DeviceSettings:
    args: dict[str, object] = dict(
        device_id="CAM-1",
        width=1280,
        height=720,
        fps=30,
        bitrate=8_000_000,
        keyframe_interval_s=1.0,
        state_dir=tmp_path,
        evidence_dir=tmp_path,
    )
    args.update(kw)
    return DeviceSettings(**args)  # type: ignore[arg-type]


def test_every_input_and_output_has_a_default_pin() -> None:
    assert set(DEFAULT_PINS) == set(INPUT_NAMES) | set(OUTPUT_PINS)


def test_partial_pin_maps_are_completed_from_the_defaults(tmp_path: Path) -> None:
    s = settings(tmp_path, pins={"record": 4})
    assert s.pins == {**DEFAULT_PINS, "record": 4}
    assert settings(tmp_path, keyframe_interval_s=2.0).keyframe_interval_frames == 60


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"width": 1279}, "even"),
        ({"fps": 0}, "fps must be a positive integer"),
        ({"keyframe_interval_s": 0}, "keyframe_interval_s"),
        ({"speed": "warp"}, "speed"),
        ({"pins": {"siren": 4}}, "unknown pin names"),
        ({"pins": {"record": 27}}, "share one pin"),
        ({"device_id": ""}, "device_id"),
    ],
)
def test_bad_settings_are_refused_by_name(
    tmp_path: Path, kw: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        settings(tmp_path, **kw)


# -- keystore -----------------------------------------------------------------------------------


def test_the_file_keystore_signs_with_a_key_it_never_shows(tmp_path: Path) -> None:
    path = tmp_path / "device.key"
    generate("device", tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = FileKeyStore(path)
    public = keys.public_key_bytes
    assert len(public) == 32
    assert keys.key_id == hashlib.sha256(public).digest()[:8]
    signature = keys.sign(b"segment 1")
    Ed25519PublicKey.from_public_bytes(public).verify(signature, b"segment 1")
    assert "PRIVATE" not in repr(keys) and keys.key_id.hex() in repr(keys)
    with pytest.raises(KeyFileError):
        generate("device", tmp_path)


def test_a_key_file_others_can_read_is_refused_naming_path_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "device.key"
    generate("device", tmp_path)
    os.chmod(path, 0o640)
    with pytest.raises(DeviceError, match=r"device\.key has mode 0640"):
        FileKeyStore(path)


def test_missing_and_wrong_key_files_are_device_errors(tmp_path: Path) -> None:
    with pytest.raises(DeviceError, match=r"absent\.key"):
        FileKeyStore(tmp_path / "absent.key")
    wrong = tmp_path / "x25519.key"
    wrong.write_bytes(
        X25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    wrong.chmod(0o600)
    with pytest.raises(DeviceError, match="not an Ed25519 key"):
        FileKeyStore(wrong)
    wrong.write_text("not a key")
    with pytest.raises(DeviceError, match="not an unencrypted PKCS#8 PEM"):
        FileKeyStore(wrong)


# -- system clock and real storage ------------------------------------------------------------


def test_the_system_clock_runs_timers_and_reports_a_source() -> None:
    clock = SystemClock()
    fired = threading.Event()
    clock.call_at(clock.monotonic(), fired.set)
    assert fired.wait(10)
    assert clock.source in ("ntp", "rtc") and clock.is_set
    with pytest.raises(ValueError, match="clock source"):
        clock.set_wall(1_750_000_000.0, "sundial")  # refused before the system is touched
    clock.close()
    clock.close()


def test_statvfs_storage_measures_the_real_volume(tmp_path: Path) -> None:
    storage = StatvfsStorage(tmp_path)
    assert 0 <= storage.free_bytes() <= storage.total_bytes()
    storage.guard(0)
    with pytest.raises(OSError) as caught:
        storage.guard(storage.total_bytes() + 1)
    assert caught.value.errno == errno.ENOSPC
    with pytest.raises(ValueError):
        storage.guard(-1)
