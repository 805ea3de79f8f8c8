"""Many docks at once: threads and processes submit a camera's checkpoints to one witness,
consistent ones, rollbacks and a forked twin's, all at the same time.

What must hold: every 200 carries a cosignature that verifies; each client sees the cosigned
sizes grow; in the order the witness cosigned them (its virtual clock ticks once per
cosignature, inside the transaction) the sizes never decrease; nothing of the twin or below the
cosigned size is ever cosigned; a poller never sees a log's row go back; and at the end each
log stands at its largest consistent checkpoint.
"""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from recorder.evidence.keys import ed25519_public_key, raw_public
from recorder.evidence.note import TIMESTAMPED_ED25519, Note, Verifier
from recorder.evidence.witness_client import (
    SizeConflict,
    WitnessRefused,
    add_checkpoint,
    cosigned,
    request_body,
)
from recorder.witness.state import State
from recorder.witness.witness import SIZE_TYPE, Witness
from tests.witness_kit import (
    WITNESS_NAME,
    Camera,
    Clock,
    make_witness,
    serving,
    witness_key,
)

ROOT = Path(__file__).resolve().parents[1]
SIZE = 24
FORKED_AT = 2  # the twin shares the first 2 leaves
COSIGNED_FIRST = 3  # cosigned before the clients start: no checkpoint of the twin can follow it
WITNESS = Verifier(WITNESS_NAME, TIMESTAMPED_ED25519, witness_key().public_key())


class TickingClock(Clock):
    """A virtual clock that moves one second each time it is read: the witness reads it once
    per decision, inside the transaction, so cosignature times give the commit order."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += 1
            return self.now


@dataclass
class Scenario:
    """One camera's checkpoints 1..SIZE, its twin's, and the proofs between any two sizes."""

    origin: str
    main: dict[int, bytes]
    twin: dict[int, bytes]
    main_proofs: dict[str, list[str]]
    twin_proofs: dict[str, list[str]]

    @classmethod
    def build(cls, tmp: Path, label: str) -> tuple[Scenario, Camera]:
        cam = Camera(tmp / label, label)
        cam.finish(FORKED_AT)
        twin = cam.fork(tmp / f"{label}-twin", "twin")
        cam.finish(SIZE - FORKED_AT)
        twin.finish(SIZE - FORKED_AT)

        def proofs(c: Camera) -> dict[str, list[str]]:
            return {
                f"{m},{n}": [base64.b64encode(h).decode() for h in c.log.consistency(m, n)]
                for n in range(1, SIZE + 1)
                for m in range(n + 1)
            }

        def notes(c: Camera) -> dict[int, bytes]:
            return {n: c.notes[n].encode() for n in range(1, SIZE + 1)}

        return cls(cam.origin, notes(cam), notes(twin), proofs(cam), proofs(twin)), cam

    def to_json(self) -> dict[str, object]:
        return {
            "origin": self.origin,
            "main": {n: v.decode() for n, v in self.main.items()},
            "twin": {n: v.decode() for n, v in self.twin.items()},
            "main_proofs": self.main_proofs,
            "twin_proofs": self.twin_proofs,
        }

    @classmethod
    def from_json(cls, d: dict[str, object]) -> Scenario:
        main, twin = d["main"], d["twin"]
        assert isinstance(main, dict) and isinstance(twin, dict)
        return cls(
            str(d["origin"]),
            {int(n): v.encode() for n, v in main.items()},
            {int(n): v.encode() for n, v in twin.items()},
            d["main_proofs"],  # type: ignore[arg-type]
            d["twin_proofs"],  # type: ignore[arg-type]
        )

    def proof(self, twin: bool, m: int, n: int) -> list[bytes]:
        table = self.twin_proofs if twin else self.main_proofs
        return [base64.b64decode(h) for h in table.get(f"{m},{n}", [])]


# What a submission got: ("cosigned", size, timestamp), ("size", latest size, 0) or
# ("refused", status, 0); a client's outcome adds the origin in front.
Answer = tuple[str, int, int]
Outcome = tuple[str, str, int, int]
Submit = Callable[[bytes, int, list[bytes]], Answer]


def over_http(url: str) -> Submit:
    """Submit as the camera will, with the client of the evidence library."""

    def submit(note_bytes: bytes, old: int, proof: list[bytes]) -> Answer:
        note = Note.parse(note_bytes)
        try:
            lines = add_checkpoint(url, note, old, proof)
        except SizeConflict as e:
            return ("size", e.size, 0)
        except WitnessRefused as e:
            return ("refused", e.status, 0)
        c = cosigned(note, lines, WITNESS)  # raises unless the cosignature verifies
        return ("cosigned", int(note.text.split("\n")[1]), c.timestamp)

    return submit


def direct(witness: Witness) -> Submit:
    """Submit to the add-checkpoint function itself, sharing only the database."""

    def submit(note_bytes: bytes, old: int, proof: list[bytes]) -> Answer:
        note = Note.parse(note_bytes)
        r = witness.add_checkpoint(request_body(note, old, proof))
        if r.status == 200:
            lines = Note.parse(note.text.encode() + b"\n" + r.body).signatures
            c = cosigned(note, lines, WITNESS)
            return ("cosigned", int(note.text.split("\n")[1]), c.timestamp)
        if r.status == 409 and r.content_type == SIZE_TYPE:
            return ("size", int(r.body), 0)
        assert r.status in (400, 409, 422), (r.status, r.body)
        return ("refused", r.status, 0)

    return submit


def client(scenarios: list[Scenario], submit: Submit, seed: int, steps: int) -> list[Outcome]:
    """One dock: mostly the camera's next checkpoints, with rollbacks and the twin's mixed in;
    then the largest checkpoint of each camera until it is cosigned."""
    rng = random.Random(seed)
    view = {s.origin: COSIGNED_FIRST for s in scenarios}
    out: list[Outcome] = []

    def send(s: Scenario, twin: bool, n: int, old: int) -> Answer:
        o = submit((s.twin if twin else s.main)[n], old, s.proof(twin, old, n))
        out.append((s.origin, *o))
        if o[0] == "cosigned":
            assert not twin and n >= view[s.origin], (o, view[s.origin])
            view[s.origin] = n
        elif o[0] == "size":
            assert o[1] >= view[s.origin], (o, view[s.origin])  # never seen to go back
            view[s.origin] = o[1]
        return o

    for _ in range(steps):
        s = rng.choice(scenarios)
        seen, r = view[s.origin], rng.random()
        if r < 0.25:  # the twin's checkpoint: a fork or a proof that cannot verify
            n = rng.randint(COSIGNED_FIRST, SIZE)
            send(s, True, n, rng.choice([seen, rng.randint(0, n)]))
        elif r < 0.35:  # a rollback to a checkpoint below what this dock has seen cosigned
            n = rng.randint(1, seen - 1)
            assert send(s, False, n, rng.choice([seen, n]))[0] != "cosigned"
        else:
            send(s, False, rng.randint(seen, SIZE), seen)
    for s in scenarios:
        while send(s, False, SIZE, view[s.origin])[0] != "cosigned":
            pass
    return out


def check(outcomes: list[list[Outcome]], ordered: bool) -> None:
    """Each client saw its cosigned sizes of each log grow; if ``ordered`` (one clock for all),
    so did the witness, in the order of its cosignatures' times."""
    origins = {o[0] for mine in outcomes for o in mine}
    for origin in origins:
        for mine in outcomes:
            sizes = [o[2] for o in mine if o[:2] == (origin, "cosigned")]
            assert sizes == sorted(sizes)
        if ordered:
            done = sorted(
                (o[3], o[2]) for m in outcomes for o in m if o[:2] == (origin, "cosigned")
            )
            assert len({t for t, _ in done}) == len(done)  # one tick per cosignature
            assert [size for _, size in done] == sorted(size for _, size in done)


class Poller(threading.Thread):
    """Reads each log's row over and over while the clients run; it must never go back."""

    def __init__(self, state: State) -> None:
        super().__init__(daemon=True)
        self.state, self.stop, self.seen = state, threading.Event(), 0
        self.error: AssertionError | None = None

    def run(self) -> None:
        last: dict[str, tuple[int, bytes]] = {}
        while not self.stop.is_set():
            for origin, latest in self.state.logs().items():
                before = last.get(origin, (0, b""))
                if latest.size < before[0] or (
                    latest.size == before[0] and latest.root != before[1]
                ):
                    self.error = AssertionError(f"{origin}: {before} then {latest}")
                    return
                last[origin] = (latest.size, latest.root)
            self.seen += 1

    def __enter__(self) -> Poller:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()
        if self.error:
            raise self.error


def final_state(state: State, cams: list[Camera]) -> None:
    logs = state.logs()
    for cam in cams:
        assert (logs[cam.origin].size, logs[cam.origin].root) == (SIZE, cam.log.tree.root())
    assert all(f.conflicting.split("\n")[0] in logs for f in state.forks())


def cosign_first(witness: Witness, cams: list[Camera]) -> None:
    for cam in cams:
        assert witness.add_checkpoint(cam.body(0, COSIGNED_FIRST)).status == 200


def test_many_threads_at_once_never_move_a_log_back(tmp_path: Path) -> None:
    built = [Scenario.build(tmp_path, label) for label in ("cam-a", "cam-b")]
    scenarios, cams = [s for s, _ in built], [c for _, c in built]
    witness = make_witness(tmp_path / "witness", cams, TickingClock())
    cosign_first(witness, cams)
    with serving(witness) as server, Poller(witness.state), ThreadPoolExecutor(12) as pool:
        runs = [
            pool.submit(client, scenarios, over_http(server.url), seed=i, steps=25)
            for i in range(12)
        ]
        results = [r.result() for r in runs]  # a thread's failure is raised here
    assert all(len(r) > 25 for r in results)  # every thread finished
    check(results, ordered=True)
    final_state(witness.state, cams)
    kinds = {o[1] for r in results for o in r}
    assert kinds == {"cosigned", "size", "refused"}  # the run exercised all three


def run_processes(tmp_path: Path, mode: str, target: str, count: int) -> list[list[Outcome]]:
    scenario_file = tmp_path / "scenario.json"
    procs: list[tuple[subprocess.Popen[str], Path]] = []
    try:
        for i in range(count):
            out = tmp_path / f"out-{i}.json"
            code = (
                "import sys; from tests.test_witness_concurrency import process_main; "
                "process_main(*sys.argv[1:])"
            )
            cmd = [sys.executable, "-c", code, str(scenario_file), mode, target, str(i), str(out)]
            procs.append((subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True), out))
        results = []
        for p, out in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err[-3000:]
            results.append([tuple(o) for o in json.loads(out.read_text())])
        return results
    finally:
        for p, _ in procs:  # a failed or timed-out run leaves no dock behind
            if p.poll() is None:
                p.kill()
                p.communicate()


def process_main(scenario_file: str, mode: str, target: str, seed: str, out: str) -> None:
    """A dock in a process of its own: ``target`` is the witness's URL (mode http) or its state
    directory (mode direct: a witness of its own over the same database)."""
    scenario = Scenario.from_json(json.loads(Path(scenario_file).read_text()))
    if mode == "http":
        submit = over_http(target)
    else:
        raw = bytes.fromhex(json.loads(Path(scenario_file).read_text())["pub"])
        devices = {scenario.origin: ed25519_public_key(raw, scenario_file)}
        witness = Witness(WITNESS_NAME, witness_key(), devices, State(Path(target)), Clock())
        submit = direct(witness)
    Path(out).write_text(json.dumps(client([scenario], submit, int(seed), steps=25)))


def write_scenario(tmp_path: Path, scenario: Scenario, cam: Camera) -> None:
    data = {**scenario.to_json(), "pub": raw_public(cam.pub).hex()}
    (tmp_path / "scenario.json").write_text(json.dumps(data))


def test_several_processes_at_one_server_never_move_the_log_back(tmp_path: Path) -> None:
    scenario, cam = Scenario.build(tmp_path, "cam-p")
    write_scenario(tmp_path, scenario, cam)
    witness = make_witness(tmp_path / "witness", [cam], TickingClock())
    cosign_first(witness, [cam])
    with serving(witness) as server, Poller(witness.state):
        results = run_processes(tmp_path, "http", server.url, count=4)
    check(results, ordered=True)
    final_state(witness.state, [cam])


def test_several_processes_sharing_one_database_never_move_the_log_back(tmp_path: Path) -> None:
    scenario, cam = Scenario.build(tmp_path, "cam-d")
    write_scenario(tmp_path, scenario, cam)
    witness = make_witness(tmp_path / "witness", [cam])
    cosign_first(witness, [cam])
    with Poller(witness.state):
        results = run_processes(tmp_path, "direct", str(tmp_path / "witness"), count=4)
    check(results, ordered=False)  # each process has its own clock
    final_state(witness.state, [cam])
