"""The fleet: many cameras at once against one witness and one bucket (issue 9, "Fleet").

Both parts run the agency's services as processes of their own: the witness is
``bodycam witness serve`` on 127.0.0.1 (a port the kernel picks), with its own key, state
directory and a directory of the cameras' public keys; the bucket is
:func:`recorder.bench.common.s3_store`'s (``scripts/ceph-rgw``, or ``BODYCAM_S3_ENDPOINT``).

1. **Witness.** ``CAMERAS`` camera logs (real ``DeviceLog``\\ s under real Ed25519 keys; their
   leaves are synthetic, since cosigning needs no footage) each submit ``SUBMISSIONS``
   checkpoints back to back, one file more each time, with the consistency proof from the size
   last cosigned, through the camera's own client (``witness_client.add_checkpoint``): the
   rate the witness sustains, and its latency when saturated. Then ``SUBMISSIONS`` more each,
   paced to half that rate in all: the latency below saturation. One thread per camera, all in
   this process: a submission is a few hundred microseconds of the client's CPU against
   milliseconds of the witness's (an SQLite commit synced to disk), and the figure says how
   much CPU each side used. The logs are grown before the clock starts, so the cameras' own syncs
   are not in it. Afterwards, each camera's row in the witness's SQLite state must stand at the
   last size it sent, with its root, and every answer must have been a 200 whose cosignature
   verifies.
2. **Offload.** ``CAMERAS`` cameras, each with ``SEGMENTS`` small segments and an audit file
   signed by its own device key (the evidence library, as the camera writes them) and logged
   in its own log, run :func:`recorder.offload.offload.offload` at once, each from its own
   state directory and with its own S3 client, to one bucket with Object Lock; each first has
   its checkpoint cosigned by the one witness. Afterwards :func:`check_bucket` lists the
   bucket's object versions: every file of every camera once, byte for byte, the listing, the
   cosigned checkpoint of the camera's size, and nothing else.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from recorder.bench.common import s3_store
from recorder.config import SCHEMA
from recorder.evidence.audit import AuditLog
from recorder.evidence.checkpoint import LEAF_SIZE
from recorder.evidence.header import Kind, Link, LinkState
from recorder.evidence.keys import Ed25519Signer, key_id, raw_public, write_public_key
from recorder.evidence.note import Note, NoteError, Verifier
from recorder.evidence.pinning import Witness, open_checkpoint
from recorder.evidence.state import EvidenceStream
from recorder.evidence.tlog import DeviceLog
from recorder.evidence.witness_client import WitnessError, add_checkpoint, cosigned
from recorder.offload.credentials import Credentials
from recorder.offload.offload import Result, Settings, offload
from recorder.offload.store import make_client
from recorder.witness.state import State

CAMERAS = 50
SUBMISSIONS = 20
"""Checkpoints each camera submits in the witness part."""
SEGMENTS, RECORDS, RECORD_KIB = 3, 8, 64
"""Each offloading camera's segments: 3 of 8 records of 64 KiB (512 KiB each)."""
NAME = "bench.example/witness"
BODYCAM = Path(sys.executable).parent / "bodycam"
START_TIMEOUT = 30.0
"""Seconds the witness has to say where it listens."""
TITLE = f"Fleet: {CAMERAS} cameras at once, one witness process, one bucket"
MiB = 1024 * 1024
STREAMS = {"segment": "media", "audit": "audit"}
_T = TypeVar("_T")


# -- the witness as a process of its own -------------------------------------------------------


@dataclass(frozen=True)
class WitnessProcess:
    url: str
    verifier: Verifier
    state_dir: Path
    pid: int


def _bodycam(*args: str | Path) -> list[str]:
    return [str(BODYCAM), *map(str, args)]


@contextlib.contextmanager
def witness_process(root: Path, devices: list[Ed25519PublicKey]) -> Iterator[WitnessProcess]:
    """``bodycam witness serve`` for these devices, on 127.0.0.1, stopped (SIGTERM to its PID,
    then SIGKILL) whatever happens; its log is ``root/witness.log``."""
    keys, state, device_dir = root / "key", root / "state", root / "devices"
    device_dir.mkdir(parents=True)
    for i, pub in enumerate(devices):
        write_public_key(device_dir / f"camera-{i:03d}.pub", pub)
    made = subprocess.run(
        _bodycam("witness", "keygen", "--out", keys, "--name", NAME),
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise RuntimeError(f"bodycam witness keygen failed: {made.stderr.strip()}")
    verifier = Verifier.parse((keys / "witness.vkey").read_text().strip())
    key = keys / "witness.key"
    serve = _bodycam("witness", "serve", "--state", state, "--devices", device_dir, "--key", key)
    with (root / "witness.log").open("wb") as log:
        proc = subprocess.Popen(
            [*serve, "--name", NAME, "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            url = _listening(proc, root / "witness.log")
            _answers(url)
            yield WitnessProcess(url, verifier, state, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _listening(proc: subprocess.Popen[str], log: Path) -> str:
    """The URL the witness prints once it listens; RuntimeError if it exits or takes longer
    than START_TIMEOUT."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:  # to the end, which the witness's exit brings
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise RuntimeError(f"the witness did not listen within {START_TIMEOUT:.0f} s") from None
        if line is None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the witness exited ({proc.wait()}): {tail}")
        if line.startswith("listening on "):
            return line.removeprefix("listening on ").strip().removesuffix("/add-checkpoint")


def _answers(url: str) -> None:
    """One request: a GET, which the witness answers 405 (it cosigns only POSTs)."""
    try:
        urllib.request.urlopen(url + "/add-checkpoint", timeout=START_TIMEOUT)  # noqa: S310
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 405:
            return
        raise RuntimeError(f"the witness answered a GET with {e.code}, not 405") from None
    raise RuntimeError("the witness answered a GET with a 2xx, not 405")


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _at_once(fns: list[Callable[[], _T]]) -> tuple[list[_T], float]:
    """Run each function on a thread of its own, all released at once; their results and the
    wall time from the release to the last one's end. A function's exception is raised."""
    start = threading.Barrier(len(fns) + 1)
    results: list[Any] = [None] * len(fns)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = fns[i]()
        except BaseException as e:  # raised in the caller, below
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results, wall


def _failed(what: str, problems: list[str], shown: int = 20) -> str:
    more = len(problems) - shown
    lines = problems[:shown] + ([f"... and {more} more"] if more > 0 else [])
    return f"fleet: {what}:\n  " + "\n  ".join(lines)


# -- 1. checkpoints submitted at once -----------------------------------------------------------


@dataclass
class LogCamera:
    """A camera's log grown to SUBMISSIONS files, its checkpoint at each size, and the proof
    from each size to the next."""

    pub: Ed25519PublicKey
    origin: str
    root: bytes
    notes: dict[int, Note]
    proofs: dict[int, list[bytes]]

    @classmethod
    def grow(cls, state_dir: Path, files: int) -> LogCamera:
        key = Ed25519PrivateKey.generate()
        state_dir.mkdir(parents=True, mode=0o700)
        log = DeviceLog(state_dir, key.public_key(), key.sign)
        notes = {}
        for seq in range(1, files + 1):
            chain = os.urandom(32)
            notes[seq] = log.add(Kind.MEDIA, Link(LinkState.CLOSED, seq, chain[:16], 3, chain))
        proofs = {n: log.consistency(n - 1, n) for n in notes}
        return cls(key.public_key(), log.origin, log.tree.root(), notes, proofs)


@dataclass
class Submitted:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _submit(
    url: str, witness: Verifier, cam: LogCamera, sizes: range, every: float = 0.0, at: float = 0
) -> Submitted:
    """The checkpoints of ``sizes`` in turn, each from the size before it (the one the witness
    cosigned last): back to back, or one each ``every`` seconds from ``at`` seconds on."""
    out = Submitted()
    due = time.perf_counter() + at
    for size in sizes:
        if every:
            time.sleep(max(0.0, due - time.perf_counter()))
            due += every
        note = cam.notes[size]
        t0 = time.perf_counter()
        try:
            lines = add_checkpoint(url, note, size - 1, cam.proofs[size])
            out.latencies.append(time.perf_counter() - t0)
            cosigned(note, lines, witness)  # raises unless the cosignature verifies
        except WitnessError as e:
            out.failures.append(f"{cam.origin} size {size}: {e}")
    return out


def _percentiles(done: list[Submitted]) -> str:
    q = statistics.quantiles([t for d in done for t in d.latencies], n=100, method="inclusive")
    return f"{q[49] * 1e3:.0f} ms / {q[98] * 1e3:.0f} ms"


def bench_witness() -> list[tuple[str, str]]:
    k = SUBMISSIONS
    with tempfile.TemporaryDirectory(prefix="bodycam-bench-") as tmp:
        cams = [LogCamera.grow(Path(tmp, "cams", str(i)), 2 * k) for i in range(CAMERAS)]
        with witness_process(Path(tmp, "witness"), [c.pub for c in cams]) as w:
            cpu0, own0 = _cpu_seconds(w.pid), time.process_time()
            flat_out, wall = _at_once(
                [functools.partial(_submit, w.url, w.verifier, c, range(1, k + 1)) for c in cams]
            )
            witness_cpu, own_cpu = _cpu_seconds(w.pid) - cpu0, time.process_time() - own0
            rate = CAMERAS * k / wall
            every = CAMERAS / (rate / 2)  # each camera's interval: half the load in all
            later, step = range(k + 1, 2 * k + 1), every / CAMERAS
            half, _ = _at_once(
                [  # the cameras' starts spread evenly over one interval
                    functools.partial(_submit, w.url, w.verifier, c, later, every, i * step)
                    for i, c in enumerate(cams)
                ]
            )
        problems = [f for d in flat_out + half for f in d.failures]
        logs = State(w.state_dir).logs()
        for c in cams:
            row = logs.get(c.origin)
            if row is None or (row.size, row.root) != (2 * k, c.root):
                at = "no row" if row is None else f"size {row.size}"
                problems.append(f"{c.origin}: the witness holds {at}, not size {2 * k}")
    if problems:
        raise SystemExit(_failed("the witness lost or refused checkpoints", problems))
    return [
        (
            "checkpoints, one thread a camera",
            f"{rate:.0f} submissions/s sustained ({k} each back to back: {CAMERAS * k} in "
            f"{wall:.1f} s)",
        ),
        ("  latency p50 / p99 at that load", _percentiles(flat_out)),
        (f"  latency p50 / p99 at half of it ({rate / 2:.0f}/s)", _percentiles(half)),
        (
            "  CPU at full load: witness / cameras",
            f"{witness_cpu:.1f} s / {own_cpu:.1f} s of {wall:.1f} s x 2 cores",
        ),
        (
            "  checked",
            "every answer a 200 whose cosignature verifies; every log at its last size sent",
        ),
    ]


# -- 2. offload at once --------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetCamera:
    """A camera's state directory (its key's public half, its log) and its evidence."""

    state: Path
    evidence: Path
    pub: Ed25519PublicKey

    @property
    def prefix(self) -> str:
        return key_id(raw_public(self.pub)).hex()

    def files(self) -> dict[str, Path]:
        """Every evidence file, by the key it must have in the bucket."""
        out = {}
        for path in sorted(self.evidence.glob("*.bcam")):
            name, seq = path.stem.split("-")
            out[f"{self.prefix}/{STREAMS[name]}/{seq}.bcam"] = path
        return out

    def listing(self, size: int) -> bytes:
        """The first ``size`` leaves of the camera's ``tlog.leaves``, as offload sends them."""
        return (self.state / "tlog.leaves").read_bytes()[: size * LEAF_SIZE]

    def log(self) -> DeviceLog:
        return DeviceLog(self.state, self.pub)


def fleet_camera(root: Path, agency: X25519PublicKey, segments: int = SEGMENTS) -> FleetCamera:
    """A camera that recorded ``segments`` short segments and one audit file, each signed by its
    own device key and logged in its own log, as the camera's recorder writes them."""
    state, evidence = root / "state", root / "evidence"
    state.mkdir(parents=True, mode=0o700)
    evidence.mkdir()
    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    write_public_key(state / "device.pub", pub)
    signer = Ed25519Signer(key)
    device_log = DeviceLog(state, pub, signer.sign)

    def logged(kind: Kind, link: Link) -> None:
        device_log.add(kind, link)

    def stream(kind: Kind, recipients: tuple[X25519PublicKey, ...] = ()) -> EvidenceStream:
        return EvidenceStream(
            evidence, state, kind, signer, pub, recipients=recipients, on_finished=logged
        )

    media = stream(Kind.MEDIA, (agency,))
    audit = AuditLog(stream(Kind.AUDIT), {"device_id": root.name, "boot_id": "bench"})
    audit.log("boot", wall=time.time(), mono_us=0)
    record = os.urandom(RECORD_KIB * 1024)
    for part in range(1, segments + 1):
        f = media.open({"recording_id": "bench", "part": part})
        audit.log("segment_open", wall=time.time(), mono_us=part, seq=f.seq)
        for _ in range(RECORDS):
            f.append(record)
        media.close({"frames": 0})
        audit.log("segment_close", wall=time.time(), mono_us=part, seq=f.seq, records=RECORDS)
    audit.close(wall=time.time(), reason="shutdown")
    return FleetCamera(state, evidence, pub)


def offload_at_once(
    cams: list[FleetCamera],
    endpoint: str,
    creds: Credentials,
    bucket: str,
    witness: WitnessProcess,
    region: str = "us-east-1",
) -> tuple[list[Result], float]:
    """Every camera's offload on a thread of its own, released at once, each with its own S3
    client (made before the clock starts); the results and the wall time."""
    part = SCHEMA["offload"]["part_mib"].default * MiB

    def one(cam: FleetCamera, client: Any) -> Callable[[], Result]:
        s = Settings(
            cam.state,
            cam.evidence,
            endpoint,
            region,
            bucket,
            1,
            part,
            None,
            witness_url=witness.url,
            witness=witness.verifier,
        )
        return lambda: offload(s, creds, client=client)

    return _at_once([one(c, make_client(endpoint, region, creds)) for c in cams])


def check_bucket(
    client: Any, bucket: str, cams: list[FleetCamera], witness: Verifier
) -> tuple[int, list[str]]:
    """The objects the cameras' files and logs make, and what is wrong with the bucket: every
    file of each camera there once (one version) and byte for byte, its listing (the one key
    that may have older versions) as its log holds it, its checkpoint of its log's size
    cosigned by ``witness``, and no other key."""
    versions: dict[str, list[dict[str, Any]]] = {}
    hidden: set[str] = set()
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in page.get("Versions", []):
            versions.setdefault(v["Key"], []).append(v)
        hidden |= {m["Key"] for m in page.get("DeleteMarkers", []) if m["IsLatest"]}
    trusted = [Witness(witness.name, witness.public)]
    problems: list[str] = []
    expected: set[str] = set()

    def body(key: str, once: bool) -> bytes | None:
        """The latest version's bytes, after saying what is wrong with the key's versions."""
        found = versions.get(key, [])
        expected.add(key)
        if not found:
            problems.append(f"{key}: missing")
            return None
        if key in hidden:
            problems.append(f"{key}: missing (hidden by a delete marker)")
            return None
        if once and len(found) > 1:
            problems.append(f"{key}: {len(found)} versions (a duplicate)")
        latest = next(v for v in found if v["IsLatest"])
        got = client.get_object(Bucket=bucket, Key=key, VersionId=latest["VersionId"])
        return bytes(got["Body"].read())

    for cam in cams:
        for key, path in cam.files().items():
            data = body(key, once=True)
            if data is not None and data != path.read_bytes():
                problems.append(f"{key}: its bytes differ from {path.name}'s")
        log = cam.log()
        listing = body(f"{cam.prefix}/log/leaves", once=False)
        if listing is not None and listing != cam.listing(log.tree.size):
            problems.append(f"{cam.prefix}/log/leaves: not the camera's listing")
        key = f"{cam.prefix}/log/checkpoint-{log.tree.size}.note"
        note = body(key, once=True)
        if note is not None:
            try:
                if open_checkpoint(note, cam.pub, trusted).checkpoint.size != log.tree.size:
                    problems.append(f"{key}: a checkpoint of another size")
            except NoteError as e:
                problems.append(f"{key}: not cosigned by {witness.name}: {e}")
    problems += [f"{key}: no camera's" for key in sorted(versions.keys() - expected)]
    return len(expected), problems


def bench_fleet_offload() -> list[tuple[str, str]]:
    with (
        tempfile.TemporaryDirectory(prefix="bodycam-bench-") as tmp,
        s3_store(Path(tmp), 1024 * MiB) as store,
    ):
        if store is None:
            why = "not measured: Ceph's radosgw is not installed (make tools)"
            return [("offload, cosigned first", why)]
        endpoint, creds = store
        agency = X25519PrivateKey.generate().public_key()
        cams = [fleet_camera(Path(tmp, "cams", f"{i:03d}"), agency) for i in range(CAMERAS)]
        client = make_client(endpoint, "us-east-1", creds)
        bucket = f"bodycam-bench-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        with witness_process(Path(tmp, "witness"), [c.pub for c in cams]) as w:
            results, wall = offload_at_once(cams, endpoint, creds, bucket, w)
        problems = [
            f"{c.prefix}: {why}" for c, r in zip(cams, results, strict=True) for _, why in r.failed
        ]
        for c, r in zip(cams, results, strict=True):
            if r.witnessed is None or r.witnessed.size != c.log().tree.size:
                problems.append(f"{c.prefix}: its checkpoint was not cosigned")
        objects, wrong = check_bucket(client, bucket, cams, w.verifier)
        problems += wrong
    if problems:
        raise SystemExit(_failed("the fleet's offload lost or duplicated objects", problems))
    sent = sum(len(r.sent) for r in results)
    size = sum(i.size for r in results for i in r.plan.items)
    return [
        (
            "offload, cosigned first",
            f"{wall:.1f} s wall, {sent / wall:.0f} objects/s, {size / wall / MiB:.1f} MiB/s "
            f"(each camera: {SEGMENTS} segments of {RECORDS * RECORD_KIB} KiB, an audit file, "
            "the listing, the cosigned checkpoint)",
        ),
        ("  checked", f"nothing lost or duplicated: {objects} objects, {CAMERAS} cameras"),
    ]


def bench_fleet() -> list[tuple[str, str]]:
    """Both parts; SystemExit, saying what, if anything was lost, duplicated or refused."""
    return bench_witness() + bench_fleet_offload()


def main() -> int:
    from recorder.bench.__main__ import _print  # the whole bench imports this module

    _print(TITLE, bench_fleet())
    return 0


if __name__ == "__main__":
    sys.exit(main())
