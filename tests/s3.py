"""The S3 store the offload tests run against: a real single-node Ceph RADOS Gateway.

The ``s3`` session fixture starts ``scripts/ceph-rgw`` once under a temporary directory and
stops it at the end of the session, whatever the tests did. With ``BODYCAM_S3_ENDPOINT`` set, the
same tests run against that store instead (AWS, MinIO, a production Ceph), with
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and optionally ``BODYCAM_S3_REGION`` from the
environment; each test makes its own buckets (with Object Lock, one day of retention), which a
store under COMPLIANCE lock keeps until then.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from recorder.offload.credentials import Credentials, load_credentials
from recorder.offload.store import make_client

SCRIPT = Path(__file__).parents[1] / "scripts" / "ceph-rgw"


@dataclass(frozen=True)
class S3:
    endpoint: str
    region: str
    credentials: Credentials

    def client(self) -> Any:
        return _client(self.endpoint, self.region, self.credentials)

    def env(self) -> dict[str, str]:
        """The environment a ``bodycam offload`` process is given its credentials in."""
        return {
            "AWS_ACCESS_KEY_ID": self.credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_key,
        }

    def bucket(self, *, locked: bool = True) -> str:
        """A new, empty bucket: with Object Lock (as offload requires) unless told not to."""
        name = f"bodycam-test-{uuid.uuid4().hex[:16]}"
        extra: dict[str, Any] = {"ObjectLockEnabledForBucket": True} if locked else {}
        if self.region != "us-east-1":
            extra["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        self.client().create_bucket(Bucket=name, **extra)
        return name

    def versions(self, bucket: str) -> dict[str, int]:
        """How many versions each key has (a duplicate shows as 2)."""
        count: dict[str, int] = {}
        pages = self.client().get_paginator("list_object_versions").paginate(Bucket=bucket)
        for page in pages:
            for v in page.get("Versions", []):
                count[v["Key"]] = count.get(v["Key"], 0) + 1
        return count


@functools.cache
def _client(endpoint: str, region: str, credentials: Credentials) -> Any:
    return make_client(endpoint, region, credentials)


def _env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    endpoint = os.environ.get("BODYCAM_S3_ENDPOINT")
    region = os.environ.get("BODYCAM_S3_REGION", "us-east-1")
    if endpoint:
        yield S3(endpoint, region, load_credentials(None, os.environ))
        return
    if shutil.which("radosgw") is None:
        pytest.skip("Ceph's radosgw is not installed (make tools), and BODYCAM_S3_ENDPOINT unset")
    # Not under pytest's basetemp: another session's pytest may remove old basetemps while this
    # one runs, and with them the PIDs the cluster is stopped by.
    cluster = Path(tempfile.mkdtemp(prefix="bodycam-ceph-"))
    try:
        started = subprocess.run(
            [str(SCRIPT), "start", str(cluster)], capture_output=True, text=True, timeout=300
        )
        if started.returncode != 0:
            pytest.fail(f"scripts/ceph-rgw start failed:\n{started.stderr}", pytrace=False)
        creds = load_credentials(None, _env_file(cluster / "s3.env"))
        yield S3(started.stdout.strip(), region, creds)
    finally:
        subprocess.run([str(SCRIPT), "stop", str(cluster)], timeout=120, check=False)
        shutil.rmtree(cluster, ignore_errors=True)
