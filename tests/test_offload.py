"""Offload against a real S3 store (Ceph's RADOS Gateway, or BODYCAM_S3_ENDPOINT): every finished
file and cosigned checkpoint lands under COMPLIANCE Object Lock, confirmed by HEAD; a rerun
sends nothing; a bucket without Object Lock is refused."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest

from hal.inputs import InputEvent
from recorder.cli import main
from recorder.evidence.keys import key_id, raw_public
from recorder.evidence.tlog import LEAVES
from recorder.offload.plan import COSIGNED
from tests.s3 import S3
from tests.simdevice import SimDevice
from tests.test_pinning import camera_checkpoint, cosigned
from tests.test_power_loss import Camera, camera_frames
from tests.test_streams_link import two_shifts

pytestmark = pytest.mark.slow


def configure(cam: SimDevice, s3: S3, bucket: str, **offload: Any) -> Path:
    """The camera's config with an [offload] section; returns the TOML file."""
    section = {"endpoint": s3.endpoint, "region": s3.region, "bucket": bucket}
    section |= {"retention_days": 1, **offload}
    cam.config = cam.config.replace({f"offload.{k}": v for k, v in section.items()})
    return cam.toml()


def run_offload(
    config: Path, s3: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = main(["offload", "--config", str(config)])
    out = capsys.readouterr()
    return code, out.out, out.err


def prefix(cam: SimDevice) -> str:
    return key_id(raw_public(cam.device_pub)).hex()


def expected_files(cam: SimDevice) -> dict[str, Path]:
    """Every evidence file of the camera, by the key it must have in the bucket."""
    stream = {"segment": "media", "audit": "audit"}
    out = {}
    for path in sorted(cam.evidence.glob("*.bcam")):
        name, seq = path.stem.split("-")
        out[f"{prefix(cam)}/{stream[name]}/{seq}.bcam"] = path
    return out


def keep_cosigned(cam: SimDevice) -> Path:
    """The camera's latest checkpoint, cosigned, where the camera keeps what its witness
    returned."""
    note = cosigned(camera_checkpoint(cam))
    size = note.text.splitlines()[1]
    directory = cam.config.state_dir / COSIGNED
    directory.mkdir(exist_ok=True)
    path = directory / f"checkpoint-{size}.note"
    path.write_bytes(note.encode())
    return path


def assert_locked(s3: S3, bucket: str, key: str, data: bytes, days: int = 1) -> None:
    head = s3.client().head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(data), key
    assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest(), key
    assert head["ObjectLockMode"] == "COMPLIANCE", key
    until = head["ObjectLockRetainUntilDate"]
    assert until >= head["LastModified"] + dt.timedelta(days=days, minutes=-10), key


@pytest.fixture
def shifts(tmp_path: Path) -> SimDevice:
    return two_shifts(tmp_path)


def test_every_finished_file_and_the_cosigned_checkpoint_are_locked_in_the_bucket(
    shifts: SimDevice,
    s3: S3,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cam = shifts
    bucket = s3.bucket()
    note = keep_cosigned(cam)
    config = configure(cam, s3, bucket)
    code, out, err = run_offload(config, s3, monkeypatch, capsys)
    assert code == 0, err
    files = expected_files(cam)
    assert len(files) >= 6  # two shifts: segments and two audit logs
    for key, path in files.items():
        assert_locked(s3, bucket, key, path.read_bytes())
    size = note.name.removeprefix("checkpoint-").removesuffix(".note")
    assert_locked(s3, bucket, f"{prefix(cam)}/log/checkpoint-{size}.note", note.read_bytes())
    listing = (cam.config.state_dir / LEAVES).read_bytes()
    assert_locked(s3, bucket, f"{prefix(cam)}/log/leaves", listing)
    assert len(listing) // 61 == len(files) == int(size)
    versions = s3.versions(bucket)
    assert set(versions) == {*files, f"{prefix(cam)}/log/leaves", f"{prefix(cam)}/log/{note.name}"}
    assert set(versions.values()) == {1}
    assert f"{len(versions)} object(s) confirmed" in out and f"{len(versions)} sent" in out

    code, out, err = run_offload(config, s3, monkeypatch, capsys)
    assert code == 0, err
    assert f"0 sent, 0 resumed, {len(versions)} already there" in out and "0 bytes sent" in out
    assert s3.versions(bucket) == versions


def test_the_file_being_written_is_not_sent_until_it_is_finished(
    tmp_path: Path,
    s3: S3,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cam = two_shifts(tmp_path)
    camera = Camera(cam)  # a third boot, recording
    camera.rec.input(InputEvent("record", True, 0.0))
    for f in camera_frames(0, 45):
        camera.rec.frame(f)
    open_segment = camera.rec.writer._stream.current  # type: ignore[union-attr]
    assert open_segment is not None
    bucket = s3.bucket()
    config = configure(cam, s3, bucket)
    code, _, err = run_offload(config, s3, monkeypatch, capsys)
    assert code == 0, err
    sent = set(s3.versions(bucket))
    media_key = f"{prefix(cam)}/media/{open_segment.seq:08d}.bcam"
    audit = camera.rec.audit_log
    audit_key = f"{prefix(cam)}/audit/{audit.seq:08d}.bcam"
    assert {media_key, audit_key} <= set(expected_files(cam))
    assert media_key not in sent and audit_key not in sent  # both are still being written
    assert sent == set(expected_files(cam)) - {media_key, audit_key} | {f"{prefix(cam)}/log/leaves"}
    camera.shut_down()
    code, _, err = run_offload(config, s3, monkeypatch, capsys)
    assert code == 0, err
    assert_locked(s3, bucket, media_key, open_segment.path.read_bytes())
    versions = s3.versions(bucket)
    assert set(versions) == {*expected_files(cam), f"{prefix(cam)}/log/leaves"}
    assert versions.pop(f"{prefix(cam)}/log/leaves") == 2  # the listing grew: a new version
    assert set(versions.values()) == {1}


def test_a_bucket_without_object_lock_is_refused_and_nothing_is_sent(
    shifts: SimDevice,
    s3: S3,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = s3.bucket(locked=False)
    code, _, err = run_offload(configure(shifts, s3, bucket), s3, monkeypatch, capsys)
    assert code == 78
    assert f"bucket {bucket!r} at {s3.endpoint} has no Object Lock" in err
    assert s3.versions(bucket) == {}


def test_object_lock_is_enforced_by_the_store(
    shifts: SimDevice,
    s3: S3,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The contract the store must keep for the bucket to be the store of record: a locked
    version cannot be deleted, even with a governance bypass, nor its retention shortened,
    nor its mode turned to GOVERNANCE."""
    from botocore.exceptions import ClientError

    bucket = s3.bucket()
    code, _, err = run_offload(configure(shifts, s3, bucket), s3, monkeypatch, capsys)
    assert code == 0, err
    client = s3.client()
    key = next(iter(expected_files(shifts)))
    head = client.head_object(Bucket=bucket, Key=key)
    version, until = head["VersionId"], head["ObjectLockRetainUntilDate"]
    attempts = [
        lambda: client.delete_object(Bucket=bucket, Key=key, VersionId=version),
        lambda: client.delete_object(
            Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=True
        ),
        lambda: client.put_object_retention(
            Bucket=bucket,
            Key=key,
            VersionId=version,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until - dt.timedelta(hours=1)},
        ),
        lambda: client.put_object_retention(
            Bucket=bucket,
            Key=key,
            VersionId=version,
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until},
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as e:
            attempt()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert client.head_object(Bucket=bucket, Key=key)["VersionId"] == version
