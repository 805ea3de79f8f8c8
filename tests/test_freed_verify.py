"""Verify's judgment of ``freed`` events in a copy of the camera's directory (spec section
10.2): the camera's word, OK until signed evidence contradicts it. Root on the camera can have
the daemon sign any ``freed`` event; these tests sign them as the daemon would, whatever its own
checks, so verify is held to what it can check alone. (From the bucket, a freed segment the
bucket lacks is MISSING: tests/test_verify_bucket.py.) Also: a listing that does not match a
checkpoint still leaves the withheld files counted."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from recorder.cli import main
from recorder.evidence.audit import AuditLog
from recorder.evidence.header import Kind, Link
from recorder.evidence.keys import Ed25519Signer, key_id, load_device_private, raw_public
from recorder.evidence.state import EvidenceStream
from recorder.evidence.tlog import LEAVES, DeviceLog
from recorder.provisioning import DEVICE_KEY
from tests.simdevice import SimDevice
from tests.test_pinning import camera_checkpoint, cosigned, save, vkey
from tests.test_pinning import withhold_the_newest_shift as withhold
from tests.test_streams_link import two_shifts


def signer(cam: SimDevice) -> Ed25519Signer:
    return Ed25519Signer(load_device_private(cam.config.state_dir / DEVICE_KEY))


def camera_log(cam: SimDevice) -> DeviceLog:
    return DeviceLog(cam.config.state_dir, cam.device_pub, signer(cam).sign)


def camera_signs(cam: SimDevice, *events: dict[str, Any]) -> None:
    """The daemon logs ``events`` in an audit log of their own, finished and logged as a leaf
    of the camera's log (a new checkpoint signed), as it logs any event."""
    log = camera_log(cam)

    def finished(kind: Kind, link: Link) -> None:
        log.add(kind, link)

    stream = EvidenceStream(
        cam.evidence,
        cam.config.state_dir,
        Kind.AUDIT,
        signer(cam),
        cam.device_pub,
        on_finished=finished,
    )
    audit = AuditLog(stream, {"device_id": "BC-TEST", "boot_id": "freeing"})
    for e in events:
        audit.log("freed", wall=1.9e9, mono_us=0, **e)
    audit.close(wall=1.9e9, reason="shutdown")


def kid(cam: SimDevice) -> str:
    return key_id(raw_public(cam.device_pub)).hex()


def freed(cam: SimDevice, seq: int) -> dict[str, Any]:
    """The ``freed`` event an honest daemon logs for segment ``seq``: its leaf, the bucket's
    key, the checkpoint that covers the log now."""
    log = camera_log(cam)
    leaf = next(lf for lf in log.listing() if lf.kind is Kind.MEDIA and lf.seq == seq)
    data = (cam.evidence / f"segment-{seq:08d}.bcam").read_bytes()
    return {
        "stream": "media",
        "seq": seq,
        "records": leaf.records,
        "chain": leaf.chain.hex(),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bucket": "evidence",
        "key": f"{kid(cam)}/media/{seq:08d}.bcam",
        "version_id": "v1",
        "retain_until": "2031-01-01T00:00:00+00:00",
        "checkpoint": log.tree.size,
        "witness_time": "2027-01-15T08:00:00.000000Z",
    }


def free(cam: SimDevice, event: dict[str, Any]) -> Path:
    """Sign ``event``, delete its segment, and have the witness cosign the camera's checkpoint
    then (which covers the event's audit log)."""
    camera_signs(cam, event)
    (cam.evidence / f"segment-{event['seq']:08d}.bcam").unlink()
    return save(cam.root / "checkpoint", cosigned(camera_checkpoint(cam)))


def verify(
    cam: SimDevice, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, list[str]]:
    capsys.readouterr()
    pub = str(cam.config.state_dir / "device.pub")
    code = main(["verify", str(cam.evidence), "--device-pub", pub, *extra])
    return code, capsys.readouterr().out.splitlines()


def pinned(cp: Path, cam: SimDevice) -> list[str]:
    listing = str(cam.config.state_dir / LEAVES)
    return ["--checkpoint", str(cp), "--witness-pub", vkey(), "--listing", listing]


def segment(lines: list[str], seq: int) -> list[str]:
    return [ln for ln in lines if f"segment #{seq} " in ln]


@pytest.fixture
def cam(tmp_path: Path) -> SimDevice:
    return two_shifts(tmp_path)


def test_a_freed_segment_is_the_cameras_word_to_confirm_from_the_bucket(
    cam: SimDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = free(cam, freed(cam, 1))
    for extra in ([], pinned(cp, cam)):
        code, lines = verify(cam, capsys, *extra)
        assert code == 0, lines
        (line,) = segment(lines, 1)
        assert line.startswith("OK ")
        assert (
            "(freed (the camera's word): audit #3 event 0; confirm it with bodycam verify " in line
        )
        assert f"s3://evidence/{kid(cam)})" in line


@pytest.mark.parametrize(
    ("seq", "lie", "why"),
    [
        (1, {"key": "k/media/00000001.bcam"}, "its key 'k/media/00000001.bcam' is not the "),
        (2, {"key": "{kid}/media/00000001.bcam"}, "its key '{kid}/media/00000001.bcam' is not"),
        (1, {"records": +1}, "#2 links to another file"),
        (-1, {"records": +1}, "saw it closed with {records} records, not {lied}"),
        (-1, {"records": -1}, "saw {records} records of it, not {lied}"),
        (-1, {"chain": "ab" * 32}, "saw other records of it"),
    ],
    ids=[
        "another key",
        "another segment's key",
        "the successor",
        "segment_close",
        "a head's records",
        "a head's chain",
    ],
)
def test_a_freed_event_that_signed_evidence_contradicts_is_tampered(
    cam: SimDevice,
    capsys: pytest.CaptureFixture[str],
    seq: int,
    lie: dict[str, Any],
    why: str,
) -> None:
    """The key must be the segment's; its records and chain those the successor links to, the
    audit log saw closed, and the furthest head an event carries (the newest segment has no
    successor: only the audit log can contradict it)."""
    seq = seq if seq > 0 else len(cam.segments())
    honest = freed(cam, seq)
    event = dict(honest)
    for name, value in lie.items():
        if isinstance(value, int):
            event[name] = honest[name] + value
        else:
            event[name] = value.format(kid=kid(cam))
    free(cam, event)
    code, lines = verify(cam, capsys)
    assert code == 3, lines
    (line,) = segment(lines, seq)
    assert line.startswith("TAMPERED "), line
    assert "audit #3 event 0 says it was freed, but " in line
    assert why.format(kid=kid(cam), records=honest["records"], lied=event["records"]) in line


def test_a_freed_event_whose_segment_the_checkpoint_it_names_does_not_cover_is_tampered(
    cam: SimDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    """The listing, checked against the cosigned checkpoint's root, holds the segment's leaf at
    its index: it must be below the checkpoint the event names (and its records and chain the
    event's); else the event is TAMPERED and accounts for nothing."""
    honest = freed(cam, 1)
    listing = camera_log(cam).listing()
    index = next(i for i, lf in enumerate(listing) if lf.kind is Kind.MEDIA and lf.seq == 1)
    cp = free(cam, {**honest, "checkpoint": index})
    code, lines = verify(cam, capsys)
    assert code == 0, lines  # without the listing, nothing contradicts it
    code, lines = verify(cam, capsys, *pinned(cp, cam))
    assert code == 3, lines
    tampered = [ln for ln in segment(lines, 1) if ln.startswith("TAMPERED ")]
    assert len(tampered) == 1, lines
    assert (
        f"covered by the checkpoint of {index} files, but it is leaf {index} of the listing, "
        f"not among the first {index}" in tampered[0]
    )


def test_a_listing_that_does_not_match_still_leaves_the_withheld_files_counted(
    cam: SimDevice, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cp = save(tmp_path / "checkpoint", cosigned(camera_checkpoint(cam)))
    gone = withhold(cam)
    leaves = (cam.config.state_dir / LEAVES).read_bytes()
    forged = tmp_path / "leaves"
    forged.write_bytes(leaves[:-1] + bytes([leaves[-1] ^ 1]))
    code, lines = verify(
        cam, capsys, "--checkpoint", str(cp), "--witness-pub", vkey(), "--listing", str(forged)
    )
    assert code == 3
    text = "\n".join(lines)
    assert "the listing given does not match the checkpoint of" in text
    assert f"withheld: {len(gone)} file(s) beyond" in text
    assert "the listing given does not match it" in text
