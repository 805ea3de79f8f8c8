"""The witness (c2sp.org/tlog-witness add-checkpoint): a camera's real checkpoints, the real
HTTP server and the client the camera will use, every status code, rollbacks and forks."""

from __future__ import annotations

import base64
import http.client
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recorder.evidence.checkpoint import Checkpoint, device_origin
from recorder.evidence.keys import load_device_public, raw_public
from recorder.evidence.merkle import EMPTY_ROOT
from recorder.evidence.note import (
    TIMESTAMPED_ED25519,
    Note,
    NoteSignature,
    Verifier,
    sign,
    verify,
    verify_cosignature,
)
from recorder.evidence.witness_client import (
    BadProof,
    BadRequest,
    BadSignature,
    Fork,
    SizeConflict,
    UnknownLog,
    WitnessError,
    WitnessUnavailable,
    add_checkpoint,
    cosigned,
    request_body,
)
from recorder.witness.request import MAX_BODY, MAX_PROOF
from recorder.witness.server import PATH, WitnessServer
from recorder.witness.state import State
from recorder.witness.witness import SIZE_TYPE, Witness
from tests.test_pinning import camera_checkpoint, save
from tests.test_pinning import verify as verify_cli
from tests.test_streams_link import two_shifts
from tests.witness_kit import (
    START,
    WITNESS_NAME,
    Camera,
    Clock,
    fixed,
    make_witness,
    serving,
    witness_key,
)

WITNESS = Verifier(WITNESS_NAME, TIMESTAMPED_ED25519, witness_key().public_key())


@pytest.fixture
def cam(tmp_path: Path) -> Camera:
    return Camera(tmp_path / "cam", "cam-1")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def witness(tmp_path: Path, cam: Camera, clock: Clock) -> Witness:
    return make_witness(tmp_path / "witness", [cam], clock)


def post(
    server: WitnessServer, body: bytes, path: str = PATH, method: str = "POST"
) -> tuple[int, str, str, http.client.HTTPResponse]:
    host, port = server.socket.getsockname()[:2]
    con = http.client.HTTPConnection(host, port, timeout=30)
    try:
        con.request(method, path, body=body)
        resp = con.getresponse()
        text = resp.read().decode()
        return resp.status, resp.getheader("Content-Type") or "", text, resp
    finally:
        con.close()


def test_each_checkpoint_of_a_camera_is_cosigned_in_turn_at_the_witness_s_time(
    cam: Camera, witness: Witness, clock: Clock
) -> None:
    with serving(witness) as server:
        old = 0
        for files in (1, 2, 5, 1):
            note = cam.finish(files)
            clock.advance(60)
            lines = add_checkpoint(server.url, note, old, cam.log.consistency(old))
            c = cosigned(note, lines, WITNESS)
            assert c.timestamp == clock.now  # the camera's trusted time anchor
            verify(c.note, cam.origin, cam.pub)  # still the camera's checkpoint
            assert verify_cosignature(Note.parse(c.note.encode()), WITNESS_NAME, WITNESS.public)
            old = cam.size
    latest = witness.state.latest(cam.origin)
    assert latest is not None and (latest.size, latest.cosigned_at) == (9, START + 240)
    assert latest.checkpoint == cam.notes[9].encode().decode()


def test_the_same_checkpoint_again_is_cosigned_again_with_a_later_time(
    cam: Camera, witness: Witness, clock: Clock
) -> None:
    cam.finish(3)
    assert witness.add_checkpoint(cam.body(0)).status == 200
    clock.advance(3600)
    r = witness.add_checkpoint(cam.body(3))  # nothing new: a fresh time anchor all the same
    assert r.status == 200
    lines = Note.parse(cam.notes[3].text.encode() + b"\n" + r.body).signatures
    assert cosigned(cam.notes[3], lines, WITNESS).timestamp == START + 3600


def test_every_refusal_has_the_protocol_s_status_and_says_what_was_wrong(
    tmp_path: Path, cam: Camera, witness: Witness
) -> None:
    cam.finish(4)
    stranger = Camera(tmp_path / "stranger", "not-provisioned")
    stranger.finish(1)
    forger = Ed25519PrivateKey.from_private_bytes(fixed("forger"))
    text = cam.notes[4].text
    forged = Note(text).with_signatures(sign(text, cam.origin, forger.public_key(), forger.sign))
    with serving(witness) as server:
        assert post(server, cam.body(0, 2))[0] == 200
        cases = {
            "malformed": (b"old 2\n\nnot a note", 400, "bad request"),
            "old > new": (cam.body(2).replace(b"old 2", b"old 7"), 400, "larger than"),
            "64 proof lines": (
                b"old 2\n" + b"".join([base64.b64encode(bytes(32)) + b"\n"] * 64) + b"\n"
                + cam.notes[4].encode(),
                400,
                f"at most {MAX_PROOF} proof lines",
            ),
            "unknown origin": (stranger.body(0), 404, stranger.origin),
            "another key": (request_body(forged, 2, cam.log.consistency(2, 4)), 403, "not signed"),
            "bad proof": (
                request_body(cam.notes[4], 2, [bytes(32)] * len(cam.log.consistency(2, 4))),
                422,
                "does not verify",
            ),
        }  # fmt: skip
        for what, (body, status, words) in cases.items():
            got, ctype, text_, _ = post(server, body)
            assert (got, ctype) == (status, "text/plain; charset=utf-8"), what
            assert words in text_ and text_.endswith("\n") and "\n" not in text_[:-1], what
        got, ctype, text_, _ = post(server, cam.body(0, 4))  # it has cosigned 2, not 0
        assert (got, ctype, text_) == (409, SIZE_TYPE, "2\n")
        latest = witness.state.latest(cam.origin)
        assert latest is not None and latest.size == 2  # none of them moved it


def test_a_tampered_device_signature_is_forbidden(cam: Camera, witness: Witness) -> None:
    note = cam.finish(2)
    (sig,) = note.signatures
    bad = NoteSignature(sig.name, sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:])
    r = witness.add_checkpoint(request_body(Note(note.text, (bad,)), 0, []))
    assert r.status == 403 and b"does not verify" in r.body
    # A good line does not save a note that also carries a bad line of the same key.
    r = witness.add_checkpoint(request_body(Note(note.text, (sig, bad)), 0, []))
    assert r.status == 403
    assert witness.state.latest(cam.origin) is None


def test_lines_of_other_keys_are_ignored_and_not_kept(cam: Camera, witness: Witness) -> None:
    note = cam.finish(2)
    other = Ed25519PrivateKey.from_private_bytes(fixed("other"))
    extra = sign(note.text, "someone.example/log", other.public_key(), other.sign)
    assert witness.add_checkpoint(request_body(note.with_signatures(extra), 0, [])).status == 200
    latest = witness.state.latest(cam.origin)
    assert latest is not None and latest.checkpoint == note.encode().decode()


def test_the_http_layer_refuses_what_it_will_not_read(cam: Camera, witness: Witness) -> None:
    cam.finish(1)
    with serving(witness) as server:
        status, _, text, _ = post(server, b"x" * (MAX_BODY + 1))
        assert status == 413 and str(MAX_BODY) in text
        status, _, text, resp = post(server, b"", method="GET")
        assert (status, resp.getheader("Allow")) == (405, "POST") and "POST" in text
        assert post(server, cam.body(0), path="/add-checkpoint/")[0] == 404
        assert post(server, cam.body(0), path="/")[0] == 404
        host, port = server.socket.getsockname()[:2]
        con = http.client.HTTPConnection(host, port, timeout=30)
        try:
            con.putrequest("POST", PATH)
            con.endheaders()  # no Content-Length
            resp = con.getresponse()
            assert resp.status == 411 and b"Content-Length" in resp.read()
        finally:
            con.close()
        assert post(server, cam.body(0))[0] == 200  # and it still serves


def test_one_connection_carries_many_requests(cam: Camera, witness: Witness) -> None:
    with serving(witness) as server:
        host, port = server.socket.getsockname()[:2]
        con = http.client.HTTPConnection(host, port, timeout=30)
        try:
            old = 0
            for _ in range(5):
                cam.finish(1)
                con.request("POST", PATH, body=cam.body(old))
                resp = con.getresponse()
                assert resp.status == 200, resp.read()
                resp.read()
                old = cam.size
            con.request("POST", PATH, body=cam.body(0))  # a refusal keeps the connection too
            resp = con.getresponse()
            assert (resp.status, resp.read()) == (409, b"5\n")
            con.request("POST", PATH, body=cam.body(5))
            assert con.getresponse().status == 200
        finally:
            con.close()


def test_a_fleet_docking_at_once_is_let_in_while_the_witness_is_busy(
    cam: Camera, witness: Witness
) -> None:
    """Fifty docks connect while the witness answers none (its accept loop not yet running):
    the kernel takes every connection into the listen backlog, and each is then answered."""
    cam.finish(1)
    assert witness.add_checkpoint(cam.body(0)).status == 200
    server = WitnessServer(("127.0.0.1", 0), witness)  # listening, not yet accepting
    docks: list[http.client.HTTPConnection] = []
    try:
        for _ in range(50):
            dock = http.client.HTTPConnection(*server.socket.getsockname()[:2], timeout=2)
            docks.append(dock)
            dock.connect()  # a full backlog drops the SYN: this times out
        server.start()
        for dock in docks:
            dock.request("POST", PATH, body=cam.body(1))
            resp = dock.getresponse()
            assert resp.status == 200
            lines = Note.parse(cam.notes[1].text.encode() + b"\n" + resp.read()).signatures
            cosigned(cam.notes[1], lines, WITNESS)  # raises unless it verifies
    finally:
        for dock in docks:
            dock.close()
        server.close()


def test_a_rollback_is_refused_whatever_old_size_it_gives(cam: Camera, witness: Witness) -> None:
    cam.finish(8)
    assert witness.add_checkpoint(cam.body(0, 5)).status == 200
    assert witness.add_checkpoint(cam.body(5, 8)).status == 200
    # The checkpoint of size 5 again, as a replay or a camera restored from an old backup:
    r = witness.add_checkpoint(b"old 8\n\n" + cam.notes[5].encode())
    assert r.status == 400 and b"old size 8 is larger than the size 5" in r.body
    for old in (0, 3, 5):
        r = witness.add_checkpoint(cam.body(old, 5))
        assert (r.status, r.body, r.content_type) == (409, b"8\n", SIZE_TYPE)
    latest = witness.state.latest(cam.origin)
    assert latest is not None and (latest.size, latest.root) == (8, cam.log.tree.root())


def test_a_fork_is_refused_and_both_signed_checkpoints_are_kept_as_proof(
    tmp_path: Path, cam: Camera, witness: Witness
) -> None:
    cam.finish(3)
    twin = cam.fork(tmp_path / "twin", "b")  # the same key, the log copied at size 3
    cam.finish(3)
    twin.finish(3)
    assert witness.add_checkpoint(cam.body(0, 3)).status == 200
    assert witness.add_checkpoint(cam.body(3, 6)).status == 200
    r = witness.add_checkpoint(twin.body(6, 6))
    assert r.status == 409 and r.content_type != SIZE_TYPE and b"fork" in r.body
    # A fork sent with another old size gets the size, and is kept all the same.
    twin.finish(1)
    cam.finish(1)
    r = witness.add_checkpoint(twin.body(3, 7))
    assert (r.status, r.body) == (409, b"6\n")
    assert witness.add_checkpoint(cam.body(6, 7)).status == 200
    assert witness.add_checkpoint(twin.body(3, 7)).status == 409
    forks = witness.state.forks()
    assert [(f.origin, f.size) for f in forks] == [(cam.origin, 6), (cam.origin, 7)]
    for f in forks:  # each is proof by itself: two notes the device signed, one size, two roots
        a, b = Note.parse(f.cosigned.encode()), Note.parse(f.conflicting.encode())
        verify(a, cam.origin, cam.pub)
        verify(b, cam.origin, cam.pub)
        ca, cb = Checkpoint.parse(a.text), Checkpoint.parse(b.text)
        assert ca.size == cb.size == f.size and ca.root != cb.root
    latest = witness.state.latest(cam.origin)
    assert latest is not None and latest.root == cam.log.tree.root()


def test_a_proof_that_does_not_verify_is_refused_and_its_note_kept(
    tmp_path: Path, cam: Camera, witness: Witness
) -> None:
    cam.finish(4)
    twin = cam.fork(tmp_path / "twin", "b")
    cam.finish(2)
    twin.finish(4)
    assert witness.add_checkpoint(cam.body(0, 6)).status == 200
    r = witness.add_checkpoint(twin.body(6, 8))  # the twin's proof leads to the twin's size 6
    assert r.status == 422 and b"does not verify" in r.body
    (kept,) = witness.state.refused()
    assert (kept.origin, kept.old_size) == (cam.origin, 6)
    assert kept.checkpoint == twin.notes[8].encode().decode()
    assert kept.against == cam.notes[6].encode().decode()
    assert witness.add_checkpoint(twin.body(6, 8)).status == 422  # kept once
    assert len(witness.state.refused()) == 1
    latest = witness.state.latest(cam.origin)
    assert latest is not None and latest.size == 6


def test_a_tree_of_size_zero_has_the_empty_root(cam: Camera, witness: Witness) -> None:
    def signed(cp: Checkpoint) -> bytes:
        text = cp.text()
        note = Note(text).with_signatures(sign(text, cam.origin, cam.pub, cam.key.sign))
        return request_body(note, 0, [])

    wrong, empty = Checkpoint(cam.origin, 0, bytes(32)), Checkpoint(cam.origin, 0, EMPTY_ROOT)
    assert witness.add_checkpoint(signed(wrong)).status == 422  # the empty tree's root is fixed
    assert witness.add_checkpoint(signed(empty)).status == 200
    assert witness.add_checkpoint(signed(wrong)).status == 409  # now a fork of what it cosigned


def test_the_state_survives_a_restart(tmp_path: Path, cam: Camera, witness: Witness) -> None:
    cam.finish(3)
    assert witness.add_checkpoint(cam.body(0)).status == 200
    again = make_witness(tmp_path / "witness", [cam])
    r = again.add_checkpoint(cam.body(0))
    assert (r.status, r.body) == (409, b"3\n")


def test_the_database_itself_refuses_to_move_a_log_backwards(cam: Camera, witness: Witness) -> None:
    cam.finish(5)
    assert witness.add_checkpoint(cam.body(0)).status == 200
    rows = (
        (4, cam.log.tree.root()),  # smaller
        (5, bytes(32)),  # same size, another root
    )
    for size, root in rows:
        with pytest.raises(sqlite3.IntegrityError, match="never"), witness.state.update() as tx:
            tx.advance(cam.origin, size, root, "x", 0)
    for statement in ("DELETE FROM logs", "DELETE FROM forks", "UPDATE refused SET reason = ''"):
        con = sqlite3.connect(witness.state.path)
        try:
            con.execute("INSERT INTO forks VALUES (1, 'o', 1, 'a', 'b', 0)")
            con.execute("INSERT INTO refused VALUES (1, 'o', 1, '', 'c', NULL, 'r', 0)")
            with pytest.raises(sqlite3.IntegrityError, match="never"):
                con.execute(statement)
        finally:
            con.rollback()
            con.close()
    latest = witness.state.latest(cam.origin)
    assert latest is not None and latest.size == 5


def test_a_database_of_another_version_is_refused(tmp_path: Path) -> None:
    from recorder.witness.errors import StateError

    state = State(tmp_path)
    con = sqlite3.connect(state.path)
    con.execute("PRAGMA user_version = 7")
    con.close()
    with pytest.raises(StateError, match="version 7"):
        State(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "witness.sqlite3").write_bytes(b"not a database" * 100)
    with pytest.raises(StateError, match="not a witness database"):
        State(tmp_path / "other")


# -- the client: every answer is a clear exception ---------------------------------------------


def test_the_client_names_each_refusal(tmp_path: Path, cam: Camera, witness: Witness) -> None:
    cam.finish(4)
    twin = cam.fork(tmp_path / "twin", "b")
    twin.finish(2)
    cam.finish(1)
    stranger = Camera(tmp_path / "stranger", "not-provisioned")
    stranger.finish(1)
    with serving(witness) as server:
        url = server.url
        add_checkpoint(url, cam.notes[4], 0, [])
        with pytest.raises(SizeConflict) as e:
            add_checkpoint(url, cam.notes[5], 0, [])
        assert e.value.size == 4 and e.value.status == 409
        add_checkpoint(url, cam.notes[5], 4, cam.log.consistency(4, 5))
        with pytest.raises(Fork, match="fork"):
            add_checkpoint(url, twin.notes[5], 5, [])
        with pytest.raises(UnknownLog, match="unknown log"):
            add_checkpoint(url, stranger.notes[1], 0, [])
        with pytest.raises(BadSignature):
            add_checkpoint(url, Note(cam.notes[5].text, stranger.notes[1].signatures), 5, [])
        with pytest.raises(BadRequest, match="larger"):
            add_checkpoint(url, cam.notes[4], 5, [])
        with pytest.raises(BadProof, match="does not verify"):
            add_checkpoint(url, twin.notes[6], 5, twin.log.consistency(5, 6))
        with pytest.raises(WitnessError, match="http"):
            add_checkpoint("file:///etc/passwd", cam.notes[5], 5, [])
        with pytest.raises(UnknownLog, match="no such endpoint"):  # the protocol's 404 too
            add_checkpoint(url + "/nowhere", cam.notes[5], 5, [])
    with pytest.raises(WitnessUnavailable, match="no answer"):
        add_checkpoint(url, cam.notes[5], 5, [])  # the server is gone


def test_only_the_trusted_witness_s_cosignature_counts(cam: Camera, witness: Witness) -> None:
    note = cam.finish(2)
    r = witness.add_checkpoint(cam.body(0))
    lines = list(Note.parse(note.text.encode() + b"\n" + r.body).signatures)
    impostor = Ed25519PrivateKey.from_private_bytes(fixed("impostor"))
    other = Verifier(WITNESS_NAME, TIMESTAMPED_ED25519, impostor.public_key())
    with pytest.raises(WitnessError, match="not cosigned"):
        cosigned(note, lines, other)
    bad = NoteSignature(lines[0].name, lines[0].key_id, lines[0].signature[:-1] + b"\0")
    with pytest.raises(WitnessError, match="does not verify"):
        cosigned(note, [bad], WITNESS)
    c = cosigned(note, [*lines, NoteSignature("x.example/w", b"abcd", b"sig")], WITNESS)
    assert c.note.signatures == (*note.signatures, lines[0])  # the stranger's line is dropped


def test_what_the_witness_cosigns_is_what_verify_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cam = two_shifts(tmp_path)  # a simulated camera, two shifts of evidence and its log
    note = camera_checkpoint(cam)
    pub = load_device_public(cam.config.state_dir / "device.pub")
    witness = Witness(
        WITNESS_NAME, witness_key(), {device_origin(raw_public(pub)): pub}, State(tmp_path / "w"),
        Clock(),
    )  # fmt: skip
    with serving(witness) as server:
        lines = add_checkpoint(server.url, note, 0, [])
    cp = save(tmp_path / "cosigned", cosigned(note, lines, WITNESS).note)
    code, out = verify_cli(cam, capsys, "--checkpoint", str(cp), "--witness-pub", WITNESS.vkey())
    assert code == 0, out
    files = len(list(cam.evidence.glob("*.bcam")))
    assert f"pins the newest end: {files} files, cosigned by {WITNESS_NAME} at 2027-01-15" in out
