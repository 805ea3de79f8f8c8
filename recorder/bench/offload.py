"""Offload throughput to a local Ceph RADOS Gateway, against a plain boto3 ``upload_file``.

The camera's evidence (six finished segments of 32 MiB, signed and encrypted by the evidence
library, logged in the camera's log) is offloaded by :func:`recorder.offload.offload.offload`,
with everything it does: the bucket's Object Lock checked, HEAD before PUT, SHA-256 metadata,
Content-MD5 on every PUT and part, COMPLIANCE retention, HEAD to confirm. The baseline sends the
same files with boto3's ``upload_file`` and its defaults (ten threads, 8 MiB parts) to a bucket
without Object Lock. Each round uses fresh buckets; the figure is the median of the rounds.

The store is :func:`recorder.bench.common.s3_store`: ``scripts/ceph-rgw`` started under a
temporary directory, or the store ``BODYCAM_S3_ENDPOINT`` names.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from recorder.bench.common import s3_store
from recorder.config import SCHEMA
from recorder.evidence.header import Kind, Link
from recorder.evidence.keys import Ed25519Signer, write_public_key
from recorder.evidence.state import EvidenceStream
from recorder.evidence.tlog import DeviceLog
from recorder.offload.credentials import Credentials
from recorder.offload.offload import Settings, offload

FILES, FILE_MIB, ROUNDS = 6, 32, 3
PART_MIB = SCHEMA["offload"]["part_mib"].default
MiB = 1024 * 1024


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
    memory = 2 * ROUNDS * FILES * FILE_MIB * MiB + 512 * MiB  # nothing locked is deleted
    with (
        tempfile.TemporaryDirectory(prefix="bodycam-bench-") as tmp,
        s3_store(Path(tmp), memory) as store,
    ):
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
