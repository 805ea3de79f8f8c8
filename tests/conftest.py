"""Shared fixtures: fixed keys and an evidence directory a device writes into."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from recorder.evidence.audit import AuditLog
from recorder.evidence.header import Kind, Suite
from recorder.evidence.keys import Ed25519Signer
from recorder.evidence.media import STREAM_VIDEO, Frame, encode_frames
from recorder.evidence.state import EvidenceStream
from tests.profiles import load_profile
from tests.s3 import s3  # noqa: F401  (the S3 store fixture: Ceph's RGW, or BODYCAM_S3_ENDPOINT)

load_profile()


def fixed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


@dataclass
class Device:
    """A device's keys and directories, with helpers to write a stream of segments."""

    evidence: Path
    state: Path
    key: Ed25519PrivateKey
    agency: X25519PrivateKey
    escrow: X25519PrivateKey

    @property
    def pub(self):  # type: ignore[no-untyped-def]
        return self.key.public_key()

    def media(self, suite: Suite = Suite.AES_256_GCM) -> EvidenceStream:
        return EvidenceStream(
            self.evidence,
            self.state,
            Kind.MEDIA,
            Ed25519Signer(self.key),
            self.pub,
            recipients=(self.agency.public_key(), self.escrow.public_key()),
            suite=suite,
        )

    def audit(self) -> AuditLog:
        stream = EvidenceStream(
            self.evidence, self.state, Kind.AUDIT, Ed25519Signer(self.key), self.pub
        )
        return AuditLog(stream, {"device_id": "BC-TEST", "boot_id": "b"})

    def write_segments(self, n: int, records: int = 3, *, audit: bool = True) -> list[bytes]:
        """Write n closed segments of ``records`` DATA records of one made-up video frame each
        (media framing, spec section 9); return all plaintexts."""
        media, log = self.media(), self.audit() if audit else None
        pts = []
        for s in range(n):
            f = media.open({"recording_id": "r1", "part": s + 1})
            if log:
                log.log("segment_open", wall=1.8e9, mono_us=s, seq=f.seq)
            for r in range(records):
                frame = Frame(
                    STREAM_VIDEO, (s * records + r) * 33_333, r == 0, fixed(f"{s}.{r}") * 4
                )
                pt = encode_frames([frame])
                f.append(pt)
                pts.append(pt)
            link = media.close({"frames": records})
            if log:
                log.log("segment_close", wall=1.8e9, mono_us=s, seq=link.seq, records=link.records)
        if log:
            log.close(wall=1.8e9, reason="shutdown")
        return pts


@pytest.fixture
def device(tmp_path: Path) -> Device:
    ev, st = tmp_path / "evidence", tmp_path / "state"
    ev.mkdir()
    st.mkdir(mode=0o700)
    return Device(
        ev,
        st,
        Ed25519PrivateKey.from_private_bytes(fixed("device")),
        X25519PrivateKey.from_private_bytes(fixed("agency")),
        X25519PrivateKey.from_private_bytes(fixed("escrow")),
    )


@pytest.fixture
def make_device(tmp_path: Path) -> Callable[[str], Device]:
    def make(name: str) -> Device:
        ev, st = tmp_path / name / "evidence", tmp_path / name / "state"
        ev.mkdir(parents=True)
        st.mkdir(mode=0o700)
        return Device(
            ev,
            st,
            Ed25519PrivateKey.from_private_bytes(fixed(name + "device")),
            X25519PrivateKey.from_private_bytes(fixed(name + "agency")),
            X25519PrivateKey.from_private_bytes(fixed(name + "escrow")),
        )

    return make
