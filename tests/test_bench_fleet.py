"""The fleet bench's machinery at a small scale: three cameras offload at once to one bucket,
each cosigned by the real witness process, and the bench's check of the bucket finds every
object once; then it must catch a duplicate, an object hidden by a delete marker, a camera
whose files never arrived, altered bytes and a stray key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from recorder.bench.fleet import check_bucket, fleet_camera, offload_at_once, witness_process
from tests.s3 import S3

pytestmark = pytest.mark.slow


def test_the_fleet_check_finds_every_object_once_and_catches_what_is_lost_or_doubled(
    s3: S3, tmp_path: Path
) -> None:
    agency = X25519PrivateKey.generate().public_key()
    cams = [fleet_camera(tmp_path / f"cam-{i}", agency, segments=2) for i in range(3)]
    bucket = s3.bucket()
    with witness_process(tmp_path / "witness", [c.pub for c in cams]) as w:
        results, _ = offload_at_once(cams, s3.endpoint, s3.credentials, bucket, w, s3.region)
    assert all(r.ok and r.witnessed is not None for r in results), [r.failed for r in results]
    client = s3.client()
    # each camera: 2 segments, an audit file, the listing, the cosigned checkpoint
    assert check_bucket(client, bucket, cams, w.verifier) == (15, [])

    doubled, hidden = sorted(cams[0].files()), sorted(cams[1].files())
    client.put_object(Bucket=bucket, Key=doubled[0], Body=cams[0].files()[doubled[0]].read_bytes())
    client.put_object(Bucket=bucket, Key=doubled[1], Body=b"not the camera's segment")
    client.delete_object(Bucket=bucket, Key=hidden[0])  # a delete marker, the object kept
    client.put_object(Bucket=bucket, Key="stray", Body=b"")
    never = fleet_camera(tmp_path / "never-docked", agency, segments=1)
    objects, problems = check_bucket(client, bucket, [*cams, never], w.verifier)

    assert objects == 15 + 4
    assert sorted(problems) == sorted(
        [
            f"{doubled[0]}: 2 versions (a duplicate)",
            f"{doubled[1]}: 2 versions (a duplicate)",
            f"{doubled[1]}: its bytes differ from {cams[0].files()[doubled[1]].name}'s",
            f"{hidden[0]}: missing (hidden by a delete marker)",
            *(f"{key}: missing" for key in never.files()),
            f"{never.prefix}/log/leaves: missing",
            f"{never.prefix}/log/checkpoint-2.note: missing",
            "stray: no camera's",
        ]
    )
