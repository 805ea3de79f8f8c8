"""Every input gets a verdict, never a traceback: verify and export on hostile input.

"Hostile but validly signed" files are written with the test device key by
``tests/vectors/generate.py``'s ``craft``: what anyone holding a device key could sign, whatever
the camera's own writer would do. Unreadable files are made unreadable by the kernel itself.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recorder.cli import main
from recorder.evidence.audit import ENVELOPE
from recorder.evidence.chain import EXIT_INTERNAL, verify_dir
from recorder.evidence.header import Kind
from recorder.evidence.keys import write_private_key, write_public_key
from recorder.evidence.media import Frame, encode_frames
from recorder.evidence.reader import FileReader, Verdict, walk
from recorder.evidence.records import RECORD_HEAD, RecordType
from tests.h264 import make_h264_frames
from tests.profiles import examples
from tests.vectors.generate import (
    AGENCY,
    DEVICE,
    build,
    craft,
    deep_json,
    record_offsets,
    summary,
)

from .conftest import Device


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    """The vector device's public key and the vector agency's private key, as key files."""
    d = tmp_path / "keys"
    d.mkdir()
    write_public_key(d / "device.pub", DEVICE.public_key())
    write_private_key(d / "agency.key", AGENCY)
    return {"pub": str(d / "device.pub"), "agency": str(d / "agency.key")}


def put(tmp_path: Path, files: dict[str, bytes]) -> Path:
    evidence = tmp_path / "evidence"
    evidence.mkdir(exist_ok=True)
    for name, blob in files.items():
        (evidence / name).write_bytes(blob)
    return evidence


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out, out.err


def event(n: int, name: str, **fields: Any) -> bytes:
    body = {"n": n, "event": name, "wall": "2026-11-28T12:00:00Z", "mono_us": n, **fields}
    return json.dumps(body).encode()


# --- hostile, validly signed JSON --------------------------------------------------------------


def test_json_nested_thousands_deep_in_header_meta_is_malformed(
    tmp_path: Path, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    blob = craft([(RecordType.FINAL, summary(1))], meta=deep_json(2700))
    evidence = put(tmp_path, {"segment-00000001.bcam": blob})
    code, out, _ = run(["verify", str(evidence), "--device-pub", keys["pub"]], capsys)
    assert code == 3
    assert "MALFORMED" in out and "meta nests deeper than 32 levels" in out


def test_json_nested_thousands_deep_in_an_audit_event_is_malformed(
    tmp_path: Path, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    blob = craft(
        [(RecordType.DATA, event(0, "boot")), (RecordType.DATA, deep_json(2700))],
        kind=Kind.AUDIT,
    )
    evidence = put(tmp_path, {"audit-00000001.bcam": blob})
    code, out, _ = run(["verify", str(evidence), "--device-pub", keys["pub"]], capsys)
    assert code == 3
    assert "MALFORMED  audit #1" in out and "record 1: audit record nests deeper" in out


def test_json_nested_thousands_deep_in_a_final_summary_is_malformed() -> None:
    blob = craft([(RecordType.FINAL, deep_json(2700))], kind=Kind.AUDIT)
    reader = FileReader(io.BytesIO(blob), DEVICE.public_key())
    assert walk(reader).verdict is Verdict.MALFORMED


def h264_segment(*, flags_at: int | None = None, final_says: int | None = None) -> bytes:
    """A signed segment of 30 real H.264 frames in two records; optionally a frame of record
    ``flags_at`` carries a flag no version defines, or the FINAL claims ``final_says`` records."""
    frames = make_h264_frames(30, gop=15)
    pts = [encode_frames(frames[:15]), encode_frames(frames[15:])]
    if flags_at is not None:
        pts[flags_at] = pts[flags_at][:1] + b"\x81" + pts[flags_at][2:]  # keyframe | 0x80
    records: list[tuple[int, bytes]] = [(RecordType.DATA, pt) for pt in pts]
    meta = json.dumps({"recording_id": "r1", "part": 1, "device_id": "BC-1"}).encode()
    final = summary(3 if final_says is None else final_says, frames=30)
    return craft([*records, (RecordType.FINAL, final)], meta=meta)


def test_unknown_frame_flags_are_malformed_for_verify_and_export(
    tmp_path: Path, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    evidence = put(tmp_path, {"segment-00000001.bcam": h264_segment(flags_at=1)})
    verify = ["verify", str(evidence), "--device-pub", keys["pub"]]
    code, out, _ = run(verify, capsys)
    assert code == 0  # without the agency key, the contents cannot be seen
    code, out, _ = run([*verify, "--agency-key", keys["agency"]], capsys)
    assert code == 3
    assert "MALFORMED" in out and "record 1: unknown frame flags 0x81" in out
    export = ["export", str(evidence), "--device-pub", keys["pub"], "--agency-key"]
    code, _, err = run([*export, keys["agency"], "--out", str(tmp_path / "out")], capsys)
    assert code == 3 and "refusing to export" in err
    assert not (tmp_path / "out" / "report.json").exists()


def test_a_final_summary_that_miscounts_is_tampered_for_verify_and_export(
    tmp_path: Path, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Spec MUST 8 for media: only the agency key reads the summary, and both tools check it."""
    evidence = put(tmp_path, {"segment-00000001.bcam": h264_segment(final_says=5)})
    verify = ["verify", str(evidence), "--device-pub", keys["pub"], "--agency-key"]
    code, out, _ = run([*verify, keys["agency"]], capsys)
    assert code == 3
    assert "TAMPERED" in out and "FINAL summary counts 5 records, file has 3" in out
    export = ["export", str(evidence), "--device-pub", keys["pub"], "--agency-key"]
    code, _, err = run([*export, keys["agency"], "--out", str(tmp_path / "out")], capsys)
    assert code == 3 and "FINAL summary counts 5" in err


def test_the_same_segment_counted_right_exports(
    tmp_path: Path, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The control for the two tests above: the crafted segment is otherwise sound."""
    evidence = put(tmp_path, {"segment-00000001.bcam": h264_segment()})
    export = ["export", str(evidence), "--device-pub", keys["pub"], "--agency-key"]
    code, out, _ = run([*export, keys["agency"], "--out", str(tmp_path / "out")], capsys)
    assert code == 0, out
    assert "30 frames" in out


# Anything someone with the device key could sign: any meta bytes, any record types, any
# plaintexts (JSON of any shape, media framing with any flags, noise), for either kind of file.
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)
_event = st.fixed_dictionaries(
    {"n": _json, "event": st.sampled_from(["boot", "segment_open", "segment_close", "recovered"])},
    optional={
        "wall": _json,
        "mono_us": _json,
        "seq": _json,
        "records": _json,
        "stream": st.sampled_from(["media", "audit", "x"]),
    },
)
_framed = st.builds(
    lambda stream, flags, pts, data, overrun: (
        struct.pack(">BBqI", stream, flags, pts, len(data) + overrun) + data
    ),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(-(2**63), 2**63 - 1),
    st.binary(max_size=16),
    st.sampled_from([0, 0, 1, 2**32 - 1 - 16]),
)
_plaintext = st.one_of(
    st.binary(max_size=64),
    _event.map(lambda e: json.dumps(e).encode()),
    _json.map(lambda j: json.dumps(j).encode()),
    _framed,
    st.sampled_from([deep_json(40), deep_json(3000), b'{"records": 1e999}', b"[" * 5000]),
)
_records = st.lists(st.tuples(st.sampled_from([1, 1, 1, 2, 2, 0, 3, 255]), _plaintext), max_size=5)
_meta = st.one_of(
    st.none(),
    st.binary(max_size=32),
    _json.map(lambda j: json.dumps(j).encode()),
    st.sampled_from([deep_json(33), deep_json(2700), b'{"a": ' + b"9" * 5000 + b"}", b"NaN"]),
)


@settings(max_examples=examples(150))
@given(kind=st.sampled_from(Kind), meta=_meta, records=_records)
@example(kind=Kind.AUDIT, meta=None, records=[(1, deep_json(3000))])
@example(kind=Kind.AUDIT, meta=None, records=[(1, event(0, "segment_open", seq=True))])
@example(kind=Kind.MEDIA, meta=deep_json(2700), records=[])
@example(kind=Kind.MEDIA, meta=None, records=[(1, b"\x00\x80" + bytes(12)), (2, summary(2))])
def test_any_signed_contents_get_a_verdict_never_an_exception(
    tmp_path_factory: pytest.TempPathFactory,
    kind: Kind,
    meta: bytes | None,
    records: list[tuple[int, bytes]],
) -> None:
    blob = craft(records, kind=kind, meta=meta)
    evidence = tmp_path_factory.mktemp("hostile")
    (
        evidence / ("segment-00000001.bcam" if kind is Kind.MEDIA else "audit-00000001.bcam")
    ).write_bytes(blob)
    for identity in (None, AGENCY):
        report = verify_dir(evidence, DEVICE.public_key(), identity=identity)
        assert report.exit_code in (0, 1, 3)
        for line in report.lines:
            assert line.verdict in Verdict
            assert line.seq == "" or line.seq.replace("-", "").isdigit(), line
            str(line)
        json.dumps(report.to_json())
        for c in report.checks:
            json.dumps(c.events)  # what export writes to audit.jsonl
            if c.outcome.header is not None:
                json.dumps(c.outcome.header.meta)  # what export writes into its report


# --- signed text is printed escaped: no value can add a line of its own ------------------------

_NAME_TEXT = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=40,
).map(lambda t: t + ".bcam")
_ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_FORGED = "x\noverall: OK\x1b[2J\u2028\u0085"


def one_line_each(text: str) -> list[str]:
    """The lines of ``text`` as a terminal would show them (split on newlines only), each
    asserted to be printable: no escape sequence, and no separator that some other reader of
    the report would take for a line break."""
    lines = text.split("\n")
    for ln in lines:
        assert ln.isprintable(), repr(ln)
    return lines


def _evidence_keys(root: Path) -> tuple[str, str]:
    root.mkdir(parents=True, exist_ok=True)
    write_public_key(root / "device.pub", DEVICE.public_key())
    write_private_key(root / "agency.key", AGENCY)
    return str(root / "device.pub"), str(root / "agency.key")


@settings(max_examples=examples(60))
@given(
    what=_ANY_TEXT,
    key=_ANY_TEXT.filter(lambda k: k not in {*ENVELOPE, "what", "seq", "records"}),
    value=st.one_of(_ANY_TEXT, st.lists(_ANY_TEXT, max_size=2), st.integers()),
    wall=_ANY_TEXT,
    name=_NAME_TEXT,
)
@example(what=_FORGED, key=_FORGED, value=_FORGED, wall=_FORGED, name=_FORGED + ".bcam")
def test_signed_audit_text_never_prints_a_line_of_its_own(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    what: str,
    key: str,
    value: Any,
    wall: str,
    name: str,
) -> None:
    """Whatever text a signed fault event carries (its wall, what, any field's name or value),
    and whatever the file is called, verify prints each on the line it belongs to."""
    root = tmp_path_factory.mktemp("text")
    pub, _ = _evidence_keys(root / "keys")
    fault = {"n": 0, "event": "fault", "wall": wall, "mono_us": 0, "what": what, key: value}
    blob = craft(
        [(RecordType.DATA, json.dumps(fault).encode()), (RecordType.FINAL, summary(2))],
        kind=Kind.AUDIT,
    )
    evidence = put(root, {name: blob})
    code, out, err = run(["verify", str(evidence), "--device-pub", pub], capsys)
    assert code == 0, out + err
    lines = one_line_each(out)
    assert lines[1:] == [
        "faults the camera logged (1):",
        lines[2],
        "the newest end is not pinned: no cosigned checkpoint was given",
        "overall: OK",
        "",
    ]
    assert lines[0].startswith("OK         audit #1         ")


@settings(max_examples=examples(12))
@given(
    meta=st.fixed_dictionaries(
        dict.fromkeys(
            ["recording_id", "trigger", "officer_id", "wall_start", "clock_source", "device_id"],
            _ANY_TEXT,
        )
    ),
    wall=_ANY_TEXT,
    name=_NAME_TEXT,
)
@example(
    meta=dict.fromkeys(
        ["recording_id", "trigger", "officer_id", "wall_start", "clock_source", "device_id"],
        _FORGED,
    ),
    wall=_FORGED,
    name=_FORGED + ".bcam",
)
def test_signed_text_never_adds_a_line_to_the_export_report(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    meta: dict[str, str],
    wall: str,
    name: str,
) -> None:
    """A segment whose signed meta and file name carry any text, and an audit log that names a
    segment #2 of a recording of any name, at any wall time, that is not here: report.txt and
    what export prints give each value on its own line, escaped."""
    root = tmp_path_factory.mktemp("text")
    pub, agency = _evidence_keys(root / "keys")
    frames = encode_frames(make_h264_frames(15, gop=15))
    segment = craft(
        [(RecordType.DATA, frames), (RecordType.FINAL, summary(2))],
        meta=json.dumps({**meta, "part": 1, "clock_set": True}).encode(),
    )
    opened = {"n": 0, "event": "segment_open", "wall": wall, "mono_us": 0, "seq": 2}
    audit = craft(
        [
            (RecordType.DATA, json.dumps({**opened, "recording_id": wall}).encode()),
            (RecordType.FINAL, summary(2)),
        ],
        kind=Kind.AUDIT,
    )
    evidence = put(root, {name: segment, "audit-00000001.bcam": audit})
    out_dir = root / "out"
    args = ["export", str(evidence), "--agency-key", agency, "--device-pub", pub, "--force"]
    code, out, err = run([*args, "--out", str(out_dir)], capsys)
    assert code == 3, out + err  # segment #2 is missing
    one_line_each(out)
    one_line_each(err)
    report = one_line_each((out_dir / "report.txt").read_text())
    assert [ln for ln in report if ln.startswith("overall:")] == [
        "overall:      MISSING   ** FORCED EXPORT: NOT FULLY VERIFIED **"
    ]
    assert sum(ln.startswith("recording-") for ln in report) == 1


# --- slow scans: stop at the first record that cannot be valid ---------------------------------


class Padded(io.RawIOBase):
    """``prefix`` then ``zeros`` zero bytes, made up as they are read; counts the bytes served."""

    def __init__(self, prefix: bytes, zeros: int) -> None:
        self.prefix, self.size, self.pos, self.served = prefix, len(prefix) + zeros, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = max(0, min(len(b), self.size - self.pos))
        chunk = self.prefix[self.pos : self.pos + n]
        b[: len(chunk)] = chunk
        b[len(chunk) : n] = bytes(n - len(chunk))
        self.pos += n
        self.served += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos


GIB_64 = 64 << 20  # what stands for "gigabytes": the reader must not touch any of it


def test_a_header_then_zeros_is_read_no_further_than_the_first_record() -> None:
    valid = build()
    first_record = record_offsets(valid)[0]
    f = Padded(valid[:first_record], GIB_64)
    outcome = walk(FileReader(f, DEVICE.public_key()))  # type: ignore[arg-type]
    assert outcome.verdict is Verdict.INCOMPLETE and outcome.valid == 0
    assert "zero-filled" in outcome.reason
    assert f.served <= first_record + RECORD_HEAD.size


def test_zeros_after_valid_records_are_read_no_further_than_one_record_head() -> None:
    valid = build()
    cut = record_offsets(valid)[2]
    f = Padded(valid[:cut], GIB_64)
    outcome = walk(FileReader(f, DEVICE.public_key()))  # type: ignore[arg-type]
    assert (outcome.verdict, outcome.valid) == (Verdict.INCOMPLETE, 2)
    assert f.served <= cut + RECORD_HEAD.size


def test_zeros_after_the_final_record_are_counted_not_read() -> None:
    valid = build()
    f = Padded(valid, GIB_64)
    outcome = walk(FileReader(f, DEVICE.public_key()))  # type: ignore[arg-type]
    assert outcome.verdict is Verdict.TAMPERED
    assert f"{GIB_64} bytes after the FINAL record" in outcome.reason
    assert f.served <= len(valid) + RECORD_HEAD.size


def test_a_record_that_cannot_be_valid_is_judged_before_its_body_is_read() -> None:
    valid = build()
    at = record_offsets(valid)[1]
    bad_type = valid[:at] + (1 << 20).to_bytes(4, "big") + b"\x07" + bytes(4)
    f = Padded(bad_type, GIB_64)
    outcome = walk(FileReader(f, DEVICE.public_key()))  # type: ignore[arg-type]
    assert outcome.verdict is Verdict.TAMPERED and "unknown type 7" in outcome.reason
    assert f.served <= at + RECORD_HEAD.size


# --- unreadable files and directories ----------------------------------------------------------


def as_custodian(cmd: list[str]) -> list[str]:
    """Run ``cmd`` as a user whom the kernel holds to file permissions.

    Root is not held to them: CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH let it read a file of
    mode 0. So as root the command runs with those two capabilities dropped from its bounding
    set by setpriv(1) (util-linux): still uid 0, but now refused by the kernel like any user
    who may not read the file. No mock: the PermissionError comes from open(2).
    """
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv(1): no way to be refused a read")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]


def bodycam(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = as_custodian([str(Path(sys.executable).parent / "bodycam"), *args])
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def device_pub_file(device: Device) -> str:
    path = device.state / "device.pub"
    write_public_key(path, device.pub)
    return str(path)


def test_an_unreadable_file_is_unreadable_exit_4_and_the_rest_is_still_checked(
    device: Device,
) -> None:
    device.write_segments(3)
    (device.evidence / "segment-00000002.bcam").chmod(0)
    r = bodycam("verify", str(device.evidence), "--device-pub", device_pub_file(device))
    assert "Traceback" not in r.stderr
    assert r.returncode == 4, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[2].startswith("UNREADABLE segment #2       segment-00000002.bcam")
    assert "cannot read: Permission denied" in lines[2]
    assert [ln.split()[0] for ln in lines] == ["OK", "OK", "UNREADABLE", "OK", "the", "overall:"]
    assert lines[-2] == "the newest end is not pinned: no cosigned checkpoint was given"


def test_export_with_an_unreadable_file_exits_4_and_a_forced_one_marks_it(
    tmp_path: Path,
) -> None:
    from tests.test_cli_evidence import keygen_and_provision, record

    keys = keygen_and_provision(tmp_path)
    evidence = record(tmp_path, [[15], [15]])
    (evidence / "segment-00000002.bcam").chmod(0)
    args = ["export", str(evidence), "--agency-key", str(keys / "agency.key")]
    args += ["--device-pub", str(tmp_path / "state" / "device.pub")]
    r = bodycam(*args, "--out", str(tmp_path / "refused"))
    assert (r.returncode, "Traceback" in r.stderr) == (4, False), r.stderr
    assert "UNREADABLE segment #2" in r.stderr
    r = bodycam(*args, "--out", str(tmp_path / "forced"), "--force")
    assert (r.returncode, "Traceback" in r.stderr) == (4, False), r.stderr
    report = json.loads((tmp_path / "forced" / "report.json").read_text())
    unread = [i for i in report["inputs"] if i["sha256"] is None]
    assert unread == [
        {
            "file": "segment-00000002.bcam",
            "sha256": None,
            "unreadable": "cannot read: Permission denied; kind and number from its name",
        }
    ]


def test_an_unlistable_directory_exits_4_and_says_so(device: Device) -> None:
    device.write_segments(1)
    pub = device_pub_file(device)
    device.evidence.chmod(0)
    try:
        r = bodycam("verify", str(device.evidence), "--device-pub", pub)
    finally:
        device.evidence.chmod(0o755)
    assert r.returncode == 4 and "Traceback" not in r.stderr
    assert "cannot list: Permission denied" in r.stderr


def test_a_fifo_is_unreadable_and_never_waited_on(device: Device) -> None:
    device.write_segments(2)
    os.mkfifo(device.evidence / "segment-00000003.bcam")
    report = verify_dir(device.evidence, device.pub)
    line = next(ln for ln in report.lines if ln.file == "segment-00000003.bcam")
    assert (line.verdict, line.kind, line.seq) == (Verdict.UNREADABLE, "?", "")
    assert line.reason == (
        "a FIFO, not a file; its name says #3, but only a regular file can stand in for a number"
    )
    assert report.exit_code == 4


_NOT_A_FILE = {
    "a FIFO": os.mkfifo,
    "a directory": os.mkdir,
    "a device": lambda p: os.symlink("/dev/null", p),
    "no file behind the name": lambda p: os.symlink(p.with_name("nowhere"), p),
}


@pytest.mark.parametrize("what", list(_NOT_A_FILE))
def test_an_entry_that_is_not_a_file_never_stands_in_for_a_deleted_segment(
    device: Device, what: str
) -> None:
    """A deletion must read as one (MISSING, exit 3), not as a permissions problem (exit 4): an
    entry that is not a regular file gets its own UNREADABLE line and fills no number."""
    device.write_segments(3)
    path = device.evidence / "segment-00000002.bcam"
    path.unlink()
    _NOT_A_FILE[what](path)
    report = verify_dir(device.evidence, device.pub)
    gap = [ln for ln in report.lines if (ln.kind, ln.seq) == ("segment", "2")]
    assert [(ln.verdict, ln.file, ln.reason) for ln in gap] == [
        (Verdict.MISSING, "", "gap in the chain")
    ]
    entry = next(ln for ln in report.lines if ln.file == path.name)
    assert (entry.verdict, entry.kind, entry.seq) == (Verdict.UNREADABLE, "?", "")
    assert entry.reason.startswith(what) and "only a regular file can stand in" in entry.reason
    assert report.exit_code == 3


def test_unreadable_loses_to_a_worse_verdict(device: Device) -> None:
    device.write_segments(3)
    os.mkfifo(device.evidence / "segment-00000009.bcam")
    (device.evidence / "segment-00000002.bcam").unlink()
    report = verify_dir(device.evidence, device.pub)
    assert report.worst is Verdict.MISSING and report.exit_code == 3


# --- exit codes ----------------------------------------------------------------------------------


def test_an_internal_error_exits_with_its_own_code(
    device: Device, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug must not exit 1, which says "nothing worse than INCOMPLETE"."""

    def bug(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("recorder.cli.evidence_cmds.verify_dir", bug)
    code = main(["verify", str(device.evidence), "--device-pub", device_pub_file(device)])
    err = capsys.readouterr().err
    assert code == EXIT_INTERNAL == 70
    assert "internal error, a bug in bodycam (ZeroDivisionError: a bug)" in err


class ReaderGone(io.TextIOBase):
    """stdout whose reader went away (``bodycam verify ... | head``)."""

    def __init__(self) -> None:
        self.fd = os.open(os.devnull, os.O_WRONLY)

    def write(self, s: str) -> int:
        raise BrokenPipeError

    def fileno(self) -> int:
        return self.fd


def test_a_reader_that_leaves_is_not_an_internal_error(
    device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    device.write_segments(1)
    pub = device_pub_file(device)
    gone = ReaderGone()
    monkeypatch.setattr(sys, "stdout", gone)
    try:
        assert main(["verify", str(device.evidence), "--device-pub", pub]) == 141
    finally:
        os.close(gone.fd)


def test_the_exit_codes_are_documented_in_help_and_docs() -> None:
    from recorder.cli.evidence_cmds import _codes
    from recorder.evidence.chain import EXIT_CODES

    doc = (Path(__file__).parents[1] / "docs" / "verify-and-export.md").read_text()
    for code, meaning in EXIT_CODES.items():
        assert f"{code} {meaning}" in _codes()
        assert f"| {code} | {meaning} |" in doc, code
    assert "| 5 |" in doc


def test_frames_with_unknown_flags_never_reach_a_decoder() -> None:
    """The reader's framing check and the decoder agree on every byte (no frame slips by)."""
    from recorder.evidence.media import FramingError, check_frames, decode_frames

    good = encode_frames([Frame(0, 1, True, b"ab"), Frame(2, 3, False, b"")])
    assert check_frames(good) == len(list(decode_frames(good))) == 2
    for i in range(len(good)):
        for bit in range(8):
            bad = bytearray(good)
            bad[i] ^= 1 << bit
            try:
                n = len(list(decode_frames(bytes(bad))))
            except FramingError:
                with pytest.raises(FramingError):
                    check_frames(bytes(bad))
            else:
                assert check_frames(bytes(bad)) == n
