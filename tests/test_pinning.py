"""Verify against cosigned checkpoints: the newest end of the evidence is pinned (issue 9, 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from recorder.cli import main
from recorder.evidence.checkpoint import Checkpoint
from recorder.evidence.keys import load_device_private
from recorder.evidence.note import TIMESTAMPED_ED25519, Note, Verifier, cosign, sign
from recorder.evidence.tlog import LEAVES, STATE
from tests.simdevice import SimDevice
from tests.test_streams_link import two_shifts

WITNESS = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
NAME = "agency.example/witness"
COSIGNED_AT = 1_800_000_000  # the witness's clock: 2027-01-15T08:00:00Z


def vkey(key: Ed25519PrivateKey = WITNESS, name: str = NAME) -> str:
    return Verifier(name, TIMESTAMPED_ED25519, key.public_key()).vkey()


def cosigned(note: Note, at: int = COSIGNED_AT) -> Note:
    return note.with_signatures(cosign(note.text, NAME, WITNESS, at))


def camera_checkpoint(cam: SimDevice) -> Note:
    state = json.loads((cam.config.state_dir / STATE).read_text())
    return Note.parse(state["checkpoint"].encode())


def save(path: Path, note: Note) -> Path:
    path.write_bytes(note.encode())
    return path


def verify(cam: SimDevice, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    pub = str(cam.config.state_dir / "device.pub")
    code = main(["verify", str(cam.evidence), "--device-pub", pub, *extra])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def shifts(tmp_path: Path) -> tuple[SimDevice, Path]:
    """Two shifts, and the camera's checkpoint after them, cosigned by the agency's witness."""
    cam = two_shifts(tmp_path)
    return cam, save(tmp_path / "checkpoint", cosigned(camera_checkpoint(cam)))


def test_with_nothing_withheld_the_checkpoint_pins_the_newest_end(
    shifts: tuple[SimDevice, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cam, cp = shifts
    code, out = verify(cam, capsys, "--checkpoint", str(cp), "--witness-pub", vkey())
    assert code == 0, out
    assert f"pins the newest end: {len(list(cam.evidence.glob('*.bcam')))} files" in out
    assert "cosigned by agency.example/witness at 2027-01-15T08:00:00" in out
    code, out = verify(cam, capsys)
    assert code == 0 and "the newest end is not pinned" in out


def withhold_the_newest_shift(cam: SimDevice) -> list[str]:
    """Delete everything the second boot wrote: its audit log and its segments."""
    newest_audit = sorted(cam.evidence.glob("audit-*.bcam"))[-1]
    boot = cam.header(cam.segments()[-1])["boot_id"]
    gone = [p for p in cam.segments() if cam.header(p)["boot_id"] == boot] + [newest_audit]
    for p in gone:
        p.unlink()
    return sorted(p.name for p in gone)


def test_a_withheld_shift_passes_without_a_checkpoint_and_is_missing_with_one(
    shifts: tuple[SimDevice, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cam, cp = shifts
    gone = withhold_the_newest_shift(cam)
    code, _ = verify(cam, capsys)
    assert code == 0  # the chain alone cannot see a clean cut of both ends: the known gap
    code, out = verify(cam, capsys, "--checkpoint", str(cp), "--witness-pub", vkey())
    assert code == 3 and "MISSING" in out
    assert f"withheld: {len(gone)} file(s) beyond" in out and "--listing" in out


def test_with_the_listing_each_withheld_file_is_named(
    shifts: tuple[SimDevice, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cam, cp = shifts
    gone = withhold_the_newest_shift(cam)
    listing = str(cam.config.state_dir / LEAVES)
    code, out = verify(
        cam, capsys, "--checkpoint", str(cp), "--witness-pub", vkey(), "--listing", listing
    )
    assert code == 3
    missing = [ln for ln in out.splitlines() if ln.startswith("MISSING")]
    assert len(missing) == len(gone)
    assert all("withheld: covered by the checkpoint of 2027-01-15" in ln for ln in missing)
    for name in gone:
        kind, seq = name.removesuffix(".bcam").split("-")
        assert any(f"{kind} #{int(seq)} " in ln for ln in missing), (name, missing)


def test_a_listing_that_does_not_match_the_root_is_refused_as_tampered(
    shifts: tuple[SimDevice, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cam, cp = shifts
    leaves = (cam.config.state_dir / LEAVES).read_bytes()
    forged = tmp_path / "leaves"
    forged.write_bytes(leaves[:-1] + bytes([leaves[-1] ^ 1]))
    code, out = verify(
        cam, capsys, "--checkpoint", str(cp), "--witness-pub", vkey(), "--listing", str(forged)
    )
    assert code == 3 and "the listing given does not match the checkpoint" in out


def test_two_cosigned_trees_of_one_size_are_a_fork(
    shifts: tuple[SimDevice, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cam, cp = shifts
    real = Checkpoint.parse(camera_checkpoint(cam).text)
    other = Checkpoint(real.origin, real.size, bytes(32)).text()  # a stolen device key's fork
    key = load_device_private(cam.config.state_dir / "device.key")
    forged = Note(other).with_signatures(sign(other, real.origin, key.public_key(), key.sign))
    fork = save(tmp_path / "fork", cosigned(forged, COSIGNED_AT + 60))
    code, out = verify(
        cam, capsys, "--checkpoint", str(cp), "--checkpoint", str(fork), "--witness-pub", vkey()
    )
    assert code == 3 and "a fork: the device signed two different trees" in out


def test_a_checkpoint_no_trusted_witness_cosigned_is_refused(
    shifts: tuple[SimDevice, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cam, _ = shifts
    uncosigned = save(tmp_path / "plain", camera_checkpoint(cam))
    code, out = verify(cam, capsys, "--checkpoint", str(uncosigned), "--witness-pub", vkey())
    assert code == 4 and "not cosigned by a trusted witness" in out
    code, out = verify(cam, capsys, "--checkpoint", str(uncosigned))
    assert code == 4 and "only with a witness's cosignature" in out
    code, out = verify(
        cam, capsys, "--checkpoint", str(uncosigned), "--witness-pub", vkey(WITNESS, "other")
    )
    assert code == 4 and "not cosigned by a trusted witness (other)" in out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> SimDevice:
    return two_shifts(tmp_path_factory.mktemp("recorded"))


@given(data=st.binary(max_size=300), witness=st.text(max_size=80))
def test_any_checkpoint_file_or_witness_key_gets_a_clear_refusal(
    recorded: SimDevice, capsys: pytest.CaptureFixture[str], data: bytes, witness: str
) -> None:
    cp = recorded.root / "fuzzed-checkpoint"
    cp.write_bytes(data)
    code, out = verify(
        recorded, capsys, "--checkpoint", str(cp), "--witness-pub", witness or vkey()
    )
    assert code == 4, out  # refused with a message; never a traceback, never a verdict
    assert "Traceback" not in out and "bodycam" in out
