"""Verify's report as a custodian reads it: order, duplicates, reserved numbers, files with no
header, and audit fields that are not what section 10 says."""

from __future__ import annotations

import errno
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.evidence.chain import Line, Report, verify_dir
from recorder.evidence.header import Kind
from recorder.evidence.media import STREAM_VIDEO, Frame, encode_frames
from recorder.evidence.reader import FileReader, Verdict, walk
from recorder.evidence.records import RecordType
from recorder.evidence.state import EvidenceStream
from recorder.evidence.writer import EvidenceFile
from tests.profiles import examples
from tests.vectors.generate import craft, record_offsets, summary

from .conftest import Device

FRAME = encode_frames([Frame(STREAM_VIDEO, 0, True, b"frame")])


def where(report: Report) -> list[tuple[str, str, str]]:
    return [(ln.verdict.value, ln.kind, ln.seq) for ln in report.lines]


def line(report: Report, kind: str, seq: str, file: str | None = None) -> Line:
    found = [ln for ln in report.lines if (ln.kind, ln.seq) == (kind, seq)]
    found = [ln for ln in found if file is None or ln.file == file]
    assert len(found) == 1, report.lines
    return found[0]


# --- order ---------------------------------------------------------------------------------------


def test_lines_follow_the_signed_sequence_not_the_file_names(device: Device) -> None:
    device.write_segments(5)
    ev = device.evidence
    (ev / "segment-00000002.bcam").unlink()
    (ev / "segment-00000001.bcam").rename(ev / "z-first.bcam")
    (ev / "segment-00000005.bcam").rename(ev / "a-last.bcam")
    (ev / "segment-00000004.bcam").rename(ev / "segment-00000001.bcam")
    report = verify_dir(ev, device.pub)
    assert where(report) == [
        ("OK", "audit", "1"),
        ("OK", "segment", "1"),
        ("MISSING", "segment", "2"),
        ("OK", "segment", "3"),
        ("OK", "segment", "4"),
        ("OK", "segment", "5"),
    ]
    assert [ln.file for ln in report.lines] == [
        "audit-00000001.bcam",
        "z-first.bcam",
        "",
        "segment-00000003.bcam",
        "segment-00000001.bcam",
        "a-last.bcam",
    ]


# --- duplicates ----------------------------------------------------------------------------------


def test_a_copy_is_blamed_and_the_original_is_not(device: Device) -> None:
    device.write_segments(3)
    shutil.copy(device.evidence / "segment-00000002.bcam", device.evidence / "a-copy.bcam")
    report = verify_dir(device.evidence, device.pub)
    assert line(report, "segment", "2", "segment-00000002.bcam").verdict is Verdict.OK
    copy = line(report, "segment", "2", "a-copy.bcam")
    assert copy.verdict is Verdict.TAMPERED
    assert (
        copy.reason == "duplicate: a copy of #2; segment-00000002.bcam has the camera's name for it"
    )
    files = [ln.file for ln in report.lines]
    assert files.index("a-copy.bcam") == files.index("segment-00000002.bcam") + 1


def header_of(path: Path, device: Device) -> Any:
    reader = FileReader(io.BytesIO(path.read_bytes()), device.pub)
    walk(reader)
    return reader.outcome.header


def test_a_file_under_the_cameras_name_is_blamed_when_the_chain_names_another(
    device: Device,
) -> None:
    """Someone with the device key signs a second #2 and puts it under #2's name, moving the
    real one aside: #3's signed link still names the real one, so the substitute is blamed."""
    device.write_segments(3)
    ev = device.evidence
    real = header_of(ev / "segment-00000002.bcam", device)
    (ev / "segment-00000002.bcam").rename(ev / "moved-aside.bcam")
    forged = craft(
        [(RecordType.DATA, FRAME), (RecordType.FINAL, summary(2))],
        seq=2,
        prev=real.prev,
        key=device.key,
    )
    (ev / "segment-00000002.bcam").write_bytes(forged)
    report = verify_dir(ev, device.pub)
    assert line(report, "segment", "2", "moved-aside.bcam").verdict is Verdict.OK
    sub = line(report, "segment", "2", "segment-00000002.bcam")
    assert sub.verdict is Verdict.TAMPERED
    assert sub.reason == "duplicate: also claims #2; #3's link names moved-aside.bcam"


def test_of_two_files_with_the_named_id_the_one_holding_the_signed_records_is_taken(
    device: Device,
) -> None:
    device.write_segments(3)
    ev = device.evidence
    blob = (ev / "segment-00000002.bcam").read_bytes()
    (ev / "a-truncated.bcam").write_bytes(blob[:-200])  # same header, records cut away
    report = verify_dir(ev, device.pub)
    assert line(report, "segment", "2", "segment-00000002.bcam").verdict is Verdict.OK
    cut = line(report, "segment", "2", "a-truncated.bcam")
    assert cut.verdict is Verdict.TAMPERED
    assert "#3's link names" not in cut.reason
    assert "segment-00000002.bcam holds the records #3 signed" in cut.reason


def test_of_two_copies_of_the_newest_the_one_that_verifies_further_is_taken(
    device: Device,
) -> None:
    """No link names the newest file: a copy cut short under the camera's own name must not
    beat the whole original moved aside (the cut copy would pass as a power cut)."""
    device.write_segments(1, records=4, audit=False)
    ev = device.evidence
    own = ev / "segment-00000001.bcam"
    shutil.copy(own, ev / "whole.bcam")
    own.chmod(0o600)
    own.write_bytes(own.read_bytes()[: record_offsets(own.read_bytes())[2]])  # 2 of 4 records
    report = verify_dir(ev, device.pub)
    assert line(report, "segment", "1", "whole.bcam").verdict is Verdict.OK
    cut = line(report, "segment", "1", "segment-00000001.bcam")
    assert cut.verdict is Verdict.TAMPERED
    assert cut.reason == "duplicate: a copy of #1; whole.bcam has its FINAL record"


def test_of_two_torn_copies_the_one_with_more_records_is_taken(device: Device) -> None:
    device.write_segments(1, records=4, audit=False)
    ev = device.evidence
    own = ev / "segment-00000001.bcam"
    blob, offsets = own.read_bytes(), record_offsets(own.read_bytes())
    (ev / "longer.bcam").write_bytes(blob[: offsets[3]])
    own.chmod(0o600)
    own.write_bytes(blob[: offsets[1]])
    report = verify_dir(ev, device.pub)
    assert line(report, "segment", "1", "longer.bcam").verdict is Verdict.INCOMPLETE
    cut = line(report, "segment", "1", "segment-00000001.bcam")
    assert cut.reason == "duplicate: a copy of #1; longer.bcam verifies more records"


# --- reserved numbers and files with no header --------------------------------------------------


class PowerCut(BaseException):
    """The power goes: nothing after this point runs."""


def boot(device: Device) -> tuple[EvidenceStream, Any]:
    """What the recorder does at start (``Recorder.open``): recover both streams, log the boot
    and a ``recovered`` event for every recovery note."""
    media, log = device.media(), device.audit()
    notes = [(s.kind, s.recover()) for s in (media, log.stream)]
    log.log("boot", wall=1.8e9, mono_us=0)
    for kind, link in notes:
        if link is not None:
            log.log(
                "recovered",
                wall=1.8e9,
                mono_us=0,
                stream=kind.name.lower(),
                seq=link.seq,
                records=link.records,
                closed=link.state.name == "CLOSED",
            )
    return media, log


def segment(media: EvidenceStream, log: Any, records: int = 2) -> None:
    f = media.open({})
    log.log("segment_open", wall=1.8e9, mono_us=0, seq=f.seq)
    for _ in range(records):
        f.append(FRAME)
    link = media.close({})
    log.log("segment_close", wall=1.8e9, mono_us=0, seq=link.seq, records=link.records)


def cut_while_opening(
    media: EvidenceStream, monkeypatch: pytest.MonkeyPatch, *, create_empty: bool
) -> None:
    """The power goes after the number is reserved durably: before the file is created, or
    (``create_empty``) after creating it and before any byte of its header is written."""

    def cut(path: Path, **kwargs: Any) -> EvidenceFile:
        if create_empty:
            path.touch(mode=0o440, exist_ok=False)
        raise PowerCut

    with monkeypatch.context() as m:
        m.setattr(EvidenceFile, "create", cut)
        with pytest.raises(PowerCut):
            media.open({})


def test_a_number_reserved_but_never_written_gets_its_own_line(
    device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    media, log = boot(device)
    segment(media, log)
    cut_while_opening(media, monkeypatch, create_empty=False)
    media, log = boot(device)  # the power comes back
    segment(media, log)
    log.close(wall=1.8e9, reason="shutdown")
    report = verify_dir(device.evidence, device.pub)
    assert where(report) == [
        ("INCOMPLETE", "audit", "1"),  # the cut tore the audit log
        ("OK", "audit", "2"),
        ("OK", "segment", "1"),
        ("OK", "segment", "2"),  # nothing of #2 can be missing
        ("OK", "segment", "3"),
    ]
    reserved = line(report, "segment", "2")
    assert reserved.file == ""
    assert reserved.reason == (
        "reserved, never written (a cut or a failed open before its header): "
        "#3's recovery note records it; audit #2 event 1 records the recovery"
    )
    assert report.exit_code == 1
    assert report.reserved == {Kind.AUDIT: set(), Kind.MEDIA: {2}}


def test_a_reserved_number_without_its_audit_event_says_so(
    device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    media, log = boot(device)
    segment(media, log)
    cut_while_opening(media, monkeypatch, create_empty=False)
    media = device.media()
    media.recover()  # a recovery the audit log never heard of
    segment(media, log)
    reason = line(verify_dir(device.evidence, device.pub), "segment", "2").reason
    assert reason.endswith("; no audit log here has a 'recovered' event for it")


def test_a_reserved_number_the_audit_log_saw_opened_is_missing(
    device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The note says no header was found at recovery, but the audit log saw the segment opened
    (which is logged after its header is durable): it was removed while the camera was off."""
    media, log = boot(device)
    segment(media, log)
    f = media.open({})
    log.log("segment_open", wall=1.8e9, mono_us=0, seq=f.seq)
    f.append(FRAME)
    f.abandon()  # the power goes with #2 open...
    (device.evidence / "segment-00000002.bcam").unlink()  # ...and #2 is removed meanwhile
    media, log = boot(device)
    segment(media, log)
    log.close(wall=1.8e9, reason="shutdown")
    report = verify_dir(device.evidence, device.pub)
    gone = line(report, "segment", "2")
    assert gone.verdict is Verdict.MISSING
    assert gone.reason == (
        "#3's recovery note found no header, yet audit #1 saw it opened: "
        "removed before the camera restarted"
    )


def test_an_audit_log_removed_before_the_camera_restarted_is_missing(device: Device) -> None:
    """The camera found no audit log #1 at recovery and noted nothing of it, but segment #1's
    header names audit #1 (the log its segment_open went to): that log had a header, so it
    was removed while the camera was off; it is no reserved number."""
    media, log = boot(device)
    f = media.open({**log.position()})
    log.log("segment_open", wall=1.8e9, mono_us=0, seq=f.seq)
    f.append(FRAME)
    media.close({})
    log.stream.current.abandon()  # the power goes...
    (device.evidence / "audit-00000001.bcam").unlink()  # ...and the audit log is removed
    media, log = boot(device)
    segment(media, log)
    log.close(wall=1.8e9, reason="shutdown")
    report = verify_dir(device.evidence, device.pub)
    gone = line(report, "audit", "1")
    assert (gone.verdict, gone.file) == (Verdict.MISSING, "")
    assert gone.reason == (
        "#2's recovery note found no header, yet segment #1's header names it: "
        "removed before the camera restarted"
    )
    assert report.exit_code == 3 and report.reserved == {Kind.AUDIT: set(), Kind.MEDIA: set()}


@pytest.mark.parametrize("header_seen", [False, True])
def test_a_reserved_segment_an_event_saw_with_a_header_is_missing(
    device: Device, header_seen: bool
) -> None:
    """An event's media head with a chain value (the header hash, or later) saw #2's header,
    even with no segment_open of it here; a head of 0 records and no chain is what the camera
    logs for a number reserved and never written, and demands nothing."""
    media, log = boot(device)
    segment(media, log)
    f = media.open({})
    f.append(FRAME)
    chain = f.chain.hex() if header_seen else "00" * 32
    head = {"seq": f.seq, "records": 1 if header_seen else 0, "chain": chain}
    log.log("marker", wall=1.8e9, mono_us=0, media=head)
    f.abandon()  # the power goes with #2 open...
    (device.evidence / "segment-00000002.bcam").unlink()  # ...and #2 is removed meanwhile
    media, log = boot(device)
    segment(media, log)
    log.close(wall=1.8e9, reason="shutdown")
    report = verify_dir(device.evidence, device.pub)
    two = line(report, "segment", "2")
    if header_seen:
        assert two.verdict is Verdict.MISSING
        assert two.reason == (
            "#3's recovery note found no header, yet audit #1 event 3 saw its header: "
            "removed before the camera restarted"
        )
        assert report.reserved[Kind.MEDIA] == set()
    else:
        assert two.verdict is Verdict.OK and two.reason.startswith("reserved, never written")
        assert report.reserved[Kind.MEDIA] == {2}


def test_an_empty_file_is_named_by_kind_and_number(
    device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    media, log = boot(device)
    segment(media, log)
    cut_while_opening(media, monkeypatch, create_empty=True)
    media, log = boot(device)
    segment(media, log)
    log.close(wall=1.8e9, reason="shutdown")
    report = verify_dir(device.evidence, device.pub)
    empty = line(report, "segment", "2")
    assert (empty.verdict, empty.file) == (Verdict.INCOMPLETE, "segment-00000002.bcam")
    assert empty.reason == (
        "empty file: no header; kind and number from its name; "
        "#3's recovery note confirms it had no header; audit #2 event 1 records the recovery"
    )
    assert [ln for ln in report.lines if ln.verdict is Verdict.MISSING] == []


def test_the_newest_file_left_empty_is_named_and_incomplete(device: Device) -> None:
    device.write_segments(2)
    (device.evidence / "segment-00000003.bcam").write_bytes(b"")
    empty = line(verify_dir(device.evidence, device.pub), "segment", "3")
    assert empty.verdict is Verdict.INCOMPLETE
    assert empty.reason == "empty file: no header; kind and number from its name"


def test_a_closed_file_emptied_later_is_tampered_on_one_line(device: Device) -> None:
    device.write_segments(3, records=4)
    p = device.evidence / "segment-00000002.bcam"
    p.chmod(0o600)
    p.write_bytes(b"")
    report = verify_dir(device.evidence, device.pub)
    emptied = line(report, "segment", "2")
    assert (emptied.verdict, emptied.file) == (Verdict.TAMPERED, "segment-00000002.bcam")
    assert "#3 signed #2 as CLOSED with 5 records, but no valid header is left" in emptied.reason
    assert [ln for ln in report.lines if ln.verdict is Verdict.MISSING] == []


def test_the_newest_file_emptied_later_is_caught_by_the_audit_log(device: Device) -> None:
    device.write_segments(2)
    p = device.evidence / "segment-00000002.bcam"
    p.chmod(0o600)
    p.write_bytes(b"")
    emptied = line(verify_dir(device.evidence, device.pub), "segment", "2")
    assert emptied.verdict is Verdict.TAMPERED
    assert "audit #1 saw it opened, but its header is gone" in emptied.reason


def test_a_stray_headerless_file_under_a_held_number_stays_unnamed(device: Device) -> None:
    device.write_segments(2)
    (device.evidence / "segment-00000002.bcam").rename(device.evidence / "two.bcam")
    (device.evidence / "segment-00000002.bcam").write_bytes(b"")
    report = verify_dir(device.evidence, device.pub)
    stray = next(ln for ln in report.lines if ln.file == "segment-00000002.bcam")
    assert (stray.kind, stray.seq) == ("?", "")
    assert "its name says #2, but two.bcam holds the signed #2" in stray.reason


# --- audit fields --------------------------------------------------------------------------------


def audit_log(device: Device, *events: dict[str, Any]) -> None:
    records = [(RecordType.DATA, json.dumps(e).encode()) for e in events]
    records.append((RecordType.FINAL, summary(len(events) + 1)))
    blob = craft(records, kind=Kind.AUDIT, key=device.key)
    (device.evidence / "audit-00000001.bcam").write_bytes(blob)


def ev(n: int, name: str, **fields: Any) -> dict[str, Any]:
    return {"n": n, "event": name, "wall": "2026-11-28T12:00:00Z", "mono_us": n, **fields}


def test_a_seq_of_true_is_malformed_never_a_segment_number(device: Device) -> None:
    audit_log(device, ev(0, "boot"), ev(1, "segment_open", seq=True))
    report = verify_dir(device.evidence, device.pub)
    text = "\n".join(str(ln) for ln in report.lines)
    assert "#True" not in text
    log = line(report, "audit", "1")
    assert log.verdict is Verdict.MALFORMED
    assert log.reason == "record 1: 'seq' is true; a whole number or null allowed"


_odd = st.one_of(
    st.booleans(),
    st.floats(allow_nan=False),
    st.text(max_size=6),
    st.lists(st.integers(), max_size=2),
    st.none(),
    st.integers(-3, 3),
    st.integers(2**64, 2**70),
)


@settings(max_examples=examples(100))
@given(
    events=st.lists(
        st.tuples(st.sampled_from(["segment_open", "segment_close", "recovered"]), _odd, _odd),
        min_size=1,
        max_size=4,
    )
)
def test_any_audit_seq_and_records_give_numbered_lines_only(
    make_device: Any, events: list[tuple[str, Any, Any]]
) -> None:
    device = make_device(f"odd{next(_runs)}")
    device.write_segments(1, audit=False)
    audit_log(
        device,
        *(ev(i, name, seq=s, records=r, stream="media") for i, (name, s, r) in enumerate(events)),
    )
    report = verify_dir(device.evidence, device.pub)
    for ln in report.lines:
        assert ln.seq == "" or all(part.isdigit() for part in ln.seq.split("-")), ln
    ok = all(
        (s is None or (type(s) is int and s >= 0)) and (r is None or (type(r) is int and r >= 0))
        for _, s, r in events
    )
    assert (line(report, "audit", "1").verdict is Verdict.MALFORMED) is not ok


_runs = iter(range(10**9))


def test_a_number_whose_open_failed_has_its_line_and_the_stream_stays_ok(
    device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No cut: the card refuses the create (EIO), the stream notes the number as a crash would,
    and the next segment opens. Nothing is missing, and the report says where #2 went."""
    media, log = boot(device)
    segment(media, log)

    def eio(path: Path, **kwargs: Any) -> EvidenceFile:
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as m:
        m.setattr(EvidenceFile, "create", eio)
        with pytest.raises(OSError):
            media.open({})
    segment(media, log)
    log.close(wall=1.8e9, reason="shutdown")
    report = verify_dir(device.evidence, device.pub)
    assert report.exit_code == 0
    reserved = line(report, "segment", "2")
    assert (reserved.verdict, reserved.file) == (Verdict.OK, "")
    assert reserved.reason.startswith("reserved, never written (a cut or a failed open")


def test_a_file_whose_header_the_note_saw_is_missing_when_deleted(device: Device) -> None:
    """A note of 0 records whose chain is a header hash saw a file with a header: that file
    held evidence (its header) and deleting it is a gap, not a reserved number."""
    media, log = boot(device)
    segment(media, log)
    media.open({}).abandon()  # #2's header is durable, then the power goes
    media, log = boot(device)
    segment(media, log)
    (device.evidence / "segment-00000002.bcam").unlink()
    gone = line(verify_dir(device.evidence, device.pub), "segment", "2")
    assert (gone.verdict, gone.reason) == (Verdict.MISSING, "gap in the chain")
