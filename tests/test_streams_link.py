"""The two streams name each other (spec 10.1): withholding the newest audit log, or the newest
segments, shows in what remains."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hal.inputs import InputEvent
from recorder.evidence.audit import decode_event, encode_event
from recorder.evidence.errors import FormatError
from recorder.evidence.reader import Verdict
from tests.simdevice import SimDevice, scenario
from tests.test_power_loss import FPS, Camera, camera_frames
from tests.vectors.generate import record_offsets


def two_shifts(tmp_path: Path) -> SimDevice:
    """Two boots of one camera, each with a recording."""
    cam = SimDevice.provision(tmp_path)
    for shift in (1, 2):
        cam.run(
            scenario(
                tmp_path / f"shift{shift}.toml",
                14,
                '[[step]]\nat = 2.0\ndo = "hold"\ninput = "record"\nseconds = 0.2\n'
                '[[step]]\nat = 6.0\ndo = "press"\ninput = "marker"\n',
            )
        )
    return cam


def lines(cam: SimDevice, kind: str) -> list[tuple[Verdict, str, str]]:
    return [(ln.verdict, ln.seq, ln.reason) for ln in cam.verify().lines if ln.kind == kind]


def test_each_header_and_event_names_the_other_stream(tmp_path: Path) -> None:
    cam = two_shifts(tmp_path)
    events = cam.audit_events()
    for seg in cam.segments():
        meta = cam.header(seg)
        opened = next(
            e
            for e in events
            if e["event"] == "segment_open" and e["seq"] == int(seg.stem.split("-")[1])
        )
        assert meta["audit_n"] == opened["n"] and meta["boot_id"]
    heads = [e["media"] for e in events if "media" in e]
    assert heads and all(set(h) == {"seq", "records", "chain"} for h in heads)
    assert cam.verify().worst is Verdict.OK


def test_withholding_the_newest_audit_log_is_missing(tmp_path: Path) -> None:
    cam = two_shifts(tmp_path)
    newest = sorted(cam.evidence.glob("audit-*.bcam"))[-1]
    newest.unlink()  # a whole shift's audit log: its mutes, markers and stops
    report = cam.verify()
    assert report.worst is Verdict.MISSING
    (missing,) = [ln for ln in lines(cam, "audit") if ln[0] is Verdict.MISSING]
    assert missing[1] == newest.stem.split("-")[1].lstrip("0")
    assert "header, not here" in missing[2]


def test_withholding_the_newest_segments_is_missing(tmp_path: Path) -> None:
    cam = two_shifts(tmp_path)
    for seg in cam.segments()[-2:]:
        seg.unlink()
    assert cam.verify().worst is Verdict.MISSING


def test_a_torn_segment_cut_shorter_than_an_event_saw_is_tampered(tmp_path: Path) -> None:
    """After a power cut, nothing but the audit log vouches for how far the newest segment got:
    an event (here a marker) that saw N durable records of it makes a shorter copy TAMPERED,
    where it would pass as a longer power cut."""
    cam = SimDevice.provision(tmp_path)
    camera = Camera(cam)
    camera.rec.input(InputEvent("record", True, 0.0))
    camera.rec.input(InputEvent("marker", True, 4.0))
    for f in camera_frames(0, 6 * FPS):
        camera.rec.frame(f)
    camera.cut()
    marker = next(e for e in cam.audit_events() if e["event"] == "marker")
    seq, records = marker["media"]["seq"], marker["media"]["records"]
    assert records >= 3
    seg = cam.evidence / f"segment-{seq:08d}.bcam"
    assert {ln.file: ln.verdict for ln in cam.verify().lines}[seg.name] is Verdict.INCOMPLETE
    cut_at = record_offsets(seg.read_bytes())[records - 1]  # keep records - 1 of them
    data = seg.read_bytes()
    seg.chmod(0o640)
    seg.write_bytes(data[:cut_at])
    line = next(ln for ln in cam.verify().lines if ln.file == seg.name)
    assert line.verdict is Verdict.TAMPERED and "saw" in line.reason, str(line)


_HEX = "0123456789abcdef"


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def valid_head(head: object) -> bool:
    """Section 10.1, read independently of the code: an object of exactly seq (>= 1), records
    (>= 0) and chain (64 lowercase hex digits)."""
    if not isinstance(head, dict) or sorted(head) != ["chain", "records", "seq"]:
        return False
    seq, records, chain = head["seq"], head["records"], head["chain"]
    return (
        _whole(seq)
        and seq >= 1
        and _whole(records)
        and records >= 0
        and isinstance(chain, str)
        and len(chain) == 64
        and all(c in _HEX for c in chain)
    )


_NUMBER = st.one_of(st.integers(-2, 3), st.booleans(), st.floats(-2, 3), st.text(max_size=2))
_CHAIN = st.one_of(
    st.text(max_size=70),
    st.text(alphabet=_HEX, min_size=63, max_size=65),
    st.text(alphabet=_HEX + "ABCDEF", min_size=64, max_size=64),
    st.integers(),
)


@given(
    st.one_of(
        st.integers(),
        st.text(max_size=5),
        st.lists(st.integers(), max_size=3),
        st.fixed_dictionaries({"seq": _NUMBER, "records": _NUMBER, "chain": _CHAIN}),
        st.fixed_dictionaries(
            {"seq": _NUMBER}, optional={"records": _NUMBER, "chain": _CHAIN, "x": st.integers()}
        ),
        st.dictionaries(st.text(max_size=6), st.integers(), max_size=4),
    )
)
@example({"seq": 1, "records": 0, "chain": "0" * 64})
@example({"seq": 0, "records": 0, "chain": "0" * 64})
@example({"seq": True, "records": 0, "chain": "0" * 64})
@example({"seq": 1, "records": -1, "chain": "0" * 64})
@example({"seq": 1, "records": 0, "chain": "0" * 64, "extra": 1})
def test_a_media_head_of_the_wrong_shape_is_malformed_never_a_crash(head: object) -> None:
    raw = encode_event(0, "marker", 1.8e9, 0, {}, media=head)  # type: ignore[arg-type]
    if valid_head(head):
        assert decode_event(raw)["media"] == head
    else:
        with pytest.raises(FormatError, match="'media'"):
            decode_event(raw)


def test_a_good_media_head_decodes() -> None:
    head = {"seq": 3, "records": 7, "chain": "ab" * 32}
    assert decode_event(encode_event(0, "marker", 1.8e9, 0, {}, media=head))["media"] == head
    with pytest.raises(FormatError, match="64 lowercase hex"):
        decode_event(encode_event(0, "marker", 1.8e9, 0, {}, media={**head, "chain": "AB" * 32}))
