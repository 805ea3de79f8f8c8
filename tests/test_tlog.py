"""The camera's log: every finished file a leaf, a signed checkpoint at each, proofs on demand."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from recorder.evidence.checkpoint import Checkpoint, file_leaf
from recorder.evidence.errors import StateError
from recorder.evidence.header import Kind, Link, LinkState
from recorder.evidence.keys import load_device_public
from recorder.evidence.merkle import root, verify_consistency, verify_inclusion
from recorder.evidence.note import verify
from recorder.evidence.reader import check_file
from recorder.evidence.tlog import LEAVES, DeviceLog
from tests.simdevice import SimDevice
from tests.test_power_loss import Camera, press_and_record
from tests.test_streams_link import two_shifts


def the_log(cam: SimDevice) -> DeviceLog:
    state = cam.config.state_dir
    pub = load_device_public(state / "device.pub")
    return DeviceLog(state, pub, lambda data: b"")  # reading only: it signs nothing


def leaves_from_the_files(cam: SimDevice) -> set[bytes]:
    """What each file on disk contributes, worked out from the file alone."""
    out = set()
    for path in sorted(cam.evidence.glob("*.bcam")):
        o = check_file(path, cam.device_pub)
        assert o.header is not None
        out.add(file_leaf(o.header.kind, o.header.seq, o.header.segment_id, o.valid, o.chain))
    return out


def test_every_finished_file_is_a_leaf_and_the_checkpoint_is_signed(tmp_path: Path) -> None:
    cam = two_shifts(tmp_path)
    log = the_log(cam)
    files = list(cam.evidence.glob("*.bcam"))
    assert log.tree.size == len(files)  # both streams, one tree
    assert set(log.leaves()) == leaves_from_the_files(cam)
    assert {(leaf.kind, leaf.seq) for leaf in log.listing()} == {
        (Kind.MEDIA if p.name.startswith("segment") else Kind.AUDIT, int(p.stem.split("-")[1]))
        for p in files
    }  # the listing names every file
    assert log.checkpoint is not None
    verify(log.checkpoint, log.origin, cam.device_pub)
    cp = Checkpoint.parse(log.checkpoint.text)
    assert (cp.origin, cp.size, cp.root) == (log.origin, log.tree.size, root(log.leaves()))


def test_the_audit_log_records_checkpoints_and_any_two_are_consistent(tmp_path: Path) -> None:
    cam = two_shifts(tmp_path)
    log = the_log(cam)
    events = cam.audit_events()
    seen = [e for e in events if e["event"] == "checkpoint"]
    seen += [e["checkpoint"] for e in events if e["event"] == "boot" and e.get("checkpoint")]
    heads = sorted({(c["size"], c["root"]) for c in seen})
    assert len(heads) >= 3
    for (m, root_m), (n, root_n) in itertools.combinations(heads, 2):
        proof = log.consistency(m, n)
        verify_consistency(m, n, proof, bytes.fromhex(root_m), bytes.fromhex(root_n))
    final = root(log.leaves())
    for i, leaf in enumerate(log.leaves()):
        verify_inclusion(leaf, i, log.tree.size, log.inclusion(i), final)


def test_a_file_finished_but_not_logged_before_a_cut_is_logged_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cam = SimDevice.provision(tmp_path)

    def cut_before_logging(self: DeviceLog, kind: Kind, link: object) -> None:
        raise OSError(5, "the power went before the log's state was written")

    with monkeypatch.context() as m:
        m.setattr(DeviceLog, "add", cut_before_logging)
        press_and_record(cam, 25).shut_down()  # segments closed; none logged
    assert the_log(cam).tree.size == 0
    Camera(cam).shut_down()  # the next start catches up: no file is left out
    log = the_log(cam)
    media_last = max(int(p.stem.split("-")[1]) for p in cam.segments())
    assert log.logged["media"] == media_last and log.logged["audit"] >= 1
    assert log.checkpoint is not None
    assert set(log.leaves()) == leaves_from_the_files(cam)  # every file, rebuilt from links


def test_a_leaf_written_past_the_logged_size_is_a_cut_and_is_replaced(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    press_and_record(cam, 12).shut_down()
    leaves = cam.config.state_dir / LEAVES
    size = the_log(cam).tree.size
    with leaves.open("ab") as f:
        f.write(
            b"\x02" + b"\xee" * 60
        )  # appended and synced, then the cut before tlog.json moved on
    camera = Camera(cam)
    camera.shut_down()
    log = the_log(cam)
    assert log.tree.size > size and all(leaf.chain != b"\xee" * 32 for leaf in log.listing())
    assert root(log.leaves()) == log.tree.root()


def test_a_torn_file_is_logged_as_its_recovery_note_names_it(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    press_and_record(cam, 12).cut()
    camera = Camera(cam)  # recovery finds the torn segment: that is how it finished
    camera.shut_down()
    media = camera.rec.media
    torn = [p for p in cam.segments() if not check_file(p, cam.device_pub).final]
    assert len(torn) == 1
    o = check_file(torn[0], cam.device_pub)
    assert o.header is not None
    leaf = file_leaf(Kind.MEDIA, o.header.seq, o.header.segment_id, o.valid, o.chain)
    assert leaf in the_log(cam).leaves()
    assert media.last.state is not LinkState.NONE


def test_an_unreadable_log_is_a_fault_and_the_camera_records_on(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    press_and_record(cam, 3).shut_down()
    (cam.config.state_dir / "tlog.json").write_text("{ not json")
    camera = press_and_record(cam, 12)
    assert camera.rec.writer is not None  # recording
    camera.shut_down()
    faults = [e for e in cam.audit_events() if e["event"] == "fault"]
    assert any(e["what"] == "the camera's log is unreadable" for e in faults)
    assert (cam.config.state_dir / "tlog.json").read_text() == "{ not json"  # left for a person


def test_a_log_opened_to_read_gives_proofs_and_refuses_to_add(tmp_path: Path) -> None:
    cam = two_shifts(tmp_path)
    state = cam.config.state_dir
    before = (state / LEAVES).read_bytes()
    reader = DeviceLog(state, cam.device_pub)  # no key: offload's and custody's view
    size = reader.tree.size
    verify_consistency(1, size, reader.consistency(1), *_roots(reader, 1, size))
    last = reader.listing()[-1]
    with pytest.raises(StateError, match="opened to read"):
        reader.add(last.kind, Link(LinkState.CLOSED, last.seq + 1, bytes(16), 1, bytes(32)))
    assert (state / LEAVES).read_bytes() == before and reader.tree.size == size


def _roots(log: DeviceLog, old: int, new: int) -> tuple[bytes, bytes]:
    leaves = log.leaves()
    return root(leaves[:old]), root(leaves[:new])
