"""End to end through the ``bodycam`` command: keygen, provision, verify and export to MP4."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
from pathlib import Path

import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.cli import main
from recorder.evidence.header import Kind
from recorder.evidence.keys import Ed25519Signer, load_agency_public, load_device_private
from recorder.evidence.media import encode_frames
from recorder.evidence.state import EvidenceStream
from tests.h264 import make_h264_frames, read_counter
from tests.profiles import examples
from tests.test_mp4 import ffprobe


def keygen_and_provision(tmp_path: Path) -> Path:
    """The agency makes its key; the device is provisioned with it. Returns the keys folder."""
    out = tmp_path / "keys"
    assert main(["keygen", "agency", "--out", str(out)]) == 0
    assert (
        main(
            [
                "provision",
                "--state",
                str(tmp_path / "state"),
                "--agency-pub",
                str(out / "agency.pub"),
            ]
        )
        == 0
    )
    return out


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    return keygen_and_provision(tmp_path)


def record(tmp_path: Path, recordings: list[list[int]]) -> Path:
    """Write recordings with the provisioned device: each a list of segment lengths in frames."""
    state, evidence = tmp_path / "state", tmp_path / "evidence"
    evidence.mkdir(exist_ok=True)
    key = load_device_private(state / "device.key")
    agency = load_agency_public(next((state / "recipients").glob("*.pub")))
    stream = EvidenceStream(
        evidence, state, Kind.MEDIA, Ed25519Signer(key), key.public_key(), recipients=(agency,)
    )
    counter = 0
    for r, parts in enumerate(recordings):
        for p, n in enumerate(parts):
            frames = make_h264_frames(
                n, gop=15, start_pts_us=counter * 33_333, counter_start=counter
            )
            f = stream.open(
                {
                    "recording_id": f"rec{r}",
                    "part": p + 1,
                    "trigger": "button",
                    "wall_start": "2026-11-28T12:00:00.000000Z",
                    "clock_set": True,
                    "device_id": "BC-1",
                }
            )
            for i in range(0, n, 15):  # one record per keyframe interval
                f.append(encode_frames(frames[i : i + 15]))
            stream.close({"frames": n})
            counter += n
        counter += 1000  # a gap between recordings
    return evidence


def test_keys_are_private_and_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = keygen_and_provision(tmp_path)
    out = capsys.readouterr().out
    for path in (keys / "agency.key", tmp_path / "state" / "device.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        body = "".join(path.read_text().splitlines()[1:-1])
        assert body not in out
    assert "fingerprint" in out
    # never overwritten
    assert main(["keygen", "agency", "--out", str(keys)]) == 4
    assert (
        main(
            [
                "provision",
                "--state",
                str(tmp_path / "state"),
                "--agency-pub",
                str(keys / "agency.pub"),
            ]
        )
        == 4
    )


def test_verify_and_export_two_recordings(
    tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evidence = record(tmp_path, [[45, 30], [30]])
    dev_pub = str(tmp_path / "state" / "device.pub")
    assert main(["verify", str(evidence), "--device-pub", dev_pub]) == 0
    capsys.readouterr()
    assert main(["verify", str(evidence), "--device-pub", dev_pub, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["worst"] == "OK" and [ln["seq"] for ln in doc["lines"]] == ["1", "2", "3"]

    out = tmp_path / "export"
    assert (
        main(
            [
                "export",
                str(evidence),
                "--agency-key",
                str(keys / "agency.key"),
                "--device-pub",
                dev_pub,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    assert [o["segments"] for o in report["outputs"]] == [[1, 2], [3]]
    first = out / report["outputs"][0]["file"]
    assert report["outputs"][0]["sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()
    probe = ffprobe(first)
    assert int(probe["nb_read_frames"]) == 75
    assert float(probe["duration"]) == pytest.approx(75 / 30, abs=1 / 30)
    with av.open(str(first)) as c:
        counters = [read_counter(f.to_ndarray(format="gray")) for f in c.decode(video=0)]
    assert counters == list(range(75))  # stitched across segments: none lost, none twice
    assert "Recordings" in (out / "report.txt").read_text()


def test_export_refuses_tampered_evidence_unless_forced(tmp_path: Path, keys: Path) -> None:
    evidence = record(tmp_path, [[30, 30]])
    seg = evidence / "segment-00000002.bcam"
    blob = bytearray(seg.read_bytes())
    blob[-100] ^= 1
    seg.chmod(0o600)
    seg.write_bytes(bytes(blob))
    args = [
        "export",
        str(evidence),
        "--agency-key",
        str(keys / "agency.key"),
        "--device-pub",
        str(tmp_path / "state" / "device.pub"),
    ]
    assert main([*args, "--out", str(tmp_path / "refused")]) == 3
    assert not (tmp_path / "refused" / "report.json").exists()
    assert main([*args, "--out", str(tmp_path / "forced"), "--force"]) == 3
    report = json.loads((tmp_path / "forced" / "report.json").read_text())
    assert report["forced"] is True
    assert report["outputs"][0]["file"].endswith(".FORCED-TAMPERED.mp4")


def test_export_with_the_wrong_agency_key_says_so(tmp_path: Path, keys: Path) -> None:
    evidence = record(tmp_path, [[15]])
    assert main(["keygen", "agency", "--out", str(tmp_path / "other")]) == 0
    code = main(
        [
            "export",
            str(evidence),
            "--agency-key",
            str(tmp_path / "other/agency.key"),
            "--device-pub",
            str(tmp_path / "state/device.pub"),
            "--out",
            str(tmp_path / "x"),
        ]
    )
    assert code == 5


def test_a_forced_export_of_tampered_evidence_exits_3_even_when_the_key_opens_nothing(
    tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """5 says "not a recipient"; it must not hide that the evidence is tampered with (3)."""
    evidence = record(tmp_path, [[15], [15]])
    (evidence / "segment-00000001.bcam").unlink()  # #2's link names it: MISSING
    assert main(["keygen", "agency", "--out", str(tmp_path / "other")]) == 0
    args = ["--device-pub", str(tmp_path / "state/device.pub"), "--force"]
    code = main(
        [
            "export",
            str(evidence),
            "--agency-key",
            str(tmp_path / "other/agency.key"),
            "--out",
            str(tmp_path / "x"),
            *args,
        ]
    )
    assert code == 3
    report = json.loads((tmp_path / "x" / "report.json").read_text())
    assert report["failed"] == ["rec1"]  # not a recipient: nothing exported
    assert "1 recording(s) not exported: rec1" in capsys.readouterr().err


def test_the_installed_command_runs(tmp_path: Path) -> None:
    bodycam = str(Path(sys.executable).parent / "bodycam")
    r = subprocess.run(
        [bodycam, "verify", str(tmp_path), "--device-pub", "/nonexistent"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 4
    assert "/nonexistent: no such file" in r.stderr
    assert "Traceback" not in r.stderr


@settings(max_examples=examples(200))
@given(
    argv=st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "verify",
                    "export",
                    "keygen",
                    "provision",
                    "--json",
                    "--force",
                    "--out",
                    "--device-pub",
                    "--agency-key",
                    "--state",
                    "--agency-pub",
                    "agency",
                    "device",
                    "/nonexistent",
                    ".",
                ]
            ),
            st.text(max_size=12),
        ),
        max_size=6,
    )
)
def test_any_command_line_gets_a_clear_answer_never_a_traceback(argv: list[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code  # argparse: usage errors (2), --help and --version (0)
    assert code in (0, 1, 2, 3, 4, 5, 6)
