"""A whole offload run: check the bucket, send what the camera's log names, confirm each object.

The order is the evidence files in the order they finished, then the listing, then the cosigned
checkpoints: a checkpoint in the bucket means the files it covers were sent before it. One run
at a time per camera (``offload.lock`` in the state directory, an flock that a killed run
releases). A failure of one object is reported and the run goes on; a store that stops
answering ends the run (the next run resumes).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from recorder.config import Config
from recorder.custody import FreeRequest, request_free
from recorder.evidence.errors import EvidenceError
from recorder.evidence.header import Kind
from recorder.evidence.keys import load_device_public
from recorder.evidence.note import Verifier
from recorder.offload.credentials import Credentials
from recorder.offload.digest import Digest
from recorder.offload.digests import DIGESTS, Digests
from recorder.offload.errors import Busy, ConfigurationError, ObjectError
from recorder.offload.pace import Pace
from recorder.offload.plan import Item, Plan, make_plan
from recorder.offload.store import Store, make_client
from recorder.offload.upload import STATE, Sent, Uploader, UploadState
from recorder.offload.witnessing import Witnessed, ask_witness

__all__ = ["LOCK", "Result", "Settings", "offload"]

LOCK = "offload.lock"
FILES_AT_ONCE = 2
MiB = 1024 * 1024
_T = TypeVar("_T")
log = logging.getLogger("bodycam.offload")


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    evidence_dir: Path
    endpoint: str
    region: str
    bucket: str
    retention_days: int
    part_size: int
    limit_bytes_s: float | None
    witness_url: str = ""
    witness: Verifier | None = None
    free_space: bool = False

    @classmethod
    def from_config(cls, config: Config, limit_mbps: float | None = None) -> Settings:
        o = config["offload"]
        if not o["bucket"]:
            raise ConfigurationError("offload.bucket is not set: there is nowhere to offload to")
        if not o["retention_days"]:
            raise ConfigurationError(
                "offload.retention_days is not set: COMPLIANCE retention cannot be shortened "
                "once set, so the agency chooses it (1 to 36500 days)"
            )
        mbps = o["limit_mbps"] if limit_mbps is None else limit_mbps
        return cls(
            state_dir=config.state_dir,
            evidence_dir=config.evidence_dir,
            endpoint=o["endpoint"],
            region=o["region"],
            bucket=o["bucket"],
            retention_days=o["retention_days"],
            part_size=o["part_mib"] * MiB,
            limit_bytes_s=mbps * 1e6 / 8 if mbps else None,
            witness_url=o["witness_url"],
            witness=Verifier.parse(o["witness_vkey"]) if o["witness_vkey"] else None,
            free_space=o["free_space"],
        )


@dataclass
class Result:
    plan: Plan
    sent: list[Sent] = field(default_factory=list)
    failed: list[tuple[Item | None, str]] = field(default_factory=list)
    bytes_sent: int = 0
    witnessed: Witnessed | None = None
    """The camera's latest checkpoint as the witness cosigned it, if one was asked."""

    @property
    def ok(self) -> bool:
        return not self.failed

    def count(self, outcome: str) -> int:
        return sum(1 for s in self.sent if s.outcome == outcome)


@contextmanager
def _exclusive(state_dir: Path) -> Iterator[None]:
    try:
        fd = os.open(state_dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        raise ConfigurationError(f"{state_dir / LOCK}: cannot open: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"another offload of this camera is running ({state_dir})") from None
        yield
    finally:
        os.close(fd)


def _in_order(pool: Executor, fn: Callable[[Item], _T], items: list[Item]) -> list[_T]:
    """``fn`` of each item on the pool, the results in the items' order; the first exception
    is raised once the calls already running have ended, and the others never start."""
    futures = [pool.submit(fn, item) for item in items]
    try:
        return [f.result() for f in futures]
    finally:
        for f in futures:
            f.cancel()


def _witness(s: Settings) -> tuple[Witnessed | None, list[str]]:
    """First of all, the checkpoint leaves the camera: the witness cosigns it (if one is set)."""
    if s.witness is None:
        return None, []
    try:
        pub = load_device_public(s.state_dir / "device.pub")
        return ask_witness(s.state_dir, pub, s.witness_url, s.witness), []
    except EvidenceError as e:  # WitnessError too: the files still go, the run fails
        log.error("witness %s: %s", s.witness_url, e)
        return None, [f"witness {s.witness_url}: {e}"]


def offload(
    settings: Settings,
    credentials: Credentials,
    *,
    client: Any = None,
    on_start: Callable[[Plan], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Result:
    """Send every finished file, the listing and the cosigned checkpoints; confirm each.

    Raises BucketError (no Object Lock, no bucket, refused), StoreUnavailable, Busy or
    ConfigurationError; a failure of one object is in the result."""
    s = settings
    with _exclusive(s.state_dir):
        witnessed, witness_failed = _witness(s)
        store = Store(
            client or make_client(s.endpoint, s.region, credentials), s.bucket, s.endpoint
        )
        store.check_bucket()
        plan = make_plan(s.state_dir, s.evidence_dir)
        if on_start is not None:
            on_start(plan)
        pace = Pace(s.limit_bytes_s, on_progress=on_progress)
        uploader = Uploader(
            store,
            UploadState(s.state_dir / STATE),
            pace,
            days=s.retention_days,
            part_size=s.part_size,
        )
        known = Digests(s.state_dir / DIGESTS)
        result = Result(plan, witnessed=witnessed)
        result.failed += [(None, p) for p in [*witness_failed, *plan.problems]]
        for key, what in plan.absent:
            remote = store.head(key)
            if remote is None or not remote.retained(store.clock.now(), s.retention_days):
                result.failed.append(
                    (None, f"{what} is finished, not here, and not kept in the bucket ({key})")
                )
        files = [i for i in plan.items if i.leaf is not None]
        log_items = [i for i in plan.items if i.leaf is None]  # the listing, the checkpoints
        # SHA-256 of the files ahead is computed on a thread of its own, and FILES_AT_ONCE
        # files are on the wire at once, so the round trips of one (HEAD, complete, retention)
        # overlap the bytes of the next. The log's objects go once every file has gone.
        with (
            ThreadPoolExecutor(max_workers=1) as hasher,
            ThreadPoolExecutor(max_workers=FILES_AT_ONCE) as senders,
        ):

            def digest(item: Item) -> Digest:
                return known.get(item) or uploader.digest(item)

            digests = {i.key: hasher.submit(digest, i) for i in plan.items}

            def send(item: Item) -> Sent | str:
                try:
                    return uploader.send(item, digests[item.key].result())
                except ObjectError as e:
                    return str(e)

            try:
                outcomes = _in_order(senders, send, files)
                outcomes += [send(i) for i in log_items]
            finally:
                for d in digests.values():
                    d.cancel()
        for item, outcome in zip(files + log_items, outcomes, strict=True):
            if isinstance(outcome, str):
                log.error("%s", outcome)
                result.failed.append((item, outcome))
            else:
                log.info("%s: %s (%s, %d bytes)", item.what, outcome.outcome, item.key, item.size)
                result.sent.append(outcome)
        result.bytes_sent = pace.sent
        for done in result.sent:
            known.confirmed(done.item, Digest(done.remote.sha256 or "", done.remote.etag))
        known.save({i.key for i in files})
        if s.free_space and witnessed is not None:
            _offer_to_free(s, witnessed.size, result.sent)
        return result


def _offer_to_free(s: Settings, covered: int, sent: list[Sent]) -> None:
    """Ask the daemon to free each segment the bucket holds (HEAD said so) that the cosigned
    checkpoint covers; the daemon checks the coverage again, audits, and only then deletes."""
    for done in sent:
        item, remote = done.item, done.remote
        if item.leaf is None or item.leaf.kind is not Kind.MEDIA or item.index >= covered:
            continue
        assert remote.sha256 is not None and remote.retain_until is not None  # HEAD confirmed
        request_free(
            s.state_dir,
            FreeRequest(
                item.leaf.seq,
                remote.size,
                remote.sha256,
                remote.etag,
                s.bucket,
                item.key,
                remote.version_id,
                remote.retain_until.isoformat(),
            ),
        )
