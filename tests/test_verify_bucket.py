"""Verify and export straight from the bucket offload sends to (a real Ceph RADOS Gateway, or
BODYCAM_S3_ENDPOINT): the same verdicts and the same MP4s as from the evidence directory; objects
withheld from a copy are MISSING, other bytes TAMPERED; nothing read whole; clear errors."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
import sys
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hal.camera import EncodedFrame
from hal.inputs import InputEvent
from recorder.bucket.source import BadArgument, Store, open_bucket
from recorder.bucket.url import BadURL, parse_url
from recorder.cli import main
from recorder.evidence.chain import verify_dir
from recorder.evidence.keys import key_id, raw_public
from recorder.evidence.tlog import LEAVES
from recorder.offload.credentials import Credentials
from recorder.offload.offload import Settings, offload
from recorder.offload.store import make_client
from tests.profiles import examples
from tests.s3 import S3
from tests.simdevice import SimDevice
from tests.test_freed_verify import camera_signs, freed
from tests.test_mp4 import ffprobe
from tests.test_offload import configure, keep_cosigned
from tests.test_pinning import vkey
from tests.test_power_loss import Camera, camera_frames
from tests.test_streams_link import two_shifts

pytestmark = pytest.mark.slow


@dataclass
class Offloaded:
    cam: SimDevice
    bucket: str
    note: Path
    kid: str

    @property
    def pub(self) -> str:
        return str(self.cam.config.state_dir / "device.pub")

    @property
    def agency(self) -> str:
        return str(self.cam.root / "keys" / "agency.key")

    def key(self, name: str) -> str:
        """The bucket key of a file of the evidence directory (docs/offload.md)."""
        stream, seq = name.removesuffix(".bcam").split("-")
        return f"{self.kid}/{ {'segment': 'media', 'audit': 'audit'}[stream] }/{seq}.bcam"


def send(cam: SimDevice, s3: S3, bucket: str) -> None:
    """``bodycam offload``'s run, in process."""
    configure(cam, s3, bucket)
    result = offload(Settings.from_config(cam.config), s3.credentials)
    assert result.ok, result.failed


@pytest.fixture(scope="module")
def offloaded(s3: S3, tmp_path_factory: pytest.TempPathFactory) -> Offloaded:
    """Two shifts of one camera and its cosigned checkpoint, offloaded to a locked bucket."""
    cam = two_shifts(tmp_path_factory.mktemp("bucket"))
    note = keep_cosigned(cam)
    bucket = s3.bucket()
    send(cam, s3, bucket)
    return Offloaded(cam, bucket, note, key_id(raw_public(cam.device_pub)).hex())


@pytest.fixture
def store(s3: S3, tmp_path: Path) -> list[str]:
    """The options that say where the store is and the credentials to read it with."""
    creds = tmp_path / "s3-credentials"
    creds.write_text(
        f"[default]\naws_access_key_id = {s3.credentials.access_key}\n"
        f"aws_secret_access_key = {s3.credentials.secret_key}\n"
    )
    creds.chmod(0o600)
    return ["--endpoint", s3.endpoint, "--region", s3.region, "--credentials-file", str(creds)]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def verdicts(
    capsys: pytest.CaptureFixture[str], where: str, o: Offloaded, *extra: str
) -> tuple[int, dict[str, Any]]:
    code, out, err = run(capsys, "verify", where, "--device-pub", o.pub, "--json", *extra)
    assert out, err
    return code, json.loads(out)


def copy(
    s3: S3,
    o: Offloaded,
    *,
    prefix: str = "",
    skip: frozenset[str] = frozenset(),
    change: dict[str, bytes] | None = None,
) -> str:
    """A new bucket (no Object Lock, no versions) holding the offloaded objects under
    ``prefix``, as a copy the agency made, but those in ``skip``, and other bytes under the keys
    in ``change``."""
    client = s3.client()
    bucket = s3.bucket(locked=False)
    listed = client.list_objects_v2(Bucket=o.bucket)["Contents"]
    for obj in listed:
        key = obj["Key"]
        if key in skip:
            continue
        data = (change or {}).get(key) or client.get_object(Bucket=o.bucket, Key=key)["Body"].read()
        client.put_object(Bucket=bucket, Key=prefix + key, Body=data)
    return bucket


# --- the same verdicts ---------------------------------------------------------------------------


def test_verify_from_the_bucket_gives_the_directorys_verdicts_and_pins_with_its_checkpoint(
    offloaded: Offloaded, store: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    o = offloaded
    leaves = o.cam.config.state_dir / LEAVES
    pins = ["--witness-pub", vkey()]
    here = ["--checkpoint", str(o.note), "--listing", str(leaves)]
    code, local = verdicts(capsys, str(o.cam.evidence), o, *pins, *here)
    assert code == 0 and local["worst"] == "OK"
    assert any(ln["kind"] == "checkpoint" for ln in local["lines"])
    # The bucket's own checkpoint and listing are found under <key id>/log/.
    for where in (f"s3://{o.bucket}", f"s3://{o.bucket}/{o.kid}/"):
        code, there = verdicts(capsys, where, o, *pins, *store)
        assert code == 0
        expect = [{**ln, "file": o.key(ln["file"]) if ln["file"] else ""} for ln in local["lines"]]
        assert there["lines"] == expect
        assert there["unpinned"] == "" and there["not_used"] == []
    # Without the witness's key the bucket's checkpoint cannot pin anything, and verify says so.
    code, out, _ = run(capsys, "verify", f"s3://{o.bucket}", "--device-pub", o.pub, *store)
    size = o.note.name.removeprefix("checkpoint-").removesuffix(".note")
    assert code == 0
    assert f"not used: {o.kid}/log/checkpoint-{size}.note (give --witness-pub" in out
    assert "the newest end is not pinned: no cosigned checkpoint was given, or usable" in out


def test_objects_withheld_from_a_copy_are_missing_by_the_checkpoint(
    offloaded: Offloaded, s3: S3, store: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    o = offloaded
    newest_segment = o.cam.segments()[-1].name
    newest_audit = sorted(o.cam.evidence.glob("audit-*.bcam"))[-1].name
    withheld_names = (newest_segment, newest_audit)
    withheld = frozenset(o.key(n) for n in withheld_names)
    bucket = copy(s3, o, skip=withheld)
    code, report = verdicts(capsys, f"s3://{bucket}", o, "--witness-pub", vkey(), *store)
    assert code == 3
    missing = {
        (ln["kind"], ln["seq"])
        for ln in report["lines"]
        if ln["verdict"] == "MISSING" and ln["reason"].startswith("withheld: covered by")
    }
    seq = {
        name: str(int(name.split("-")[1].split(".")[0])) for name in (newest_segment, newest_audit)
    }
    assert missing == {("segment", seq[newest_segment]), ("audit", seq[newest_audit])}


def test_other_bytes_under_a_key_are_tampered_under_any_prefix(
    offloaded: Offloaded, s3: S3, store: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    o = offloaded
    victim = o.cam.segments()[0]
    data = bytearray(victim.read_bytes())
    data[-100] ^= 1  # a bit of the FINAL record's signature
    bucket = copy(s3, o, prefix="case-7/", change={o.key(victim.name): bytes(data)})
    code, report = verdicts(capsys, f"s3://{bucket}/case-7", o, *store)
    assert code == 3
    (bad,) = [ln for ln in report["lines"] if ln["verdict"] == "TAMPERED"]
    assert bad["file"] == f"case-7/{o.key(victim.name)}" and bad["kind"] == "segment"
    assert "signature does not verify" in bad["reason"]


def test_every_version_is_read_even_one_a_delete_marker_hides(
    offloaded: Offloaded, s3: S3, store: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Object Lock keeps a locked version, but it lets a new version be put over it and a delete
    marker hide it from a plain listing: verify reads every version."""
    o = offloaded
    bucket = s3.bucket()
    send(o.cam, s3, bucket)
    client = s3.client()
    first, newest = o.cam.segments()[0], o.cam.segments()[-1]
    client.delete_object(Bucket=bucket, Key=o.key(newest.name))  # a marker, not a deletion
    shorter = first.read_bytes()[:-300]
    md5 = base64.b64encode(hashlib.md5(shorter).digest()).decode()
    client.put_object(Bucket=bucket, Key=o.key(first.name), Body=shorter, ContentMD5=md5)
    code, report = verdicts(capsys, f"s3://{bucket}", o, *store)
    lines = {ln["file"]: ln for ln in report["lines"]}
    assert lines[o.key(newest.name)]["verdict"] == "OK"  # behind the delete marker
    versions = [f for f in lines if f.startswith(o.key(first.name) + "?versionId=")]
    assert len(versions) == 2
    assert sorted(lines[f]["verdict"] for f in versions) == ["OK", "TAMPERED"]
    assert code == 3


def test_a_segment_freed_on_the_camera_but_not_in_the_bucket_is_missing_from_the_bucket(
    s3: S3, store: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bucket is the store of record: a ``freed`` event, which root on the camera can have
    the daemon sign, is the camera's word (OK in its directory, to be confirmed), and accounts
    for nothing the bucket does not hold, pinned or not."""
    cam = two_shifts(tmp_path / "cam")
    camera_signs(cam, freed(cam, 1))
    note = keep_cosigned(cam)
    o = Offloaded(cam, s3.bucket(), note, key_id(raw_public(cam.device_pub)).hex())
    send(cam, s3, o.bucket)
    first = cam.segments()[0]
    first.unlink()
    code, out, _ = run(capsys, "verify", str(cam.evidence), "--device-pub", o.pub)
    assert code == 0 and "freed (the camera's word): audit #3 event 0; confirm it with " in out
    bucket = copy(s3, o, skip=frozenset({o.key(first.name)}))  # never sent, or lost
    for pins in ([], ["--witness-pub", vkey()]):
        code, report = verdicts(capsys, f"s3://{bucket}", o, *store, *pins)
        assert code == 3
        missing = [ln["reason"] for ln in report["lines"] if ln["verdict"] == "MISSING"]
        assert "freed on the camera (audit #3 event 0), but not in the bucket" in missing
        if pins:  # and the checkpoint's listing does not count it as there either
            assert "withheld: covered by the checkpoint of 2027-01-15T08:00:00.000000Z" in missing


def test_one_more_version_of_the_listing_does_not_decide_the_verdict(
    offloaded: Offloaded, s3: S3, store: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Anyone who may put objects may put a new version of ``log/leaves`` (each offload run
    does): verify uses the longest version the checkpoints' roots agree with, and says which
    it did not use and why."""
    o = offloaded
    bucket = s3.bucket()
    send(o.cam, s3, bucket)
    key = f"{o.kid}/log/leaves"
    real = (o.cam.config.state_dir / LEAVES).read_bytes()
    bad = bytearray(real + real[-61:])  # one leaf more
    bad[60] ^= 1  # and another chain for the first
    md5 = base64.b64encode(hashlib.md5(bad).digest()).decode()
    put = s3.client().put_object(Bucket=bucket, Key=key, Body=bytes(bad), ContentMD5=md5)
    code, out, _ = run(
        capsys, "verify", f"s3://{bucket}", "--device-pub", o.pub, "--witness-pub", vkey(), *store
    )
    assert code == 0, out
    assert f"not used: {key}?versionId={put['VersionId']} (does not match the checkpoint of " in out
    assert "OK         checkpoint" in out and "overall: OK" in out


# --- export --------------------------------------------------------------------------------------


def test_export_from_the_bucket_makes_the_same_mp4s_as_from_the_directory(
    offloaded: Offloaded, store: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    o = offloaded
    keys = ["--agency-key", o.agency, "--device-pub", o.pub]
    code, _, err = run(capsys, "export", str(o.cam.evidence), *keys, "--out", str(tmp_path / "a"))
    assert code == 0, err
    where = f"s3://{o.bucket}"
    code, _, err = run(capsys, "export", where, *keys, *store, "--out", str(tmp_path / "b"))
    assert code == 0, err
    a = json.loads((tmp_path / "a" / "report.json").read_text())
    b = json.loads((tmp_path / "b" / "report.json").read_text())
    assert [x["sha256"] for x in a["outputs"]] == [x["sha256"] for x in b["outputs"]]
    assert len(a["outputs"]) == 2
    for x in b["outputs"]:
        probe = ffprobe(tmp_path / "b" / x["file"])
        assert int(probe["nb_read_frames"]) == x["frames"] > 0
    assert sorted(i["sha256"] for i in a["inputs"]) == sorted(i["sha256"] for i in b["inputs"])
    assert {i["file"] for i in b["inputs"]} == {o.key(i["file"]) for i in a["inputs"]}


def test_export_reads_the_verified_version_again_and_compares(
    offloaded: Offloaded,
    s3: S3,
    store: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Export's second read is a new GET: of the very version verified, in a versioned bucket
    (a version put over it meanwhile is not what the MP4 is made of); in a bucket without
    versions, of whatever the key holds then, which is compared with what was verified."""
    import recorder.export.exporter as exporter

    o = offloaded
    victim = o.key(o.cam.segments()[-1].name)
    client = s3.client()
    real_verify = exporter.verify_dir  # type: ignore[attr-defined]
    swap_into = ""

    def verify_then_swap(*args: Any, **kwargs: Any) -> Any:
        report = real_verify(*args, **kwargs)
        data = client.get_object(Bucket=swap_into, Key=victim)["Body"].read()
        cut = data[: len(data) // 2]
        md5 = base64.b64encode(hashlib.md5(cut).digest()).decode()
        client.put_object(Bucket=swap_into, Key=victim, Body=cut, ContentMD5=md5)
        return report

    monkeypatch.setattr(exporter, "verify_dir", verify_then_swap)
    keys = ["--agency-key", o.agency, "--device-pub", o.pub, *store]

    swap_into = s3.bucket()
    send(o.cam, s3, swap_into)
    code, _, err = run(capsys, "export", f"s3://{swap_into}", *keys, "--out", str(tmp_path / "v"))
    assert code == 0, err  # the version verified, not the one put after

    swap_into = copy(s3, o)  # no versions: the key's bytes are replaced
    code, _, _ = run(capsys, "export", f"s3://{swap_into}", *keys, "--out", str(tmp_path / "u"))
    assert code == 6
    report = json.loads((tmp_path / "u" / "report.json").read_text())
    (failed,) = [x for x in report["outputs"] if "error" in x]
    assert "changed between verification and export" in failed["error"]


# --- streaming -----------------------------------------------------------------------------------


def long_segment(root: Path) -> SimDevice:
    """A camera with a segment of about 15 MiB, in records of 0.2 s, about 600 KiB each."""
    cam = SimDevice.provision(root, recording={"record_interval_s": 0.2})
    camera = Camera(cam)
    camera.rec.input(InputEvent("record", True, 0.0))
    for i, f in enumerate(camera_frames(0, 150)):
        body = hashlib.sha256(i.to_bytes(4, "big")).digest() * (100 * 1024 // 32)
        camera.rec.frame(EncodedFrame(body, f.keyframe, f.timestamp_us))
    camera.shut_down()
    return cam


def test_verify_streams_each_object_and_never_holds_one_whole(s3: S3, tmp_path: Path) -> None:
    cam = long_segment(tmp_path)
    biggest = max(p.stat().st_size for p in cam.segments())
    assert biggest > 12 * 1024 * 1024
    bucket = s3.bucket()
    send(cam, s3, bucket)
    kid = key_id(raw_public(cam.device_pub)).hex()
    source = open_bucket(parse_url(f"s3://{bucket}"), kid, Store(), client=s3.client())
    tracemalloc.start()
    try:
        report = verify_dir(source, cam.device_pub)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.worst.value == "OK" and len(report.checks) >= 2
    # A record (1 s of video) plus the read-ahead buffer, never the object.
    assert peak < biggest / 3, (peak, biggest)


# --- errors --------------------------------------------------------------------------------------


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_missing_bucket_refused_credentials_and_no_answer_are_one_line_errors(
    offloaded: Offloaded,
    s3: S3,
    store: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    o = offloaded
    verify = ["verify", "--device-pub", o.pub]
    code, _, err = run(capsys, *verify, "s3://bodycam-no-such-bucket", *store)
    assert code == 4 and "bucket 'bodycam-no-such-bucket'" in one_line(err)
    assert "does not exist" in err

    wrong = tmp_path / "wrong"
    wrong.write_text(
        f"[default]\naws_access_key_id = {s3.credentials.access_key}\n"
        "aws_secret_access_key = not-the-secret\n"
    )
    wrong.chmod(0o600)
    code, _, err = run(
        capsys,
        *verify,
        f"s3://{o.bucket}",
        "--endpoint",
        s3.endpoint,
        "--credentials-file",
        str(wrong),
    )
    assert code == 4 and "refuses these credentials" in one_line(err)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    code, _, err = run(
        capsys,
        *verify,
        f"s3://{o.bucket}",
        "--endpoint",
        f"http://127.0.0.1:{port}",
        *store[2:],
    )
    assert code == 4 and "no answer" in one_line(err)


def test_the_device_key_must_be_the_one_the_url_names(
    offloaded: Offloaded,
    s3: S3,
    store: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    o = offloaded
    other = SimDevice.provision(tmp_path / "other")
    other_pub = str(other.config.state_dir / "device.pub")
    code, _, err = run(
        capsys, "verify", f"s3://{o.bucket}/{o.kid}", "--device-pub", other_pub, *store
    )
    assert code == 2 and f"is the evidence of device key id {o.kid}" in one_line(err)
    # Without a key id in the URL, --device-pub's is used: none here, and verify names whose is.
    code, out, _ = run(capsys, "verify", f"s3://{o.bucket}", "--device-pub", other_pub, *store)
    assert code == 4
    assert f"it holds evidence of device key id(s) {o.kid}" in out


def test_credentials_and_the_endpoint_come_from_the_environment(
    offloaded: Offloaded,
    s3: S3,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    o = offloaded
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "BODYCAM_S3_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BODYCAM_S3_REGION", s3.region)
    where = ["verify", f"s3://{o.bucket}", "--device-pub", o.pub]
    code, _, err = run(capsys, *where, "--endpoint", s3.endpoint)
    assert code == 4 and "no S3 credentials: give --credentials-file" in one_line(err)
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BODYCAM_S3_ENDPOINT", s3.endpoint)
    code, out, err = run(capsys, *where)
    assert code == 0, err
    assert "overall: OK" in out


# --- the command line, no store needed -----------------------------------------------------------


@pytest.fixture(scope="module")
def device_pub(tmp_path_factory: pytest.TempPathFactory) -> str:
    cam = SimDevice.provision(tmp_path_factory.mktemp("pub"))
    return str(cam.config.state_dir / "device.pub")


@given(rest=st.text(max_size=80))
@example(rest="")
@example(rest="Bucket")
@example(rest="ab")
@example(rest="bucket/a//b")
@example(rest="bucket/..")
@example(rest="user@bucket")
@example(rest="bucket:9000/x")
@example(rest="bucket/x?versionId=1")
@example(rest="192.168.1.1")
@example(rest="bucket/a\nb")
@example(rest="bucket/\udcff")
def test_any_s3_url_parses_or_gets_a_clear_refusal(rest: str) -> None:
    url = "s3://" + rest
    try:
        parsed = parse_url(url)
    except BadURL as e:
        assert "expected s3://BUCKET[/PREFIX][/KEY_ID]" in str(e)
        assert "\n" not in str(e)
        return
    assert parse_url(str(parsed)) == parsed
    assert 3 <= len(parsed.bucket) <= 63
    assert parsed.prefix == "" or parsed.prefix.endswith("/")
    assert all(p not in ("", ".", "..") for p in parsed.prefix.split("/")[:-1])


@given(rest=st.text(max_size=40).filter(lambda r: not _parses("s3://" + r)))
@example(rest="UPPER")
@example(rest="bucket/a\x1bb")
def test_a_bad_s3_url_exits_2_with_one_line(
    device_pub: str, rest: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["verify"], ["export", "--agency-key", device_pub, "--out", "/nonexistent"]):
        code, out, err = run(capsys, *command, "s3://" + rest, "--device-pub", device_pub)
        assert code == 2 and not out
        assert one_line(err).startswith(f"bodycam {command[0]}: ")


def _parses(url: str) -> bool:
    try:
        parse_url(url)
    except BadURL:
        return False
    return True


def test_bucket_options_with_a_directory_are_a_usage_error(
    device_pub: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "verify", str(tmp_path), "--device-pub", device_pub, "--endpoint", "http://x"
    )
    assert code == 2 and "--endpoint is for evidence in a bucket" in one_line(err)
    code, _, err = run(
        capsys, "verify", "s3://bucket", "--device-pub", device_pub, "--endpoint", "ftp://x"
    )
    assert code == 2 and "expected http(s)://HOST[:PORT]" in one_line(err)


_HOSTS = st.text(alphabet="abz09.-_[]:@/?#%\\ \n\x00é", max_size=24)


@settings(max_examples=examples(60), deadline=None)
@given(endpoint=st.text(max_size=40) | st.builds("http://{}".format, _HOSTS))
@example(endpoint="http://[::1")
@example(endpoint="http://[::1]:9000")
@example(endpoint="http://a_b")
@example(endpoint="http://h:99999")
@example(endpoint="http://h:0")
@example(endpoint="http://h:x")
@example(endpoint="http://h\n")
@example(endpoint="http://-h")
def test_any_endpoint_is_one_the_client_takes_or_a_clear_refusal(endpoint: str) -> None:
    """Whatever --endpoint (or $BODYCAM_S3_ENDPOINT) says: a BadArgument (exit 2) naming where
    it came from, on one line, or an endpoint the S3 client takes without complaint."""
    for given_, environ in ((endpoint, {}), (None, {"BODYCAM_S3_ENDPOINT": endpoint})):
        try:
            store = Store.of(given_, None, None, environ)
        except BadArgument as e:
            where = "--endpoint" if given_ is not None else "$BODYCAM_S3_ENDPOINT"
            assert str(e).startswith(f"{where} {endpoint[:200]!r}: ")
            assert "expected http(s)://HOST[:PORT]" in str(e) and "\n" not in str(e)
            continue
        make_client(store.endpoint, store.region, Credentials("id", "secret", None))


@settings(max_examples=examples(40), deadline=None)
@given(region=st.text(max_size=40) | st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True))
@example(region="bad region!")
@example(region="x_y")
@example(region="-")
@example(region="123")
@example(region="us-east-1\n")
def test_any_region_is_one_the_client_takes_or_a_clear_refusal(region: str) -> None:
    for given_, environ in ((region, {}), (None, {"BODYCAM_S3_REGION": region})):
        try:
            store = Store.of(None, given_, None, environ)
        except BadArgument as e:
            assert "not a region" in str(e) and "\n" not in str(e)
            continue
        assert store.region == (region or "us-east-1")
        make_client(store.endpoint, store.region, Credentials("id", "secret", None))


def test_a_bad_endpoint_or_region_exits_2_with_one_line(
    device_pub: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    verify = ["verify", "s3://bucket", "--device-pub", device_pub]
    code, out, err = run(capsys, *verify, "--endpoint", "http://[::1")
    assert code == 2 and not out
    assert one_line(err) == (
        "bodycam verify: --endpoint 'http://[::1': Invalid IPv6 URL "
        "(expected http(s)://HOST[:PORT])"
    )
    code, _, err = run(capsys, *verify, "--region", "bad region!")
    assert code == 2 and "--region 'bad region!': not a region" in one_line(err)
    monkeypatch.setenv("BODYCAM_S3_REGION", "x_y")
    code, _, err = run(capsys, *verify)
    assert code == 2 and "$BODYCAM_S3_REGION 'x_y': not a region" in one_line(err)


def test_the_evidence_library_and_export_do_not_import_boto3() -> None:
    """Reading a directory costs no S3 client: the bucket's is imported only for an s3:// URL."""
    code = (
        "import sys, recorder.evidence.chain, recorder.evidence.pinning, "
        "recorder.export.exporter, recorder.bucket.url\n"
        "print(sorted(m for m in sys.modules if m.startswith(('boto', 'recorder.bucket.so'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
