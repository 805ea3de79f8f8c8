"""What the witness's tests share: a camera's real log, a witness on a virtual clock, and the
real HTTP server on an ephemeral port of 127.0.0.1, always closed."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from recorder.evidence.header import Kind, Link, LinkState
from recorder.evidence.note import Note
from recorder.evidence.tlog import DeviceLog
from recorder.evidence.witness_client import request_body
from recorder.witness.server import WitnessServer
from recorder.witness.state import State
from recorder.witness.witness import Witness

WITNESS_NAME = "agency.example/witness"
START = 1_800_000_000


def fixed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


class Clock:
    """The witness's clock, virtual: it moves only when a test advances it."""

    def __init__(self, now: int = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


class Camera:
    """A device's own log (``DeviceLog``, as the camera keeps it) and its key: each finished
    file is a leaf, each leaf a signed checkpoint, kept here by size."""

    def __init__(self, state_dir: Path, label: str, branch: str = "") -> None:
        self.label, self.branch = label, branch
        self.key = Ed25519PrivateKey.from_private_bytes(fixed(label))
        state_dir.mkdir(parents=True, exist_ok=True)
        self.dir = state_dir
        self.log = DeviceLog(state_dir, self.key.public_key(), self.key.sign)
        self.notes: dict[int, Note] = {}

    @property
    def pub(self) -> Ed25519PublicKey:
        return self.key.public_key()

    @property
    def origin(self) -> str:
        return self.log.origin

    @property
    def size(self) -> int:
        return self.log.tree.size

    def finish(self, files: int = 1) -> Note:
        """Finish ``files`` more evidence files; return the latest checkpoint."""
        for _ in range(files):
            seq = self.size + 1
            chain = fixed(f"{self.label}/{self.branch}/{seq}")
            note = self.log.add(Kind.MEDIA, Link(LinkState.CLOSED, seq, chain[:16], 3, chain))
            self.notes[self.size] = note
        return self.notes[self.size]

    def fork(self, state_dir: Path, branch: str) -> Camera:
        """The same key, the same leaves so far, other leaves from now on: a camera whose log
        was copied and then went its own way (what a witness must catch)."""
        shutil.copytree(self.dir, state_dir)
        other = Camera(state_dir, self.label, branch)
        other.notes = dict(self.notes)
        return other

    def body(self, old: int, new: int | None = None) -> bytes:
        """An add-checkpoint body: the checkpoint of size ``new`` (the latest by default) and
        the proof from ``old``."""
        new = self.size if new is None else new
        return request_body(self.notes[new], old, self.log.consistency(old, new))


def witness_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(fixed("witness"))


def make_witness(state_dir: Path, cameras: list[Camera], clock: Clock | None = None) -> Witness:
    devices = {c.origin: c.pub for c in cameras}
    return Witness(WITNESS_NAME, witness_key(), devices, State(state_dir), clock or Clock())


@contextlib.contextmanager
def serving(witness: Witness) -> Iterator[WitnessServer]:
    """The real server on 127.0.0.1 and a port the kernel picks, closed even if the test fails."""
    server = WitnessServer(("127.0.0.1", 0), witness)
    try:
        server.start()
        yield server
    finally:
        server.close()
