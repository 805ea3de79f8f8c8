"""The custody path on the camera: the witness cosigns its checkpoint (a real witness on
127.0.0.1), the daemon audits the cosignature with the witness's time, and frees a segment only
when the bucket's word, a cosigned checkpoint and an audited event all hold; verify then
accounts for the freed segment from the signed event."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recorder.custody import FREE, Custody, FreeRequest, request_free
from recorder.evidence.audit import rfc3339
from recorder.evidence.chain import EXIT_OK
from recorder.evidence.cosigned import COSIGNED
from recorder.evidence.keys import key_id, raw_public
from recorder.evidence.note import Verifier
from recorder.evidence.pinning import Witness as Trusted
from recorder.evidence.pinning import open_checkpoint, pin
from recorder.evidence.reader import Verdict
from recorder.evidence.tlog import DeviceLog
from recorder.evidence.witness_client import BadProof, Fork
from recorder.offload.digest import digest_of_file
from recorder.offload.witnessing import ask_witness
from recorder.witness.server import WitnessServer
from recorder.witness.state import State
from recorder.witness.witness import Witness
from tests.profiles import examples
from tests.simdevice import SimDevice, scenario
from tests.test_streams_link import two_shifts
from tests.witness_kit import START, WITNESS_NAME, Clock, serving, witness_key

BUCKET = "evidence"


class Dock:
    """A camera and the agency's witness, which knows it."""

    def __init__(self, cam: SimDevice, server: WitnessServer, clock: Clock) -> None:
        self.cam, self.server, self.clock = cam, server, clock

    @property
    def witness(self) -> Verifier:
        return self.server.witness.verifier

    @property
    def state(self) -> Path:
        return self.cam.config.state_dir

    def log(self) -> DeviceLog:
        return DeviceLog(self.state, self.cam.device_pub)

    def cosign(self) -> Any:
        return ask_witness(self.state, self.cam.device_pub, self.server.url, self.witness)

    def configured(self, **offload: Any) -> SimDevice:
        changes = {
            "offload.witness_url": self.server.url,
            "offload.witness_vkey": self.witness.vkey(),
            "offload.bucket": BUCKET,
            **{f"offload.{k}": v for k, v in offload.items()},
        }
        return SimDevice(self.cam.root, self.cam.config.replace(changes))

    def boot(self, name: str, **offload: Any) -> SimDevice:
        """Another short boot of the camera (no recording), with the witness configured."""
        cam = self.configured(**offload)
        cam.run(scenario(cam.root / f"{name}.toml", 2, ""))
        return cam

    def events(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.cam.audit_events() if e["event"] == event]


@contextlib.contextmanager
def _dock(root: Path) -> Iterator[Dock]:
    cam = two_shifts(root / "cam")
    origin = DeviceLog(cam.config.state_dir, cam.device_pub).origin
    clock = Clock()
    witness = Witness(
        WITNESS_NAME, witness_key(), {origin: cam.device_pub}, State(root / "w"), clock
    )
    with serving(witness) as server:
        yield Dock(cam, server, clock)


@pytest.fixture
def dock(tmp_path: Path) -> Iterator[Dock]:
    with _dock(tmp_path) as d:
        yield d


def test_the_witness_cosigns_the_latest_checkpoint_and_the_daemon_audits_its_time(
    dock: Dock,
) -> None:
    size = dock.log().tree.size
    got = dock.cosign()
    assert (got.size, got.timestamp, got.asked) == (size, START, True)
    note = open_checkpoint(got.path.read_bytes(), dock.cam.device_pub, [_trusted(dock)])
    assert note.checkpoint.size == size and got.path.parent == dock.state / COSIGNED

    dock.boot("third")
    (event,) = dock.events("cosigned")
    assert event["size"] == size and event["witness"] == WITNESS_NAME
    assert event["witness_time"] == rfc3339(START)
    assert event["root"] == note.checkpoint.root.hex()

    # The log grew (the third boot's files); the next offload asks from the size cosigned.
    dock.clock.advance(3600)
    again = dock.cosign()
    assert again.asked and again.size == dock.log().tree.size > size
    assert again.timestamp == START + 3600
    assert dock.cosign().asked is False  # nothing new: nothing asked
    dock.boot("fourth")
    assert [e["size"] for e in dock.events("cosigned")] == [size, again.size]  # each once


def test_a_camera_whose_log_went_back_is_refused_by_its_witness(dock: Dock, tmp_path: Path) -> None:
    """The card restored from an image taken before the last boot, then recording again: the
    same numbers with other contents. The witness refuses the fork and keeps its view."""
    backup = tmp_path / "backup"
    shutil.copytree(dock.cam.root, backup)
    dock.boot("later")
    later = dock.cosign()
    shutil.rmtree(dock.cam.root)
    shutil.copytree(backup, dock.cam.root)  # the shift after the image is gone
    dock.boot("other")
    assert dock.log().tree.size == later.size  # the same size, another tree
    with pytest.raises(Fork):
        dock.cosign()
    assert not (dock.state / COSIGNED).exists()
    dock.boot("another")
    with pytest.raises(BadProof):  # further on, no proof leads from the witness's view
        dock.cosign()


def _trusted(dock: Dock) -> Trusted:
    return Trusted(dock.witness.name, dock.witness.public)


def _request(dock: Dock, seq: int, **override: Any) -> Path:
    """Offload's request to free segment ``seq``: what HEAD of its object would have given."""
    path = dock.cam.evidence / f"segment-{seq:08d}.bcam"
    size = path.stat().st_size
    digest = digest_of_file(path, size, 8 << 20)
    prefix = key_id(raw_public(dock.cam.device_pub)).hex()
    fields: dict[str, Any] = {
        "seq": seq,
        "size": size,
        "sha256": digest.sha256,
        "etag": digest.etag,
        "bucket": BUCKET,
        "key": f"{prefix}/media/{seq:08d}.bcam",
        "version_id": "v1",
        "retain_until": "2031-01-01T00:00:00+00:00",
    }
    return request_free(dock.state, FreeRequest(**(fields | override)))


def test_a_segment_is_freed_only_when_covered_and_audited_and_verify_accounts_for_it(
    dock: Dock,
) -> None:
    segments = dock.cam.segments()
    assert len(segments) >= 2
    first = segments[0]
    request = _request(dock, 1)

    dock.boot("off")  # free_space off: offered, kept
    assert first.exists() and request.exists()
    assert not dock.events("freed")

    dock.boot("uncovered", free_space=True)  # no cosigned checkpoint covers it yet
    assert first.exists() and request.exists()

    cosigned = dock.cosign()
    dock.boot("covered", free_space=True)
    assert not first.exists() and not request.exists()
    (freed,) = dock.events("freed")
    assert (freed["stream"], freed["seq"], freed["checkpoint"]) == ("media", 1, cosigned.size)
    key = f"{key_id(raw_public(dock.cam.device_pub)).hex()}/media/00000001.bcam"
    assert freed["bucket"] == BUCKET and freed["key"] == key

    report = dock.cam.verify()
    assert report.exit_code == EXIT_OK, [str(ln) for ln in report.lines]
    (line,) = [ln for ln in report.lines if ln.kind == "segment" and ln.seq == "1"]
    assert line.verdict is Verdict.OK and "freed (the camera's word)" in line.reason
    assert f"confirm it with bodycam verify s3://{BUCKET}/{key.split('/')[0]}" in line.reason

    # Pinned by the cosigned checkpoint, with the camera's listing: nothing is withheld.
    pinned = [open_checkpoint(cosigned.path.read_bytes(), dock.cam.device_pub, [_trusted(dock)])]
    listing = dock.log().listing()
    for shown in (listing, None):
        pinned_report = pin(report, pinned, shown)
        assert pinned_report.worst is Verdict.OK, [str(ln) for ln in pinned_report.lines]


def test_a_segment_deleted_without_a_freed_event_is_still_missing(dock: Dock) -> None:
    dock.cosign()
    (dock.cam.evidence / "segment-00000001.bcam").unlink()
    report = dock.cam.verify()
    assert any(ln.verdict is Verdict.MISSING and ln.seq == "1" for ln in report.lines), [
        str(ln) for ln in report.lines
    ]


def test_a_request_that_does_not_match_the_file_is_refused_and_audited(dock: Dock) -> None:
    dock.cosign()
    first = dock.cam.segments()[0]
    request = _request(dock, 1, size=first.stat().st_size + 1)
    junk = dock.state / FREE / "segment-00000002.json"
    junk.write_bytes(b'{"seq": "two"}')
    dock.boot("refused", free_space=True)
    assert first.exists() and (dock.cam.evidence / "segment-00000002.bcam").exists()
    assert not request.exists() and not junk.exists()  # refused once, not every ten seconds
    faults = [e for e in dock.events("fault") if e["what"] == "free request refused"]
    assert len(faults) == 2
    assert any("the bucket's" in f["error"] for f in faults)
    assert not dock.events("freed")


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=70),
    st.lists(st.integers(), max_size=2),
)
_REQUESTS = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(
        st.sampled_from(
            ["seq", "size", "sha256", "bucket", "key", "version_id", "retain_until", "other"]
        ),
        _VALUES,
    ).map(lambda d: json.dumps(d).encode()),
)


@pytest.fixture(scope="module")
def covered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dock]:
    """A camera whose segments a cosigned checkpoint covers, and its witness."""
    root = tmp_path_factory.mktemp("covered")
    with _dock(root) as dock:
        dock.cosign()
        yield dock


@settings(max_examples=examples(60), deadline=None)
@given(data=_REQUESTS)
@example(data=b'{"seq": 1, "size": Infinity}')
@example(data=b'{"seq": 1e400}')
@example(data=b"[1, 2]")
def test_no_request_bytes_delete_a_segment_or_stop_the_daemon(covered: Dock, data: bytes) -> None:
    """Whatever a request file holds, nothing is deleted unless it names a covered segment by
    its true size, the daemon goes on, and a refused request is audited and removed."""
    dock = covered
    cam = dock.configured(free_space=True)
    custody = Custody(
        dock.state,
        cam.evidence,
        cam.device_pub,
        dock.witness,
        free_space=True,
        bucket=BUCKET,
        log_=dock.log,
    )
    before = {p.name: p.stat().st_size for p in cam.segments()}
    path = dock.state / FREE / "segment-00000001.json"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    audited: list[tuple[str, dict[str, Any]]] = []

    def audit(event: str, **fields: Any) -> None:
        audited.append((event, fields))

    custody.poll(audit)
    custody.close(audit)  # the examination finishes, and is acted on
    after = {p.name: p.stat().st_size for p in cam.segments()}
    freed = [f for e, f in audited if e == "freed"]
    if freed:  # only a request true to the file can free it
        (f,) = freed
        name = f"segment-{f['seq']:08d}.bcam"
        assert before[name] == f["bytes"] and name not in after
        pytest.fail(f"random bytes freed a segment: {data!r}")
    assert after == before
    assert not path.exists()
    assert [e for e, _ in audited if e != "cosigned"] == ["fault"]


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ({"sha256": "0" * 64}, "SHA-256 or ETag is not the bucket's"),
        ({"etag": "0" * 32}, "SHA-256 or ETag is not the bucket's"),
        ({"bucket": "no-such-bucket"}, "(offload.bucket)"),
        ({"key": "elsewhere/media/00000001.bcam"}, "(offload.bucket)"),
        ({"retain_until": "1970-01-02T00:00:00+00:00"}, "its retention ended"),
    ],
    ids=["sha256", "etag", "bucket", "key", "retention"],
)
def test_a_forged_request_is_refused_whatever_it_claims(
    dock: Dock, override: dict[str, Any], why: str
) -> None:
    """The daemon takes offload's word only as far as it can check it: the file's own digests,
    the configured bucket, the key its number gives, retention not over."""
    dock.cosign()
    first = dock.cam.segments()[0]
    _request(dock, 1, **override)
    dock.boot("forged", free_space=True)
    assert first.exists()
    (fault,) = [e for e in dock.events("fault") if e["what"] == "free request refused"]
    assert why in fault["error"]
    assert not dock.events("freed")


def test_a_listing_that_does_not_match_the_cosigned_checkpoint_frees_nothing(dock: Dock) -> None:
    """Leaves swapped in tlog.leaves (an uncovered segment made to look covered) are caught by
    the root of the cosigned checkpoint."""
    dock.cosign()
    leaves = dock.state / "tlog.leaves"
    data = bytearray(leaves.read_bytes())
    size = 61
    data[0:size], data[size : 2 * size] = data[size : 2 * size], data[0:size]
    leaves.write_bytes(bytes(data))
    first = dock.cam.segments()[0]
    _request(dock, 1)
    dock.boot("swapped", free_space=True)
    assert first.exists()
    (fault,) = [e for e in dock.events("fault") if e["what"] == "free request refused"]
    assert "does not match its checkpoint" in fault["error"]


def test_a_fifo_among_the_requests_or_the_notes_never_blocks_the_daemon(dock: Dock) -> None:
    dock.cosign()
    os.mkfifo(dock.state / COSIGNED / "checkpoint-99.note")
    (dock.state / FREE).mkdir(exist_ok=True)
    os.mkfifo(dock.state / FREE / "segment-00000001.json")
    dock.boot("fifo", free_space=True)  # returns: nothing waited on a writer
    assert dock.cam.segments()[0].exists()
    assert [e["size"] for e in dock.events("cosigned")] == [dock.log().tree.size - 1]
