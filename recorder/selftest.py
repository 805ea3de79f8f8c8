"""Self-test: the checks behind ``bodycam selftest`` and the console's SELFTEST.

Each check passes, warns or fails. Only what makes recording impossible fails (no keys, no frames,
evidence not writable): the service runs ``bodycam selftest`` before it starts, and a camera that
can still record must not be kept from recording by, say, a clock that was never set. Such
problems warn, and the recorder writes them into every header and the audit log.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hal.backend import Devices
from hal.clock import Clock
from hal.errors import HalError
from hal.keystore import FileKeyStore
from hal.storage import Storage
from recorder.config import Config
from recorder.evidence.chain import Report, verify_dir_kind
from recorder.evidence.header import Kind
from recorder.evidence.keys import fingerprint
from recorder.evidence.reader import Verdict
from recorder.provisioning import DEVICE_KEY, RECIPIENTS

__all__ = [
    "Check",
    "audit_verdict",
    "camera_delivers",
    "check_audit",
    "microphone_delivers",
    "run_selftest",
    "storage_margin",
]

Status = Literal["PASS", "WARN", "FAIL"]
_EARLIEST_SANE_YEAR = 2024


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.status} {self.name}: {self.detail}"


def check_keys(state_dir: Path) -> Check:
    try:
        keystore = FileKeyStore(state_dir / DEVICE_KEY)
    except HalError as e:
        return Check("keys", "FAIL", str(e))
    recipients = sorted((state_dir / RECIPIENTS).glob("*.pub"))
    if not recipients:
        return Check("keys", "FAIL", f"no agency recipient in {state_dir / RECIPIENTS}")
    fp = fingerprint(keystore.public_key_bytes)  # as KEYS? and AUTH show fingerprints
    return Check("keys", "PASS", f"device key {fp}; {len(recipients)} agency recipient(s)")


def check_storage(storage: Storage, evidence_dir: Path, need_bytes: int) -> Check:
    """Writable (a probe file is written, synced and removed) with room for ``need_bytes``."""
    probe = evidence_dir / f".selftest-{secrets.token_hex(4)}"  # never a *.bcam name
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"bodycam selftest\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as e:
        return Check("storage", "FAIL", f"{evidence_dir} is not writable: {e.strerror}")
    free, total = storage.free_bytes(), storage.total_bytes()
    detail = f"{free / 2**30:.2f} GiB free of {total / 2**30:.2f} GiB"
    if free < need_bytes:
        return Check("storage", "WARN", f"{detail}; less than the {need_bytes >> 20} MiB margin")
    return Check("storage", "PASS", detail)


def check_clock(clock: Clock) -> Check:
    year = time.gmtime(clock.wall()).tm_year
    if not clock.is_set or clock.source == "none":
        return Check("clock", "WARN", "clock never set: headers say so; set it with TIME SET")
    if year < _EARLIEST_SANE_YEAR:
        return Check("clock", "WARN", f"clock says {year}; set it with TIME SET")
    return Check("clock", "PASS", f"source {clock.source}")


def audit_verdict(report: Report, open_seq: int | None = None) -> tuple[Verdict, list[str]]:
    """The worst verdict among audit logs and the lines behind it. The file a running recorder is
    still writing (``open_seq``) lacks its FINAL record by design, so it does not count."""
    worst, problems = Verdict.OK, []
    for line in report.lines:
        if line.verdict is Verdict.OK:
            continue
        if line.verdict is Verdict.INCOMPLETE and line.file and line.seq == str(open_seq):
            continue
        problems.append(str(line))
        worst = max(worst, line.verdict, key=lambda v: v.rank)
    return worst, problems


def check_audit(
    evidence_dir: Path, device_pub: Ed25519PublicKey, open_seq: int | None = None
) -> Check:
    """Whether the audit logs verify. Even a TAMPERED log only warns: the camera must go on
    recording new evidence, and the verdict is there for the technician to see."""
    report = verify_dir_kind(evidence_dir, device_pub, Kind.AUDIT)
    worst, problems = audit_verdict(report, open_seq)
    if worst is Verdict.OK:
        return Check("audit", "PASS", f"{len(report.lines)} audit log(s) verify")
    if worst is Verdict.INCOMPLETE:
        return Check("audit", "WARN", "a power cut ended a log (a recovery note follows it)")
    return Check("audit", "WARN", f"{worst.value}: {'; '.join(problems[:3])}")


def storage_margin(config: Config) -> int:
    """Room a healthy camera should have: the reserve plus ten minutes of video."""
    reserve_mib: int = config.get("storage.reserve_mib")
    bitrate: int = config.get("video.bitrate")
    return reserve_mib * 2**20 + 10 * 60 * bitrate // 8


def camera_delivers(frames_seen: Callable[[], int], wait: Callable[[], None], tries: int) -> Check:
    """Pass when the frame counter moves within ``tries`` waits."""
    moved = _moves(frames_seen, wait, tries)
    if moved is None:
        return Check("camera", "FAIL", "no frame arrived from the camera")
    return Check("camera", "PASS", f"{moved} frame(s) arrived")


def microphone_delivers(
    packets_seen: Callable[[], int] | None,
    fault: Callable[[], BaseException | None],
    wait: Callable[[], None],
    tries: int,
) -> Check:
    """Pass when the microphone's packet counter moves within ``tries`` waits (muted, it still
    delivers silence). A fault or no sound only warns: recording goes on without sound.
    ``packets_seen`` None: the configuration has no microphone."""
    if packets_seen is None:
        return Check("microphone", "PASS", "no microphone (audio.enabled = false)")
    moved = _moves(packets_seen, wait, tries)
    if (error := fault()) is not None:
        return Check("microphone", "WARN", f"{error}; recording goes on without sound")
    if moved is None:
        return Check("microphone", "WARN", "no sound arrived; recording goes on without it")
    return Check("microphone", "PASS", f"{moved} packet(s) arrived")


def _moves(seen: Callable[[], int], wait: Callable[[], None], tries: int) -> int | None:
    """How far ``seen`` moved once it did, within ``tries`` waits; None if it never did."""
    start = seen()
    for _ in range(tries):
        wait()
        if (now := seen()) > start:
            return now - start
    return None


def run_selftest(config: Config, devices: Devices, camera: Check, microphone: Check) -> list[Check]:
    device_pub = Ed25519PublicKey.from_public_bytes(devices.keystore.public_key_bytes)
    return [
        camera,
        microphone,
        check_storage(devices.storage, config.evidence_dir, storage_margin(config)),
        check_keys(config.state_dir),
        check_clock(devices.clock),
        check_audit(config.evidence_dir, device_pub),
    ]
