"""Offload against a real S3 store (Ceph's RADOS Gateway, or BODYCAM_S3_ENDPOINT): every finished
file and cosigned checkpoint lands under COMPLIANCE Object Lock, confirmed by HEAD; a rerun
sends nothing; a bucket without Object Lock is refused."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hal.camera import EncodedFrame
from hal.inputs import InputEvent
from recorder.cli import main
from recorder.evidence.cosigned import COSIGNED
from recorder.evidence.keys import key_id, raw_public
from recorder.evidence.pinning import Witness as Trusted
from recorder.evidence.pinning import open_checkpoint
from recorder.evidence.tlog import LEAVES, DeviceLog
from recorder.logs import LOGGERS
from recorder.offload import upload
from recorder.offload.pace import Pace, PacedBody
from recorder.offload.store import Store
from recorder.witness.state import State
from recorder.witness.witness import Witness
from tests.s3 import S3
from tests.simdevice import SimDevice, scenario
from tests.test_pinning import camera_checkpoint, cosigned
from tests.test_power_loss import Camera, camera_frames
from tests.test_streams_link import two_shifts
from tests.witness_kit import WITNESS_NAME, Clock, serving, witness_key

pytestmark = pytest.mark.slow


BODYCAM = str(Path(sys.executable).parent / "bodycam")


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


@pytest.fixture(autouse=True)
def firmware_logging() -> Iterator[None]:
    """``bodycam offload`` run in-process sets up the firmware's loggers on the stderr pytest
    captures for that test: put them back as they were."""
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in map(logging.getLogger, LOGGERS)]
    yield
    for lg, handlers, level, propagate in saved:
        lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate


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


def big_segment(tmp_path: Path, mib: int) -> tuple[SimDevice, Path]:
    """A camera whose one finished segment holds about ``mib`` MiB (large frames, fed to a
    real Recorder on simulated devices)."""
    cam = SimDevice.provision(tmp_path)
    camera = Camera(cam)
    camera.rec.input(InputEvent("record", True, 0.0))
    n = 30
    for i, f in enumerate(camera_frames(0, n)):
        body = hashlib.sha256(i.to_bytes(4, "big")).digest() * (mib * 1024 * 1024 // n // 32)
        camera.rec.frame(EncodedFrame(body, f.keyframe, f.timestamp_us))
    camera.shut_down()
    (segment,) = cam.segments()
    assert segment.stat().st_size > mib * 1024 * 1024
    return cam, segment


def wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while not check():
        assert proc.poll() is None, f"offload ended ({proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} in 120 s"
        time.sleep(0.05)


def test_kill_9_mid_upload_then_a_rerun_resumes_with_no_duplicates_and_no_holes(
    tmp_path: Path, s3: S3
) -> None:
    cam, segment = big_segment(tmp_path, 12)
    bucket = s3.bucket()
    config = configure(cam, s3, bucket, part_mib=5)
    env = {**os.environ, **s3.env()}
    key = f"{prefix(cam)}/media/00000001.bcam"
    state = cam.config.state_dir / "offload.json"

    def parts_in_store() -> list[int]:
        """The sizes of the parts the store holds of the upload offload.json names."""
        if not state.exists():
            return []
        upload = json.loads(state.read_text())["uploads"].get(key)
        if upload is None or upload["upload_id"] is None:
            return []
        got = s3.client().list_parts(Bucket=bucket, Key=key, UploadId=upload["upload_id"])
        return [p["Size"] for p in got.get("Parts", [])]

    # 12 MiB at 16 Mbit/s takes about 6 s: its parts (5, 5 and 2 MiB, sent at once) are in the
    # store one by one from about 2 s on.
    proc = subprocess.Popen(
        [BODYCAM, "offload", "--config", str(config), "--limit-mbps", "16"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for("a part in the store", lambda: bool(parts_in_store()), proc)
        proc.kill()
    finally:
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    sources = {**expected_files(cam), f"{prefix(cam)}/log/leaves": cam.config.state_dir / LEAVES}
    there = s3.versions(bucket)  # what the cut run finished: the small files went alongside
    assert key not in there  # cut mid-upload: no object yet
    held = sum(parts_in_store()) + sum(sources[k].stat().st_size for k in there)
    assert 0 < held < segment.stat().st_size

    rerun = subprocess.run(
        [BODYCAM, "offload", "--config", str(config)], env=env, capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "1 resumed" in rerun.stdout
    sent = int(rerun.stdout.split(" bytes sent")[0].rsplit(" ", 1)[1])
    everything = sum(p.stat().st_size for p in sources.values())
    assert sent == everything - held  # what the store held was not sent again
    versions = s3.versions(bucket)
    assert set(versions.values()) == {1}  # no duplicates
    assert set(versions) == {*expected_files(cam), f"{prefix(cam)}/log/leaves"}  # no holes
    for k, path in expected_files(cam).items():
        assert_locked(s3, bucket, k, path.read_bytes())
    body = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == segment.read_bytes()
    assert json.loads(state.read_text())["uploads"] == {}
    assert s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_an_upload_completed_but_not_yet_locked_is_locked_not_sent_again(
    tmp_path: Path, s3: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run cut between completing a multipart upload and setting its retention (Ceph 16
    drops the lock headers of CreateMultipartUpload) left the bytes unlocked: the next run
    locks them, and sends nothing."""
    cam, segment = big_segment(tmp_path, 6)
    bucket = s3.bucket()
    key = f"{prefix(cam)}/media/00000001.bcam"
    data = segment.read_bytes()
    client = s3.client()
    upload = client.create_multipart_upload(
        Bucket=bucket, Key=key, Metadata={"sha256": hashlib.sha256(data).hexdigest()}
    )
    etags = []
    for n, at in enumerate(range(0, len(data), 5 * 1024 * 1024), start=1):
        part = data[at : at + 5 * 1024 * 1024]
        r = client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=n, Body=part
        )
        etags.append({"PartNumber": n, "ETag": r["ETag"]})
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": etags}
    )
    head = client.head_object(Bucket=bucket, Key=key)
    if head.get("ObjectLockMode") == "COMPLIANCE":
        pytest.skip("this store applies a default retention: nothing is left unlocked")
    code, out, err = run_offload(configure(cam, s3, bucket, part_mib=5), s3, monkeypatch, capsys)
    assert code == 0, err
    assert "1 locked" in out
    assert_locked(s3, bucket, key, data)
    assert s3.versions(bucket)[key] == 1


def test_an_upload_begun_by_a_run_cut_before_it_noted_the_id_is_discarded(
    tmp_path: Path, s3: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cam, segment = big_segment(tmp_path, 6)
    bucket = s3.bucket()
    key = f"{prefix(cam)}/media/00000001.bcam"
    config = configure(cam, s3, bucket, part_mib=5)

    class Cut(BaseException):
        pass

    real = Store.create_upload

    def create_then_cut(self: Store, *args: Any) -> str:
        real(self, *args)  # the store made the upload; the power went before the id was noted
        raise Cut

    with monkeypatch.context() as m:
        m.setattr(Store, "create_upload", create_then_cut)
        with pytest.raises(Cut):
            run_offload(config, s3, monkeypatch, capsys)
    client = s3.client()
    assert len(client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1
    code, _, err = run_offload(config, s3, monkeypatch, capsys)
    assert code == 0, err
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert_locked(s3, bucket, key, segment.read_bytes())
    assert s3.versions(bucket)[key] == 1


def test_other_bytes_under_an_evidence_key_are_a_conflict_and_are_not_written_over(
    shifts: SimDevice,
    s3: S3,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = s3.bucket()
    key, path = next(iter(expected_files(shifts).items()))
    s3.client().put_object(Bucket=bucket, Key=key, Body=b"not the camera's")
    code, _, err = run_offload(configure(shifts, s3, bucket), s3, monkeypatch, capsys)
    assert code == 1
    assert f"the bucket holds other bytes under {key} (16 bytes" in err
    assert "nothing was sent" in err
    versions = s3.versions(bucket)
    assert versions[key] == 1  # not written over
    assert set(versions) == {*expected_files(shifts), f"{prefix(shifts)}/log/leaves"}
    assert path.exists()


def test_other_bytes_with_the_files_own_sha256_as_metadata_are_not_taken_for_the_file(
    shifts: SimDevice,
    s3: S3,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The metadata is the uploader's word; the ETag is the store's. Someone who read the card
    and can put objects places bytes of the file's size under its key, with its SHA-256 as
    metadata, before the camera docks: offload must not call the file present (and so never
    offer it to be freed)."""
    bucket = s3.bucket()
    key, path = next(iter(expected_files(shifts).items()))
    data = path.read_bytes()
    fake = bytes(len(data))
    s3.client().put_object(
        Bucket=bucket, Key=key, Body=fake, Metadata={"sha256": hashlib.sha256(data).hexdigest()}
    )
    config = configure(shifts, s3, bucket)
    code, _, err = run_offload(config, s3, monkeypatch, capsys)
    assert code == 1
    assert f"the bucket holds other bytes under {key} ({len(data)} bytes" in err
    assert hashlib.md5(fake).hexdigest() in err  # the store's ETag of what it holds
    assert path.exists()


class FlippedOnTheWay(PacedBody):
    """A body one bit of which changes between the camera's digest and the wire."""

    def __init__(self, data: bytes | memoryview, pace: Pace) -> None:
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0x10
        super().__init__(bytes(flipped), pace)


@pytest.mark.parametrize("part_mib", [16, 5], ids=["put", "multipart"])
def test_a_body_changed_on_the_way_is_refused_by_the_store(
    tmp_path: Path,
    s3: S3,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    part_mib: int,
) -> None:
    """Content-MD5 on every PUT and every part: the store checks it before it keeps a byte."""
    cam, _ = big_segment(tmp_path, 6)
    bucket = s3.bucket()
    monkeypatch.setattr(upload, "PacedBody", FlippedOnTheWay)
    code, _, err = run_offload(
        configure(cam, s3, bucket, part_mib=part_mib), s3, monkeypatch, capsys
    )
    assert code == 1
    key = f"{prefix(cam)}/media/00000001.bcam"
    request = f"PUT {key}" if part_mib == 16 else f"part 1 of {key}"
    assert f"FAILED {request}: refused by the store: BadDigest" in err
    assert key not in s3.versions(bucket)


def test_a_finished_file_that_is_gone_must_be_in_the_bucket(
    shifts: SimDevice,
    s3: S3,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A file the log names that is not here passes if the bucket keeps it (freed after an
    earlier offload), and is a failure if it does not (lost, or withheld before any offload)."""
    cam = shifts
    files = expected_files(cam)
    (first_key, first), (second_key, second) = list(files.items())[:2]
    aside = tmp_path / "aside"
    aside.mkdir()
    bucket = s3.bucket()
    config = configure(cam, s3, bucket)
    second.rename(aside / second.name)
    code, _, err = run_offload(config, s3, monkeypatch, capsys)
    assert code == 1
    assert f"is finished, not here, and not kept in the bucket ({second_key})" in err
    first.rename(aside / first.name)  # sent: the bucket keeps it
    (aside / second.name).rename(second)
    code, _, err = run_offload(config, s3, monkeypatch, capsys)
    assert code == 0, err
    assert first_key in s3.versions(bucket) and second_key in s3.versions(bucket)


def test_on_a_terminal_a_progress_bar_shows_the_bytes_and_the_rate(tmp_path: Path, s3: S3) -> None:
    cam, _ = big_segment(tmp_path, 6)
    config = configure(cam, s3, s3.bucket())
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [BODYCAM, "offload", "--config", str(config)],
            env={**os.environ, **s3.env()},
            stdout=subprocess.PIPE,
            stderr=terminal,
        )
        os.close(terminal)
        drawn = b""
        with contextlib.suppress(OSError):  # EIO once the process has closed the terminal
            while chunk := os.read(controller, 65536):
                drawn += chunk
        out, _ = proc.communicate(timeout=120)
    finally:
        os.close(controller)
    assert proc.returncode == 0
    assert b"offload [########################################] 100.0%" in drawn
    assert b"MiB/s" in drawn and b"bodycam.offload" not in drawn  # the bar, not log lines
    assert b"3 sent" in out


def test_docked_the_witness_cosigns_first_then_confirmed_segments_are_freed_and_accounted_for(
    shifts: SimDevice,
    s3: S3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The whole custody path: the real witness on 127.0.0.1 cosigns the camera's checkpoint,
    offload sends it with the files, offers the confirmed segments, the daemon audits and frees
    them, and verify accounts for each; a rerun finds the freed segments in the bucket."""
    cam = shifts
    origin = DeviceLog(cam.config.state_dir, cam.device_pub).origin
    witness = Witness(
        WITNESS_NAME, witness_key(), {origin: cam.device_pub}, State(tmp_path / "w"), Clock()
    )
    bucket = s3.bucket()
    with serving(witness) as server:
        vkey = witness.verifier.vkey()
        config = configure(
            cam, s3, bucket, witness_url=server.url, witness_vkey=vkey, free_space=True
        )
        code, out, err = run_offload(config, s3, monkeypatch, capsys)
        assert code == 0, err
        size = DeviceLog(cam.config.state_dir, cam.device_pub).tree.size
        assert f"checkpoint: {size} files, cosigned by {WITNESS_NAME}" in out
        note = (
            s3.client()
            .get_object(Bucket=bucket, Key=f"{prefix(cam)}/log/checkpoint-{size}.note")["Body"]
            .read()
        )
        trusted = [Trusted(witness.verifier.name, witness.verifier.public)]
        assert open_checkpoint(note, cam.device_pub, trusted).checkpoint.size == size

        segments = cam.segments()
        in_bucket = {p.name: p.read_bytes() for p in segments}
        cam.run(scenario(tmp_path / "docked.toml", 2, ""))  # the daemon, docked, frees them
        assert not any(p.exists() for p in segments)
        freed = [e for e in cam.audit_events() if e["event"] == "freed"]
        assert sorted(e["seq"] for e in freed) == [int(p.stem.split("-")[1]) for p in segments]
        for e in freed:
            name = f"segment-{e['seq']:08d}.bcam"
            body = s3.client().get_object(Bucket=bucket, Key=e["key"])["Body"].read()
            assert body == in_bucket[name] and e["bucket"] == bucket
        report = cam.verify()
        assert report.exit_code == 0, [str(ln) for ln in report.lines]

        code, out, err = run_offload(config, s3, monkeypatch, capsys)  # a rerun: all there
        assert code == 0, err


def test_a_rerun_reads_only_the_files_whose_identity_changed_since_the_bucket_confirmed_them(
    shifts: SimDevice, s3: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cam = shifts
    config = configure(cam, s3, s3.bucket())
    assert run_offload(config, s3, monkeypatch, capsys)[0] == 0
    read: list[str] = []
    real_digest, real_part = upload.Uploader.digest, upload.Uploader._part

    def digest(self: upload.Uploader, item: Any) -> Any:
        if item.path is not None:
            read.append(item.path.name)
        return real_digest(self, item)

    def part(self: upload.Uploader, item: Any, number: int) -> bytes:
        if item.path is not None:
            read.append(item.path.name)
        return real_part(self, item, number)

    monkeypatch.setattr(upload.Uploader, "digest", digest)
    monkeypatch.setattr(upload.Uploader, "_part", part)
    code, out, err = run_offload(config, s3, monkeypatch, capsys)
    assert code == 0, err
    assert read == [] and "0 sent" in out  # HEAD alone: every file is already there

    touched = cam.segments()[0]
    os.utime(touched, ns=(1, 1))  # the same bytes, another identity: read again, not sent
    code, out, err = run_offload(config, s3, monkeypatch, capsys)
    assert code == 0, err
    assert set(read) == {touched.name} and "0 sent" in out
