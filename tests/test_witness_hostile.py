"""Nothing a client sends makes the witness fail, lose state or move a log backwards.

Hypothesis sends one witness, example after example, bytes of every kind: noise, valid bodies
with bytes changed, and valid-but-hostile requests (a twin's checkpoints, any checkpoint the
device key signs, forged and corrupted signature lines, any old size, any proof); and, over a
socket to the real server, requests with any method, path, Content-Length and body. After
each: no 5xx, each log's row the same or further on, every fork kept genuine, and the witness
still cosigns its latest checkpoint again.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import event, given, settings
from hypothesis import strategies as st

from recorder.evidence.checkpoint import Checkpoint
from recorder.evidence.note import Note, NoteSignature, sign, verify
from recorder.evidence.witness_client import request_body
from recorder.witness.request import MAX_BODY
from recorder.witness.server import PATH, WitnessServer
from tests.profiles import examples
from tests.witness_kit import Camera, fixed, make_witness, serving

SIZE = 12
ANSWERS = {200, 400, 403, 404, 409, 422}


class Kit:
    """A camera, its forked twin and a stranger, and one witness that lives for a whole run."""

    def __init__(self, tmp: Path) -> None:
        self.cam = Camera(tmp / "cam", "cam-h")
        self.cam.finish(4)
        self.twin = self.cam.fork(tmp / "twin", "twin")
        self.cam.finish(SIZE - 4)
        self.twin.finish(SIZE - 4)
        self.stranger = Camera(tmp / "stranger", "stranger")
        self.stranger.finish(3)
        self.forger = Ed25519PrivateKey.from_private_bytes(fixed("forger"))
        self.witness = make_witness(tmp / "witness", [self.cam])
        assert self.witness.add_checkpoint(self.cam.body(0, 2)).status == 200
        self.before = self.rows()

    def rows(self) -> dict[str, tuple[int, bytes]]:
        return {o: (r.size, r.root) for o, r in self.witness.state.logs().items()}

    def check(self) -> None:
        """The invariants after any request."""
        after = self.rows()
        for origin, (size, root) in self.before.items():
            new_size, new_root = after[origin]
            assert new_size > size or (new_size, new_root) == (size, root), (origin, size)
        assert set(after) <= {self.cam.origin}  # no row for a log it does not know
        for f in self.witness.state.forks():  # each kept fork is real proof
            a, b = Note.parse(f.cosigned.encode()), Note.parse(f.conflicting.encode())
            verify(a, self.cam.origin, self.cam.pub)
            verify(b, self.cam.origin, self.cam.pub)
            ca, cb = Checkpoint.parse(a.text), Checkpoint.parse(b.text)
            assert ca.size == cb.size == f.size and ca.root != cb.root
        latest = self.witness.state.latest(self.cam.origin)
        assert latest is not None
        again = request_body(Note.parse(latest.checkpoint.encode()), latest.size, [])
        assert self.witness.add_checkpoint(again).status == 200  # it still cosigns
        self.before = after


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    return Kit(tmp_path)


def mutate(data: st.DataObject, body: bytes) -> bytes:
    """``body`` with a few bytes replaced, inserted or deleted."""
    b = bytearray(body)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(b)))
        op = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = data.draw(st.sampled_from([0x0A, 0x20, 0x2B, 0x30, 0x00, 0xE2, 0xFF, 0x41]))
        if op == "insert":
            b.insert(i, byte)
        elif i < len(b):
            if op == "replace":
                b[i] = byte
            else:
                del b[i]
    return bytes(b)


@settings(max_examples=examples(200))
@given(data=st.data())
def test_any_bytes_get_an_answer_and_move_nothing_back(kit: Kit, data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(["noise", "mutated", "shaped"]))
    if source == "noise":
        body = data.draw(st.binary(max_size=300))
    elif source == "mutated":
        body = mutate(data, kit.cam.body(data.draw(st.integers(0, 2)), SIZE))
    else:
        lines = data.draw(st.lists(st.text(max_size=50), max_size=70))
        body = ("\n".join(lines) + "\n\n").encode() + kit.cam.notes[SIZE].encode()
    r = kit.witness.add_checkpoint(body)
    event(f"status {r.status}")
    assert r.status in ANSWERS and r.body.endswith(b"\n")
    assert r.status != 200 or r.body.startswith("\u2014 ".encode())
    kit.check()


def hostile_note(kit: Kit, data: st.DataObject) -> Note:
    cam = kit.cam
    kind = data.draw(
        st.sampled_from(["main", "twin", "stranger", "resigned", "forged", "extra", "bad-line"])
    )
    n = data.draw(st.integers(1, SIZE))
    if kind == "twin":
        return kit.twin.notes[n]
    if kind == "stranger":
        return kit.stranger.notes[min(n, kit.stranger.size)]
    if kind == "resigned":  # anything the device key signs: a compromised key, or a bug
        size = data.draw(st.integers(0, SIZE + 2) | st.integers(0, 2**63 - 1))
        root = data.draw(
            st.binary(min_size=32, max_size=32)
            | st.sampled_from([Checkpoint.parse(x.text).root for x in cam.notes.values()])
        )
        text = Checkpoint(cam.origin, size, root).text()
        return Note(text).with_signatures(sign(text, cam.origin, cam.pub, cam.key.sign))
    note = cam.notes[n]
    if kind == "forged":
        pub = kit.forger.public_key()
        return Note(note.text).with_signatures(sign(note.text, cam.origin, pub, kit.forger.sign))
    if kind == "extra":
        names = st.from_regex(r"[a-z./]{1,20}", fullmatch=True)
        extra = data.draw(
            st.lists(
                st.builds(
                    NoteSignature,
                    names | st.just(cam.origin),
                    st.binary(min_size=4, max_size=4) | st.just(note.signatures[0].key_id),
                    st.binary(min_size=1, max_size=80),
                ),
                max_size=10,
            )
        )
        return note.with_signatures(*extra)
    if kind == "bad-line":
        (s,) = note.signatures
        i = data.draw(st.integers(0, len(s.signature) - 1))
        bad = bytearray(s.signature)
        bad[i] ^= data.draw(st.integers(1, 255))
        return note.with_signatures(NoteSignature(s.name, s.key_id, bytes(bad)))
    return note


@settings(max_examples=examples(300))
@given(data=st.data())
def test_valid_but_hostile_requests_never_move_a_log_back(kit: Kit, data: st.DataObject) -> None:
    note = hostile_note(kit, data)
    size = Checkpoint.parse(note.text).size
    latest = kit.before[kit.cam.origin][0]
    old = data.draw(
        st.sampled_from([latest, size, max(size - 1, 0), size + 1, 0]) | st.integers(0, 2**63 - 1)
    )
    honest = kit.cam.log.consistency(old, size) if old <= size <= SIZE else []
    twin = kit.twin.log.consistency(old, size) if old <= size <= SIZE else []
    hashes = st.lists(st.binary(min_size=32, max_size=32), max_size=70)
    proof = data.draw(
        st.sampled_from([honest, twin, honest[:-1], []])
        | hashes
        | hashes.map(lambda extra: honest + extra)
    )
    r = kit.witness.add_checkpoint(request_body(note, old, proof))
    event(f"status {r.status}")
    assert r.status in ANSWERS
    if r.status == 200:  # cosigned: the device signed it, and it is where the log now stands
        verify(note, kit.cam.origin, kit.cam.pub)
        cp = Checkpoint.parse(note.text)
        assert kit.rows()[kit.cam.origin] == (cp.size, cp.root)
    kit.check()


# -- over a socket, to the real server ---------------------------------------------------------


def exchange(server: WitnessServer, request: bytes) -> bytes:
    """Send ``request``, end the sending side, read all the server answers."""
    with socket.create_connection(server.socket.getsockname()[:2], timeout=30) as s:
        try:
            s.sendall(request)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # it answered and closed before reading it all (413 and the like)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


@pytest.fixture
def served(kit: Kit) -> Iterator[WitnessServer]:
    with serving(kit.witness) as server:
        yield server


METHODS = ["POST", "GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"]


@settings(max_examples=examples(80))
@given(data=st.data())
def test_the_server_answers_any_request_without_a_5xx_and_keeps_serving(
    kit: Kit, served: WitnessServer, data: st.DataObject
) -> None:
    method = data.draw(st.just("POST") | st.sampled_from(METHODS))
    path = data.draw(
        st.just(PATH) | st.sampled_from([PATH, "/", PATH + "?x=1", "//add-checkpoint", "/%00"])
    )
    body = data.draw(
        st.binary(max_size=200)
        | st.builds(lambda old: kit.cam.body(old, SIZE), st.integers(0, SIZE))
        | st.just(b"x" * (MAX_BODY + 1))
    )
    length = data.draw(
        st.sampled_from(["exact", "none", "short", "long", "junk", "twice", "chunked", "huge"])
    )
    headers = {
        "exact": [f"Content-Length: {len(body)}"],
        "none": [],
        "short": [f"Content-Length: {max(len(body) - 5, 0)}"],
        "long": [f"Content-Length: {len(body) + 5}"],
        "junk": ["Content-Length: ²"],
        "twice": [f"Content-Length: {len(body)}", "Content-Length: 1"],
        "chunked": ["Transfer-Encoding: chunked"],
        "huge": ["Content-Length: " + "9" * 5000],
    }[length]
    head = f"{method} {path} HTTP/1.1\r\nHost: witness\r\n" + "".join(h + "\r\n" for h in headers)
    answer = exchange(served, head.encode("latin-1") + b"\r\n" + body)
    statuses = [int(s) for s in re.findall(rb"^HTTP/1\.[01] (\d{3}) ", answer, re.MULTILINE)]
    event(f"statuses {statuses}")
    assert statuses or length == "long", answer[:300]  # only a body cut short goes unanswered
    assert all(100 <= s < 500 for s in statuses), answer[:500]
    if statuses and statuses[0] >= 400:  # a line that names what was wrong, or the size
        assert re.search(rb"Content-Type: (text/plain; charset=utf-8|text/x.tlog.size)\r", answer)
    kit.check()
    # What a camera sends next, on a fresh connection, is answered as ever.
    latest = kit.witness.state.latest(kit.cam.origin)
    assert latest is not None
    again = request_body(Note.parse(latest.checkpoint.encode()), latest.size, [])
    post = b"POST %s HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (PATH.encode(), len(again))
    assert exchange(served, post + again).startswith(b"HTTP/1.1 200 ")
