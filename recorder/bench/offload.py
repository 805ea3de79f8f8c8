"""Offload throughput to a local Ceph RADOS Gateway, against a plain boto3 ``upload_file``.

The camera's evidence (six finished segments of 32 MiB, signed and encrypted by the evidence
library, logged in the camera's log) is offloaded by :func:`recorder.offload.offload.offload`,
with everything it does: the bucket's Object Lock checked, HEAD before PUT, SHA-256 metadata,
Content-MD5 on every PUT and part, COMPLIANCE retention, HEAD to confirm. The baseline sends the
same files with boto3's ``upload_file`` and its defaults (ten threads, 8 MiB parts) to a bucket
without Object Lock. Each round uses fresh buckets; the figure is the median of the rounds.

The store is ``scripts/ceph-rgw`` started under a temporary directory, or the store
``BODYCAM_S3_ENDPOINT`` names (credentials from ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from recorder.config import SCHEMA
from recorder.evidence.header import Kind, Link
from recorder.evidence.keys import Ed25519Signer, write_public_key
from recorder.evidence.state import EvidenceStream
from recorder.evidence.tlog import DeviceLog
from recorder.offload.credentials import Credentials, load_credentials
from recorder.offload.offload import Settings, offload

SCRIPT = Path(__file__).parents[2] / "scripts" / "ceph-rgw"
FILES, FILE_MIB, ROUNDS = 6, 32, 3
PART_MIB = SCHEMA["offload"]["part_mib"].default
MiB = 1024 * 1024


@contextlib.contextmanager
def _store(tmp: Path) -> Iterator[tuple[str, Credentials] | None]:
    endpoint = os.environ.get("BODYCAM_S3_ENDPOINT")
    if endpoint:
        yield endpoint, load_credentials(None, os.environ)
        return
    if shutil.which("radosgw") is None:
        yield None
        return
    cluster = tmp / "ceph"
    memory = str(2 * ROUNDS * FILES * FILE_MIB * MiB + 512 * MiB)  # nothing locked is deleted
    env = {**os.environ, "CEPH_RGW_MEMORY": memory}
    try:
        started = subprocess.run(
            [str(SCRIPT), "start", str(cluster)], capture_output=True, text=True, env=env
        )
        if started.returncode != 0:
            raise RuntimeError(f"scripts/ceph-rgw start failed: {started.stderr}")
        creds = dict(line.split("=", 1) for line in (cluster / "s3.env").read_text().splitlines())
        yield started.stdout.strip(), load_credentials(None, creds)
    finally:
        subprocess.run([str(SCRIPT), "stop", str(cluster)], check=False)


def _camera(root: Path) -> tuple[Path, Path, list[Path]]:
    """A camera's state and evidence: FILES finished segments of FILE_MIB each, logged."""
    state, evidence = root / "state", root / "evidence"
    state.mkdir(mode=0o700)
    evidence.mkdir()
    key = Ed25519PrivateKey.generate()
    write_public_key(state / "device.pub", key.public_key())
    signer = Ed25519Signer(key)
    device_log = DeviceLog(state, key.public_key(), signer.sign)

    def logged(kind: Kind, link: Link) -> None:
        device_log.add(kind, link)

    media = EvidenceStream(
        evidence,
        state,
        Kind.MEDIA,
        signer,
        key.public_key(),
        recipients=(X25519PrivateKey.generate().public_key(),),
        on_finished=logged,
    )
    record = os.urandom(MiB)
    for part in range(FILES):
        f = media.open({"recording_id": "bench", "part": part + 1})
        for _ in range(FILE_MIB):
            f.append(record)
        media.close({"frames": 0})
    return state, evidence, sorted(evidence.glob("segment-*.bcam"))


def bench_offload() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bodycam-bench-") as tmp, _store(Path(tmp)) as store:
        if store is None:
            return [("offload", "not measured: Ceph's radosgw is not installed (make tools)")]
        endpoint, creds = store
        state, evidence, files = _camera(Path(tmp))
        size = sum(f.stat().st_size for f in files)
        plain = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            region_name="us-east-1",
        )
        ours, theirs = [], []
        for _ in range(ROUNDS):
            theirs.append(_plain(plain, files))
            ours.append(_ours(plain, state, evidence, endpoint, creds))
        ratio = statistics.median(t / o for t, o in zip(theirs, ours, strict=True))
        rate = size / statistics.median(ours) / MiB
        base = size / statistics.median(theirs) / MiB
        return [
            (
                f"offload of {FILES} segments of {FILE_MIB} MiB, median of {ROUNDS}",
                f"{rate:.0f} MiB/s (Object Lock, Content-MD5, SHA-256, HEAD before and after)",
            ),
            ("  plain boto3 upload_file of the same bytes", f"{base:.0f} MiB/s"),
            ("  offload / plain", f"{ratio:.2f}x (goal >= 0.8x)"),
        ]


def _bucket(client: Any, *, locked: bool) -> str:
    name = f"bodycam-bench-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=locked)
    return name


def _plain(client: Any, files: list[Path]) -> float:
    bucket = _bucket(client, locked=False)
    start = time.perf_counter()
    for f in files:
        client.upload_file(str(f), bucket, f.name)
    return time.perf_counter() - start


def _ours(client: Any, state: Path, evidence: Path, endpoint: str, creds: Credentials) -> float:
    bucket = _bucket(client, locked=True)
    settings = Settings(state, evidence, endpoint, "us-east-1", bucket, 1, PART_MIB * MiB, None)
    start = time.perf_counter()
    result = offload(settings, creds)
    elapsed = time.perf_counter() - start
    if not result.ok or result.count("sent") != FILES + 1:  # and the listing
        raise RuntimeError(f"the offload did not send everything: {result.failed}")
    return elapsed
