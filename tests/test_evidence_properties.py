"""Properties of the evidence format (issue: the format's guarantees, each a test)."""

from __future__ import annotations

import io
import itertools
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.evidence.chain import verify_dir
from recorder.evidence.header import Suite
from recorder.evidence.media import STREAM_VIDEO, Frame, encode_frames
from recorder.evidence.reader import Verdict, decrypt_file, read_bytes
from tests.profiles import examples

from .conftest import Device
from .vectors.generate import record_offsets


@pytest.fixture
def segment(device: Device) -> tuple[Device, bytes, list[bytes]]:
    pts = device.write_segments(1, records=4, audit=False)
    return device, (device.evidence / "segment-00000001.bcam").read_bytes(), pts


def decrypt(device: Device, blob: bytes) -> tuple[Verdict, list[bytes]]:
    reader, it = decrypt_file(io.BytesIO(blob), device.pub, device.agency)
    pts = list(it)
    return reader.outcome.verdict, pts


def test_a_cut_at_every_byte_keeps_every_complete_record(segment) -> None:  # type: ignore[no-untyped-def]
    device, blob, pts = segment
    ends = [*record_offsets(blob)[1:], len(blob)]  # where each record ends
    for cut in range(len(blob)):
        verdict, got = decrypt(device, blob[:cut])
        complete = sum(1 for e in ends[:-1] if e <= cut)  # DATA records wholly before the cut
        assert verdict is Verdict.INCOMPLETE, cut
        assert got == pts[:complete], cut


def test_the_whole_file_is_ok_and_decrypts_for_both_recipients(segment) -> None:  # type: ignore[no-untyped-def]
    device, blob, pts = segment
    assert decrypt(device, blob) == (Verdict.OK, pts)
    _, it = decrypt_file(io.BytesIO(blob), device.pub, device.escrow)
    assert list(it) == pts


@settings(max_examples=examples(300))
@given(data=st.data())
def test_any_flipped_bit_is_never_ok(segment, data) -> None:  # type: ignore[no-untyped-def]
    device, blob, _ = segment
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    bad = bytearray(blob)
    bad[bit // 8] ^= 1 << (bit % 8)
    assert read_bytes(bytes(bad), device.pub).verdict is not Verdict.OK


def test_every_byte_flipped_is_never_ok(segment) -> None:  # type: ignore[no-untyped-def]
    device, blob, _ = segment
    for i in range(len(blob)):
        bad = blob[:i] + bytes([blob[i] ^ 0x80]) + blob[i + 1 :]
        assert read_bytes(bad, device.pub).verdict is not Verdict.OK, i


def split_records(blob: bytes) -> tuple[bytes, list[bytes]]:
    offs = [*record_offsets(blob), len(blob)]
    return blob[: offs[0]], [blob[a:b] for a, b in itertools.pairwise(offs)]


@given(data=st.data())
def test_any_deletion_reordering_or_duplication_of_records_is_reported(segment, data) -> None:  # type: ignore[no-untyped-def]
    device, blob, _ = segment
    head, recs = split_records(blob)
    idx = list(range(len(recs)))
    new = data.draw(
        st.lists(st.sampled_from(idx), min_size=1, max_size=8).filter(lambda x: x != idx)
    )
    out = read_bytes(head + b"".join(recs[i] for i in new), device.pub)
    assert out.verdict is not Verdict.OK


def test_chacha20_segments_round_trip(device: Device) -> None:
    media = device.media(Suite.CHACHA20_POLY1305)
    f = media.open({})
    pt = encode_frames([Frame(STREAM_VIDEO, 0, True, b"frame bytes")])
    f.append(pt)
    media.close({})
    blob = (device.evidence / "segment-00000001.bcam").read_bytes()
    assert decrypt(device, blob) == (Verdict.OK, [pt])


# --- across segments -------------------------------------------------------------------------


def verdicts(device: Device) -> dict[str, Verdict]:
    report = verify_dir(device.evidence, device.pub)
    return {f"{ln.kind}#{ln.seq}:{ln.file}": ln.verdict for ln in report.lines}


def test_a_clean_stream_verifies_ok(device: Device) -> None:
    device.write_segments(4)
    report = verify_dir(device.evidence, device.pub)
    assert report.worst is Verdict.OK and report.exit_code == 0
    assert len(report.lines) == 5  # four segments and one audit log


@given(gone=st.sets(st.integers(1, 5), min_size=1))
def test_any_deleted_segments_are_reported_missing(make_device, gone) -> None:  # type: ignore[no-untyped-def]
    device = make_device(f"del{next(_runs)}")
    device.write_segments(5)
    for seq in gone:
        (device.evidence / f"segment-{seq:08d}.bcam").unlink(missing_ok=True)
    report = verify_dir(device.evidence, device.pub)
    missing = [ln for ln in report.lines if ln.verdict is Verdict.MISSING]
    named = {int(s) for ln in missing for s in _expand(ln.seq)}
    assert named == gone
    assert report.exit_code == 3


_runs = itertools.count()


def _expand(span: str) -> range:
    lo, _, hi = span.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def test_a_duplicated_segment_is_reported(device: Device) -> None:
    device.write_segments(3)
    shutil.copy(device.evidence / "segment-00000002.bcam", device.evidence / "segment-copy.bcam")
    report = verify_dir(device.evidence, device.pub)
    assert [ln.verdict for ln in report.lines if ln.file == "segment-copy.bcam"] == [
        Verdict.TAMPERED
    ]


def test_renaming_segments_cannot_reorder_them(device: Device) -> None:
    device.write_segments(3)
    a, b = device.evidence / "segment-00000001.bcam", device.evidence / "segment-00000003.bcam"
    tmp = device.evidence / "x"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    report = verify_dir(device.evidence, device.pub)
    # Order comes from the signed sequence numbers, not from names: the chain still holds...
    assert report.worst is Verdict.OK
    # ...and the report says which file holds which signed number.
    line = next(ln for ln in report.lines if ln.file == "segment-00000001.bcam")
    assert line.seq == "3"


def test_a_segment_from_another_device_is_foreign(device: Device, make_device) -> None:  # type: ignore[no-untyped-def]
    device.write_segments(2)
    other = make_device("other")
    other.write_segments(1, audit=False)
    shutil.copy(other.evidence / "segment-00000001.bcam", device.evidence / "inserted.bcam")
    assert verdicts(device)["?#:inserted.bcam"] is Verdict.FOREIGN


def test_truncating_a_closed_segment_later_is_tampered_not_incomplete(device: Device) -> None:
    device.write_segments(3)
    p = device.evidence / "segment-00000002.bcam"
    blob = p.read_bytes()
    p.chmod(0o600)
    p.write_bytes(blob[: record_offsets(blob)[2]])  # keep two records: looks like a power cut
    v = verdicts(device)
    assert v["segment#2:segment-00000002.bcam"] is Verdict.TAMPERED


def test_truncating_the_newest_segment_is_caught_by_the_audit_log(device: Device) -> None:
    device.write_segments(2)
    p = device.evidence / "segment-00000002.bcam"
    blob = p.read_bytes()
    p.chmod(0o600)
    p.write_bytes(blob[: record_offsets(blob)[1]])
    assert verdicts(device)["segment#2:segment-00000002.bcam"] is Verdict.TAMPERED


def test_deleting_the_newest_segment_is_caught_by_the_audit_log(device: Device) -> None:
    device.write_segments(3)
    (device.evidence / "segment-00000003.bcam").unlink()
    report = verify_dir(device.evidence, device.pub)
    assert [(ln.verdict, ln.seq) for ln in report.lines if ln.verdict is not Verdict.OK] == [
        (Verdict.MISSING, "3")
    ]


def test_a_crash_then_recovery_is_incomplete_and_a_later_truncation_is_tampered(
    device: Device,
) -> None:
    media = device.media()
    f = media.open({})
    for i in range(5):
        f.append(b"record %d" % i)
    f.abandon()  # the power goes
    media = device.media()
    note = media.recover()
    assert note is not None and note.records == 5
    media.open({})
    media.close({})
    report = verify_dir(device.evidence, device.pub)
    assert [ln.verdict for ln in report.lines] == [Verdict.INCOMPLETE, Verdict.OK]
    assert "recovery note confirms" in report.lines[0].reason
    p = device.evidence / "segment-00000001.bcam"
    blob = p.read_bytes()
    p.chmod(0o600)
    p.write_bytes(blob[: record_offsets(blob)[3]])
    report = verify_dir(device.evidence, device.pub)
    assert report.lines[0].verdict is Verdict.TAMPERED
    assert "after recovery" in report.lines[0].reason


def test_sequence_numbers_never_repeat_across_crashes(device: Device) -> None:
    seqs = []
    for _ in range(4):
        media = device.media()
        media.recover()
        f = media.open({})
        seqs.append(f.seq)
        f.abandon()  # crash every time, before any record
    assert seqs == [1, 2, 3, 4]
    (device.state / "media.chain.json").unlink()  # even if the state file is lost
    assert device.media().open({}).seq == 5


def test_nothing_stored_on_the_device_opens_a_segment(device: Device) -> None:
    """Confidentiality: the device key, config and state cannot unwrap a finished segment."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from recorder.evidence.errors import DecryptError
    from recorder.evidence.keys import generate
    from recorder.evidence.reader import FileReader
    from recorder.evidence.recipients import unwrap
    from recorder.evidence.stream import payload_key

    generate("device", device.state)  # the device's key files live in its state directory
    (device.state / "bodycam.toml").write_text('device_id = "BC-TEST"\n')
    device.write_segments(1, audit=False)
    with (device.evidence / "segment-00000001.bcam").open("rb") as f:
        reader = FileReader(f, device.pub)
        list(reader.records())
    header = reader.outcome.header
    assert header is not None
    file_key = unwrap(header.recipients, device.agency, header.segment_id)
    secrets_ = (file_key, payload_key(file_key, header.segment_id))
    stored = [p.read_bytes() for p in device.state.rglob("*") if p.is_file()]
    stored.append(device.key.private_bytes_raw())
    for blob in stored:
        assert not any(s in blob for s in secrets_)
        # every 32-byte window of every stored file, tried as an agency key
        for i in range(len(blob) - 31):
            candidate = X25519PrivateKey.from_private_bytes(blob[i : i + 32])
            with pytest.raises(DecryptError):
                unwrap(header.recipients, candidate, header.segment_id)


def test_key_ids_are_in_the_fixed_place(device: Device) -> None:
    from recorder.evidence.keys import key_id, raw_public

    device.write_segments(1, audit=False)
    blob = (device.evidence / "segment-00000001.bcam").read_bytes()
    assert blob[17:25] == key_id(raw_public(device.pub))
