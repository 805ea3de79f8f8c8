"""Export never makes a hole look clean: a recording's verdict accounts for every segment that its
headers, its chain and the audit log name; a duplicate is taken once; a recording that cannot be
remuxed gives a non-zero exit.

The evidence is real: a simulated camera records a patrol (two recordings, six segments of real
H.264) once per module, and each test damages a copy of it the way an attacker or a bad copy would.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hal.camera import EncodedFrame
from hal.inputs import InputEvent
from recorder.cli import main
from recorder.evidence.audit import AuditLog
from recorder.evidence.chain import verify_dir
from recorder.evidence.header import Kind, Link, LinkState
from recorder.evidence.keys import (
    Ed25519Signer,
    load_agency_private,
    load_agency_public,
    load_device_private,
)
from recorder.evidence.media import STREAM_VIDEO, decode_frames, encode_frames
from recorder.evidence.reader import Verdict, decrypt_file
from recorder.evidence.state import EvidenceStream, write_json_atomic
from recorder.export.recordings import plan
from tests.h264 import make_h264_frames
from tests.profiles import examples
from tests.simdevice import SimDevice, scenario
from tests.test_mp4 import ffprobe, ffprobe_tags
from tests.test_power_loss import Camera
from tests.vectors.generate import record_offsets

from .conftest import Device

FPS = 15


@dataclass
class Patrol:
    """A camera's recorded patrol, never changed: tests damage copies of its evidence."""

    cam: SimDevice
    records: dict[int, list[list[int]]]
    """seq -> the video pts of its frames, record by record."""
    recording: dict[int, str]
    """seq -> the recording_id in its header."""
    foreign: Path
    """Segment #2 of another camera (same agency, different device key)."""
    removed: frozenset[int] = frozenset()
    """Segments removed while the camera was off, before it recovered at its next start."""

    @property
    def pts(self) -> dict[int, list[int]]:
        """seq -> the video pts of its frames."""
        return {s: [t for rec in recs for t in rec] for s, recs in self.records.items()}

    @property
    def seqs(self) -> list[int]:
        return sorted(self.records)

    def of(self, rid: str) -> list[int]:
        return [s for s in self.seqs if self.recording[s] == rid]

    def copy(self, into: Path) -> Path:
        evidence = into / "evidence"
        shutil.copytree(self.cam.evidence, evidence)
        for p in evidence.iterdir():
            p.chmod(0o600)
        return evidence

    def export(
        self, evidence: Path, out: Path, *, force: bool = True
    ) -> tuple[int, dict[str, Any]]:
        code = main(
            [
                "export",
                str(evidence),
                "--agency-key",
                str(self.cam.root / "keys" / "agency.key"),
                "--device-pub",
                str(self.cam.root / "state" / "device.pub"),
                "--out",
                str(out),
                *(["--force"] if force else []),
            ]
        )
        report = json.loads((out / "report.json").read_text())
        return code, report

    def verify(self, evidence: Path) -> int:
        return main(
            ["verify", str(evidence), "--device-pub", str(self.cam.root / "state" / "device.pub")]
        )


def _foreign_segment(root: Path, agency_pub: Path) -> Path:
    """Segment #2 of a camera with its own device key, recorded for the same agency."""
    key = Ed25519PrivateKey.generate()
    evidence, state = root / "evidence", root / "state"
    evidence.mkdir(parents=True)
    state.mkdir()
    stream = EvidenceStream(
        evidence,
        state,
        Kind.MEDIA,
        Ed25519Signer(key),
        key.public_key(),
        recipients=(load_agency_public(agency_pub),),
    )
    for part in (1, 2):
        f = stream.open({"recording_id": "elsewhere", "part": part})
        f.append(encode_frames(make_h264_frames(15, gop=15, start_pts_us=part * 10**6)))
        stream.close({"frames": 15})
    return evidence / "segment-00000002.bcam"


@pytest.fixture(scope="module")
def patrol(tmp_path_factory: pytest.TempPathFactory) -> Patrol:
    root = tmp_path_factory.mktemp("patrol")
    cam = SimDevice.provision(root / "cam")
    cam.run(
        scenario(
            root / "patrol.toml",
            70,
            """
            [[step]]
            at = 10.0
            do = "press"
            input = "record"
            [[step]]
            at = 10.2
            do = "release"
            input = "record"
            [[step]]
            at = 38.0
            do = "hold"
            input = "record"
            seconds = 3.5
            [[step]]
            at = 50.0
            do = "press"
            input = "record"
            [[step]]
            at = 50.2
            do = "release"
            input = "record"
            [[step]]
            at = 60.0
            do = "hold"
            input = "record"
            seconds = 3.5
            """,
        )
    )
    foreign = _foreign_segment(root / "other", cam.root / "keys" / "agency.pub")
    p = _patrol(cam, foreign)
    first, second = p.of(p.recording[1]), p.of(p.recording[6])
    assert first == [1, 2, 3, 4] and second == [5, 6], p.recording  # what the tests rely on
    return p


def _patrol(cam: SimDevice, foreign: Path, removed: frozenset[int] = frozenset()) -> Patrol:
    agency = load_agency_private(cam.root / "keys" / "agency.key")
    records, recording = {}, {}
    for seg in cam.segments():
        seq = int(seg.stem.split("-")[1])
        with seg.open("rb") as f:
            _, plaintexts = decrypt_file(f, cam.device_pub, agency)
            records[seq] = [
                [fr.pts_us for fr in decode_frames(pt) if fr.stream == STREAM_VIDEO]
                for pt in plaintexts
            ]
        recording[seq] = cam.header(seg)["recording_id"]
    return Patrol(cam, records, recording, foreign, removed)


@pytest.fixture(scope="module")
def cut_patrol(tmp_path_factory: pytest.TempPathFactory, patrol: Patrol) -> Patrol:
    """A patrol cut short by a power cut during its third segment, which is removed while the
    camera is off; at its next start the camera resumes recording (segments 4 and 5)."""
    root = tmp_path_factory.mktemp("cut-patrol")
    cam = SimDevice.provision(root / "cam")
    camera = Camera(cam)
    camera.rec.input(InputEvent("record", True, 0.0))
    camera.rec.input(InputEvent("record", False, 0.2))
    for fr in make_h264_frames(25 * FPS, fps=FPS, gop=FPS):
        camera.rec.frame(EncodedFrame(fr.data, fr.keyframe, fr.pts_us))
    camera.cut()
    (cam.evidence / "segment-00000003.bcam").unlink()
    camera = Camera(cam)  # recovers, and records again by itself
    for fr in make_h264_frames(15 * FPS, fps=FPS, gop=FPS, counter_start=25 * FPS):
        camera.rec.frame(EncodedFrame(fr.data, fr.keyframe, fr.pts_us))
    camera.shut_down()
    p = _patrol(cam, patrol.foreign, frozenset({3}))
    resumed = p.recording[4]
    assert p.seqs == [1, 2, 4, 5] and p.of(resumed) == [4, 5], p.recording
    return p


def _kept_records(patrol: Patrol, seq: int) -> int:
    """How many records of #seq a truncated copy keeps: its first half, and never its FINAL."""
    return max(1, len(patrol.records[seq]) // 2)


def _hole(evidence: Path, seq: int, how: str, patrol: Patrol) -> None:
    path = evidence / f"segment-{seq:08d}.bcam"
    if how == "deleted":
        path.unlink()
    elif how == "renamed":
        path.rename(evidence / f"renamed-{seq}.bcam")
    elif how == "truncated":
        blob = path.read_bytes()
        path.write_bytes(blob[: record_offsets(blob)[_kept_records(patrol, seq)]])
    elif how == "foreign":
        shutil.copyfile(patrol.foreign, path)
    elif how == "header tampered":
        blob = bytearray(path.read_bytes())
        blob[len(b"bodycam/v1\n") + 4 + 40] ^= 1  # inside the signed header body: its prev link
        path.write_bytes(bytes(blob))
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["deleted", "foreign", "header tampered"])
def test_a_hole_marks_the_file_and_the_report_gives_its_time_range(
    patrol: Patrol, tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    evidence = patrol.copy(tmp_path)
    _hole(evidence, 2, how, patrol)
    code, report = patrol.export(evidence, tmp_path / "out")
    printed = capsys.readouterr().out
    assert code == patrol.verify(evidence) == 3

    first, second = report["outputs"]
    assert first["segments"] == [1, 3, 4] and first["belongs"] == [1, 4]
    assert first["verdict"] == "MISSING"
    assert first["file"].endswith(".FORCED-MISSING.mp4")
    [hole] = first["holes"]
    assert (hole["first"], hole["last"], hole["kind"]) == (2, 2, "missing")
    assert "the audit log's segment_open" in hole["known_by"]
    assert "the part number in #3's header" in hole["known_by"]
    if how != "deleted":
        assert "segment-00000002.bcam is here but" in hole["found"]
    # the time range comes from the signed frame timestamps on either side
    start = patrol.pts[1][0]
    assert hole["from_device_us"] == patrol.pts[1][-1]
    assert hole["to_device_us"] == patrol.pts[3][0]
    assert hole["timed_by"] == "from the last frame of #1 to the first frame of #3"
    assert hole["gap_s"] == pytest.approx((patrol.pts[3][0] - patrol.pts[1][-1]) / 1e6)
    assert hole["gap_s"] > 9  # a whole 10 s segment
    assert hole["from"] < hole["to"]  # the device's wall clock, RFC 3339
    assert hole["in_file_s"] == pytest.approx(
        [(patrol.pts[1][-1] - start) / 1e6, (patrol.pts[3][0] - start) / 1e6]
    )

    probe = ffprobe(tmp_path / "out" / first["file"])
    kept = sum(len(patrol.pts[s]) for s in (1, 3, 4))
    assert int(probe["nb_read_frames"]) == kept == first["frames"]
    assert float(probe["duration"]) == pytest.approx(
        (patrol.pts[4][-1] - start) / 1e6 + 1 / FPS, abs=1 / FPS
    )

    assert (
        "verdict MISSING; missing #2" in ffprobe_tags(tmp_path / "out" / first["file"])["comment"]
    )

    assert f"MISSING    {first['file']}" in printed
    at, until = hole["in_file_s"]
    assert f"segment #2 missing at {at:.1f}-{until:.1f} s in the file, {hole['gap_s']:.1f} s" in (
        printed
    )

    text = (tmp_path / "out" / "report.txt").read_text()
    assert first["file"] in text
    assert "MISSING:      segment #2" in text
    assert "timed by:    from the last frame of #1 to the first frame of #3" in text

    # the other recording is whole, and says so
    assert second["verdict"] == "OK" and second["holes"] == []
    assert "FORCED" not in second["file"]


def test_without_the_audit_log_the_headers_still_name_the_holes(
    patrol: Patrol, tmp_path: Path
) -> None:
    evidence = patrol.copy(tmp_path)
    for p in evidence.glob("audit-*.bcam"):
        p.unlink()
    _hole(evidence, 2, "deleted", patrol)
    _hole(evidence, 4, "deleted", patrol)  # the first recording's tail, before #5
    code, report = patrol.export(evidence, tmp_path / "out")
    assert code == 3
    first = report["outputs"][0]
    assert first["file"].endswith(".FORCED-MISSING.mp4")
    two, four = first["holes"]
    assert (two["first"], two["last"]) == (2, 2)
    assert two["known_by"] == "the part number in #3's header"
    assert (four["first"], four["last"]) == (4, 4)
    # #5 is part 1 of the next recording, so #4 can only have been this one's tail (or a whole
    # recording of its own): it is charged here rather than dropped
    assert four["known_by"].startswith("following #3")
    assert four["from_device_us"] == patrol.pts[3][-1]
    assert four["to_device_us"] is None and four["gap_s"] is None
    assert four["timed_by"] == "from the last frame of #3 to nothing signed"
    assert report["outputs"][1]["verdict"] == "OK"


def test_the_audit_log_names_a_lost_tail_and_a_lost_recording(
    patrol: Patrol, tmp_path: Path
) -> None:
    evidence = patrol.copy(tmp_path)
    for seq in (4, 5, 6):  # the first recording's last part and the whole second recording
        _hole(evidence, seq, "deleted", patrol)
    code, report = patrol.export(evidence, tmp_path / "out")
    assert code == 3  # footage is missing; nothing failed to remux
    first, second = report["outputs"]
    assert first["file"].endswith(".FORCED-MISSING.mp4")
    [tail] = first["holes"]
    assert (tail["first"], tail["last"]) == (4, 4)
    assert tail["timed_by"] == "from the last frame of #3 to the audit log's segment_close of #4"
    assert tail["from_device_us"] == patrol.pts[3][-1] < tail["to_device_us"]

    assert "file" not in second and second["verdict"] == "MISSING"
    assert second["error"] == "none of its segments (#5-6) is here"
    [lost] = second["holes"]
    assert (lost["first"], lost["last"]) == (5, 6)
    assert lost["timed_by"] == (
        "from the audit log's segment_open of #5 to the audit log's segment_close of #6"
    )
    assert lost["from_device_us"] < lost["to_device_us"]
    assert report["failed"] == []


def test_a_hole_no_signed_source_ties_to_a_recording_is_reported_on_its_own(
    patrol: Patrol, tmp_path: Path
) -> None:
    evidence = patrol.copy(tmp_path)
    for p in evidence.glob("audit-*.bcam"):
        p.unlink()
    for seq in (1, 2, 3, 4):
        _hole(evidence, seq, "deleted", patrol)
    code, report = patrol.export(evidence, tmp_path / "out")
    assert code == 3
    [only] = report["outputs"]
    assert only["segments"] == [5, 6] and only["verdict"] == "OK"
    [hole] = report["unattributed_holes"]
    assert (hole["first"], hole["last"], hole["known_by"]) == (1, 4, "the numbering of the chain")
    assert hole["to_device_us"] == patrol.pts[5][0]
    assert "Missing segments tied to no recording" in (tmp_path / "out" / "report.txt").read_text()


def test_a_segment_cut_short_is_a_hole_with_its_time_range(patrol: Patrol, tmp_path: Path) -> None:
    evidence = patrol.copy(tmp_path)
    seg = evidence / "segment-00000002.bcam"
    blob = bytearray(seg.read_bytes())
    blob[len(blob) // 2] ^= 1  # a record in the middle no longer verifies
    seg.write_bytes(bytes(blob))
    code, report = patrol.export(evidence, tmp_path / "out")
    assert code == 3
    first = report["outputs"][0]
    assert first["segments"] == [1, 2, 3, 4]
    assert first["file"].endswith(".FORCED-TAMPERED.mp4")
    [cut] = first["holes"]
    assert (cut["first"], cut["kind"]) == (2, "cut")
    assert cut["from_device_us"] in patrol.pts[2][1:-1]
    assert cut["to_device_us"] == patrol.pts[3][0]
    assert cut["timed_by"].startswith("from the last frame of #2 to the first frame of #3")
    probe = ffprobe(tmp_path / "out" / first["file"])
    assert (
        int(probe["nb_read_frames"])
        == first["frames"]
        < sum(len(patrol.pts[s]) for s in (1, 2, 3, 4))
    )


def test_a_duplicated_segment_is_taken_once(patrol: Patrol, tmp_path: Path) -> None:
    evidence = patrol.copy(tmp_path)
    shutil.copyfile(evidence / "segment-00000002.bcam", evidence / "segment-00000002-copy.bcam")
    code, report = patrol.export(evidence, tmp_path / "out")
    assert code == patrol.verify(evidence) != 0  # the directory is not as the camera left it
    first = report["outputs"][0]
    assert first["segments"] == [1, 2, 3, 4] and first["holes"] == []
    assert first["verdict"] == "OK" and "FORCED" not in first["file"]
    assert any("is a copy" in n for n in first["notes"])
    probe = ffprobe(tmp_path / "out" / first["file"])
    assert int(probe["nb_read_frames"]) == sum(len(patrol.pts[s]) for s in (1, 2, 3, 4))


def test_a_second_signed_file_for_one_seq_is_tampering_and_the_linked_one_is_exported(
    patrol: Patrol, tmp_path: Path
) -> None:
    """The device key signed two different #2s (a stolen key, or state restored from a backup):
    the one #3's signed link names is the real one, even when the other has more records."""
    evidence = patrol.copy(tmp_path)
    state = tmp_path / "rogue-state"
    state.mkdir()
    write_json_atomic(
        state / "media.chain.json",
        {"next_seq": 2, "open": None, "last": Link(LinkState.CLOSED, 1, bytes(16), 1).to_json()},
    )
    rogue_dir = tmp_path / "rogue"
    rogue_dir.mkdir()
    key = load_device_private(patrol.cam.root / "state" / "device.key")
    stream = EvidenceStream(
        rogue_dir,
        state,
        Kind.MEDIA,
        Ed25519Signer(key),
        key.public_key(),
        recipients=(patrol.cam.agency_pub(),),
    )
    f = stream.open({"recording_id": patrol.recording[2], "part": 2})
    frames = make_h264_frames(30, gop=15, start_pts_us=patrol.pts[2][0])
    for i in range(len(frames)):  # one frame a record: more records than the real #2
        f.append(encode_frames(frames[i : i + 1]))
    stream.close({"frames": len(frames)})
    shutil.copyfile(rogue_dir / "segment-00000002.bcam", evidence / "segment-00000002-alt.bcam")

    code, report = patrol.export(evidence, tmp_path / "out")
    assert code == 3
    first = report["outputs"][0]
    assert first["verdict"] == "TAMPERED" and first["file"].endswith(".FORCED-TAMPERED.mp4")
    assert any("both verify as #2; exported segment-00000002.bcam" in r for r in first["reasons"])
    probe = ffprobe(tmp_path / "out" / first["file"])
    assert int(probe["nb_read_frames"]) == sum(len(patrol.pts[s]) for s in (1, 2, 3, 4))


def _record_without_keyframes(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two recordings signed by a provisioned device; the second has no keyframe at all, so it
    verifies but cannot be remuxed."""
    cam = SimDevice.provision(tmp_path / "cam")
    state, evidence = cam.root / "state", cam.evidence
    evidence.mkdir()
    key = load_device_private(state / "device.key")
    stream = EvidenceStream(
        evidence,
        state,
        Kind.MEDIA,
        Ed25519Signer(key),
        key.public_key(),
        recipients=(cam.agency_pub(),),
    )
    for rid, start in (("good", 0), ("headless", 10**7)):
        frames = make_h264_frames(30, gop=15, start_pts_us=start)
        if rid == "headless":
            frames = [fr for fr in frames if not fr.keyframe]
        f = stream.open({"recording_id": rid, "part": 1})
        f.append(encode_frames(frames))
        stream.close({"frames": len(frames)})
    return evidence, cam.root / "keys" / "agency.key", state / "device.pub"


def test_a_recording_that_cannot_be_remuxed_gives_exit_6(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evidence, agency, device_pub = _record_without_keyframes(tmp_path)
    assert main(["verify", str(evidence), "--device-pub", str(device_pub)]) == 0
    out = tmp_path / "out"
    args = ["--agency-key", str(agency), "--device-pub", str(device_pub), "--out", str(out)]
    capsys.readouterr()
    assert main(["export", str(evidence), *args]) == 6
    err = capsys.readouterr().err
    assert "1 recording(s) not exported: headless" in err
    report = json.loads((out / "report.json").read_text())
    assert report["failed"] == ["headless"]
    good, headless = report["outputs"]
    assert int(ffprobe(out / good["file"])["nb_read_frames"]) == 30
    assert "file" not in headless and "no keyframe" in headless["error"]
    assert not list(out.glob("*headless*.mp4"))
    assert "NOT EXPORTED (see the errors above): headless" in (out / "report.txt").read_text()


def test_a_forced_export_of_tampered_evidence_exits_3_even_when_a_recording_fails(
    tmp_path: Path,
) -> None:
    """6 says a recording could not be written; it must not hide tampering (3)."""
    evidence, agency, device_pub = _record_without_keyframes(tmp_path)
    shutil.copyfile(evidence / "segment-00000001.bcam", evidence / "copy.bcam")
    out = tmp_path / "out"
    args = ["--agency-key", str(agency), "--device-pub", str(device_pub), "--out", str(out)]
    assert main(["verify", str(evidence), "--device-pub", str(device_pub)]) == 3
    assert main(["export", str(evidence), *args, "--force"]) == 3
    assert json.loads((out / "report.json").read_text())["failed"] == ["headless"]


# -- the property: whatever is taken away or added, no hole looks clean ------------------------

_DAMAGE = st.sampled_from(
    [
        "keep",
        "keep",
        "deleted",
        "foreign",
        "header tampered",
        "duplicated",
        "truncated",
        "renamed",
    ]
)
_INTACT = ("keep", "duplicated", "truncated", "renamed")
"""Damage that leaves a segment's signed header, and so its link to its predecessor."""


@settings(max_examples=examples(16))
@given(
    damage=st.lists(_DAMAGE, min_size=6, max_size=6),
    keep_audit=st.booleans(),
    cut=st.booleans(),
)
@example(damage=["keep", "keep", "keep", "deleted", "keep", "deleted"], keep_audit=False, cut=False)
@example(
    damage=["deleted", "duplicated", "keep", "keep", "deleted", "keep"], keep_audit=True, cut=False
)
@example(damage=["keep"] * 6, keep_audit=True, cut=True)  # removed before recovery, nothing else
@example(
    damage=["truncated", "renamed", "keep", "truncated", "keep", "keep"],
    keep_audit=False,
    cut=False,
)
def test_no_hole_ever_exports_clean(
    patrol: Patrol, cut_patrol: Patrol, damage: list[str], keep_audit: bool, cut: bool
) -> None:
    patrol = cut_patrol if cut else patrol
    damage = damage[: len(patrol.seqs)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        evidence = patrol.copy(root)
        if not keep_audit:
            for p in evidence.glob("audit-*.bcam"):
                p.unlink()
        for seq, how in zip(patrol.seqs, damage, strict=True):
            if how == "duplicated":
                shutil.copyfile(
                    evidence / f"segment-{seq:08d}.bcam", evidence / f"segment-{seq:08d}-dup.bcam"
                )
            elif how != "keep":
                _hole(evidence, seq, how, patrol)
        code, report = patrol.export(evidence, root / "out")

        done = dict(zip(patrol.seqs, damage, strict=True))
        kept = {s for s, how in done.items() if how in _INTACT and how != "truncated"}
        truncated = {s for s, how in done.items() if how == "truncated"}
        intact = kept | truncated
        lost = (set(patrol.seqs) - intact) | patrol.removed
        # With the audit log every segment is named; without it, losing the newest segments of the
        # stream looks like the camera having stopped there, a segment removed before the camera
        # recovered looks like a number reserved and never written while the next file's recovery
        # note is here, and a newest segment cut short looks like a power cut
        # (docs/verify-and-export.md, docs/evidence-format.md section 8).
        if keep_audit:
            visible, cut_visible = lost, truncated
        else:
            visible = {s for s in lost if any(k > s for k in intact)}
            visible -= {s for s in patrol.removed if s + 1 in intact}
            cut_visible = {s for s in truncated if s + 1 in intact}

        holes: dict[int, dict[str, Any] | None] = {}
        cuts: dict[int, dict[str, Any]] = {}
        for o in report["outputs"]:
            for h in o["holes"]:
                for s in range(h["first"], h["last"] + 1):
                    (cuts if h["kind"] == "cut" else holes)[s] = o
        for h in report["unattributed_holes"]:
            for s in range(h["first"], h["last"] + 1):
                holes[s] = None
        assert visible <= holes.keys() <= lost
        assert cut_visible <= cuts.keys() <= truncated
        for o in [*holes.values(), *cuts.values()]:
            if o is not None:
                assert o["verdict"] in ("MISSING", "TAMPERED")
                assert "file" not in o or ".FORCED-" in o["file"]

        exported = [s for o in report["outputs"] for s in o["segments"]]
        assert sorted(exported) == sorted(intact)  # each taken once
        for o in report["outputs"]:
            if o["segments"]:
                assert o["frames"] == sum(_frames(patrol, s, s in truncated) for s in o["segments"])
            if o["verdict"] == "OK":
                assert "FORCED" not in o["file"]
        assert report["failed"] == []
        assert code == patrol.verify(evidence)  # nothing failed to remux: verification decides


def _frames(patrol: Patrol, seq: int, truncated: bool) -> int:
    recs = patrol.records[seq][: _kept_records(patrol, seq)] if truncated else patrol.records[seq]
    return sum(len(r) for r in recs)


# -- bad input: whatever a signed audit log claims, verified footage is exported once -----------

_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=2**64),
    st.text(max_size=8),
    st.lists(st.integers(min_value=-3, max_value=2**64), max_size=4),
)
_EVENT = st.fixed_dictionaries(
    {
        "event": st.sampled_from(["segment_open", "segment_close", "record_stop", "boot"]),
        "seq": st.one_of(st.integers(min_value=1, max_value=8), _ANY),
        "recording_id": st.one_of(st.sampled_from(["r", "q"]), _ANY),
        "segments": st.one_of(st.lists(st.integers(min_value=1, max_value=8), max_size=4), _ANY),
        "mono_us": _ANY,
        "wall": _ANY,
    }
)


@settings(max_examples=examples(25))
@given(events=st.lists(_EVENT, max_size=6), mono_start=st.integers(-(2**62), 2**62))
@example(
    events=[
        {
            "event": "segment_open",
            "seq": 2**64,
            "recording_id": "q",
            "segments": None,
            "mono_us": None,
            "wall": None,
        }
    ],
    mono_start=0,
)
@example(  # a hole after #2 is timed from its last frame, with a clock offset beyond any year
    events=[
        {
            "event": "segment_open",
            "seq": 3,
            "recording_id": "r",
            "segments": None,
            "mono_us": None,
            "wall": None,
        }
    ],
    mono_start=-(2**62),
)
def test_no_audit_claim_drops_or_doubles_verified_footage(
    tmp_path: Path, events: list[dict[str, Any]], mono_start: int
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        root = Path(tmp)
        cam = SimDevice.provision(root / "cam")
        key = load_device_private(cam.root / "state" / "device.key")
        cam.evidence.mkdir()
        signer = Ed25519Signer(key)
        media = EvidenceStream(
            cam.evidence,
            cam.root / "state",
            Kind.MEDIA,
            signer,
            key.public_key(),
            recipients=(cam.agency_pub(),),
        )
        for part in (1, 2):
            f = media.open(
                {
                    "recording_id": "r",
                    "part": part,
                    "clock_set": True,
                    "mono_start_us": mono_start,
                    "wall_start": "2026-11-28T12:00:00.000000Z",
                }
            )
            f.append(encode_frames(make_h264_frames(15, gop=15, start_pts_us=part * 10**6)))
            media.close({"frames": 15})
        audit = EvidenceStream(
            cam.evidence, cam.root / "state", Kind.AUDIT, signer, key.public_key()
        )
        f = audit.open({"device_id": "BC-TEST", "boot_id": "b"})
        for n, e in enumerate(events):
            f.append(json.dumps({"n": n, **e}).encode())
        audit.close({"frames": len(events)})

        out = root / "out"
        code = main(
            [
                "export",
                str(cam.evidence),
                "--agency-key",
                str(cam.root / "keys" / "agency.key"),
                "--device-pub",
                str(cam.root / "state" / "device.pub"),
                "--out",
                str(out),
                "--force",
            ]
        )
        assert code in (0, 1, 3)
        report = json.loads((out / "report.json").read_text())
        assert sorted(s for o in report["outputs"] for s in o["segments"]) == [1, 2]
        [mine] = [o for o in report["outputs"] if o["segments"]]
        assert mine["frames"] == 30
        if mine["holes"]:
            assert ".FORCED-" in mine["file"]
        (out / "report.txt").read_text()


@pytest.mark.parametrize("how", ["never written", "removed before recovery", "removed after"])
def test_a_number_reserved_but_never_written_is_no_hole(
    tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cut between reserving #2 and writing its header wastes the number: #3's recovery note
    says so (TORN, 0 records, no chain), and nothing is missing. Had #2's header been written, the
    file existed and its loss is a hole: removed afterwards, #3's note names its header; removed
    while the camera was off, the note is the same as for a number never written, but the audit
    log saw #2 opened, and export holds to the verifier's decision."""
    cam = SimDevice.provision(tmp_path / "cam")
    state, evidence = cam.root / "state", cam.evidence
    evidence.mkdir()
    key = load_device_private(state / "device.key")

    def streams() -> tuple[EvidenceStream, AuditLog]:
        media = EvidenceStream(
            evidence,
            state,
            Kind.MEDIA,
            Ed25519Signer(key),
            key.public_key(),
            recipients=(cam.agency_pub(),),
        )
        audit = EvidenceStream(evidence, state, Kind.AUDIT, Ed25519Signer(key), key.public_key())
        return media, AuditLog(audit, {"device_id": "BC-TEST", "boot_id": "b"})

    media, log = streams()
    frames = make_h264_frames(30, gop=15)
    f = media.open({"recording_id": "a", "part": 1})
    log.log("segment_open", wall=1.8e9, mono_us=0, seq=1, recording_id="a", part=1)
    f.append(encode_frames(frames[:15]))
    media.close({"frames": 15})
    f = media.open({"recording_id": "a", "part": 2})  # #2: reserved, header written
    if how != "never written":  # the camera logs segment_open once the header is durable
        log.log("segment_open", wall=1.8e9, mono_us=1, seq=2, recording_id="a", part=2)
    f.abandon()  # the power is cut here
    assert log.stream.current is not None
    log.stream.current.abandon()
    if how != "removed after":
        (evidence / "segment-00000002.bcam").unlink()  # cut before the header, or removed
    media, log = streams()
    link = media.recover()  # the next start
    log.stream.recover()
    assert link is not None and link.records == 0
    f = media.open({"recording_id": "b", "part": 1})
    log.log("segment_open", wall=1.8e9, mono_us=2, seq=3, recording_id="b", part=1)
    f.append(encode_frames(frames[15:]))
    media.close({"frames": 15})
    log.close(wall=1.8e9, reason="shutdown")
    if how == "removed after":
        (evidence / "segment-00000002.bcam").unlink()  # deleted afterwards

    out = tmp_path / "out"
    args = [
        "--agency-key",
        str(cam.root / "keys" / "agency.key"),
        "--device-pub",
        str(state / "device.pub"),
    ]
    capsys.readouterr()
    unforced = main(["export", str(evidence), *args, "--out", str(tmp_path / "unforced")])
    err = capsys.readouterr().err
    assert unforced == (1 if how == "never written" else 3)  # audit #1 was torn by the cut
    if how == "removed after":  # #3's note names #2's header hash: the verifier sees the gap
        assert "MISSING    segment #2       -  (gap in the chain)" in err
    if how == "removed before recovery":
        assert "MISSING    segment #2       -  (#3's recovery note found no header, yet " in err
    code = main(["export", str(evidence), "--force", *args, "--out", str(out)])
    report = json.loads((out / "report.json").read_text())
    a, b = report["outputs"]
    assert b["verdict"] == "OK" and b["holes"] == []
    if how == "never written":
        assert a["holes"] == [] and "FORCED" not in a["file"]
    else:
        assert code == main(["verify", str(evidence), "--device-pub", str(state / "device.pub")])
        assert a["file"].endswith(".FORCED-MISSING.mp4")
        [hole] = a["holes"]
        assert (hole["first"], hole["last"]) == (2, 2)


def test_a_copy_shorter_than_another_verified_copy_is_never_exported_as_whole(
    device: Device,
) -> None:
    """The verifier takes the copy that verifies further, so export gets the whole segment. Were
    it ever handed the shorter of two copies of one file, the records the other proves are gone
    from the export: a cut hole, and the recording is marked."""
    device.write_segments(1, records=4, audit=False)
    own = device.evidence / "segment-00000001.bcam"
    shutil.copy(own, device.evidence / "whole.bcam")
    blob = own.read_bytes()
    own.chmod(0o600)
    own.write_bytes(blob[: record_offsets(blob)[2]])  # 2 of its 4 records, no FINAL
    report = verify_dir(device.evidence, device.pub)
    [rec] = plan(report).recordings
    assert [s.name for s in rec.segments] == ["whole.bcam"] and rec.holes == []

    for c in report.checks:  # what a verifier that took the camera's name first once said
        c.duplicate = c.name == "whole.bcam"
        if not c.duplicate:
            c.outcome.verdict = Verdict.INCOMPLETE
            c.outcome.reason = "power cut: 2 of 2 records valid, no FINAL record"
    [rec] = plan(report).recordings
    assert [s.name for s in rec.segments] == ["segment-00000001.bcam"]
    [hole] = rec.holes
    assert (hole.first, hole.last, hole.cut) == (1, 1, True)
    assert hole.found == "exported segment-00000001.bcam, but whole.bcam verifies further"
    assert rec.verdict is Verdict.TAMPERED


def test_a_segment_changed_between_verification_and_export_is_not_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Export reads each segment twice, to judge it and to make the MP4: the second read must
    be the file the first judged, or the recording is not exported."""
    import recorder.export.exporter as exporter
    from tests.test_streams_link import two_shifts

    cam = two_shifts(tmp_path / "cam")
    real_verify = exporter.verify_dir
    victim = cam.segments()[-1]

    def verify_then_swap(*args: Any, **kwargs: Any) -> Any:
        report = real_verify(*args, **kwargs)
        data = victim.read_bytes()
        victim.chmod(0o640)
        victim.write_bytes(data[: len(data) // 2])  # swapped under export's feet
        return report

    monkeypatch.setattr(exporter, "verify_dir", verify_then_swap)
    out = tmp_path / "out"
    keys = ["--agency-key", str(cam.root / "keys/agency.key")]
    pub = ["--device-pub", str(cam.config.state_dir / "device.pub")]
    assert main(["export", str(cam.evidence), *keys, *pub, "--out", str(out)]) == 6
    report = json.loads((out / "report.json").read_text())
    failed = [o for o in report["outputs"] if "error" in o]
    assert len(failed) == 1 and "changed between verification and export" in failed[0]["error"]
