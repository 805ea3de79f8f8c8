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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder.config import Config
from recorder.offload.credentials import Credentials
from recorder.offload.errors import Busy, ConfigurationError, ObjectError
from recorder.offload.pace import Pace
from recorder.offload.plan import Item, Plan, make_plan
from recorder.offload.store import Store, make_client
from recorder.offload.upload import STATE, Sent, Uploader, UploadState

__all__ = ["LOCK", "Result", "Settings", "offload"]

LOCK = "offload.lock"
MiB = 1024 * 1024
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
        )


@dataclass
class Result:
    plan: Plan
    sent: list[Sent] = field(default_factory=list)
    failed: list[tuple[Item | None, str]] = field(default_factory=list)
    bytes_sent: int = 0

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


def offload(
    settings: Settings,
    credentials: Credentials,
    *,
    client: Any = None,
    on_start: Callable[[Plan], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_item: Callable[[Item], None] | None = None,
) -> Result:
    """Send every finished file, the listing and the cosigned checkpoints; confirm each.

    Raises BucketError (no Object Lock, no bucket, refused), StoreUnavailable, Busy or
    ConfigurationError; a failure of one object is in the result."""
    s = settings
    with _exclusive(s.state_dir):
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
        result = Result(plan)
        result.failed += [(None, p) for p in plan.problems]
        for key, what in plan.absent:
            remote = store.head(key)
            if remote is None or not remote.retained(store.clock.now(), s.retention_days):
                result.failed.append(
                    (None, f"{what} is finished, not here, and not kept in the bucket ({key})")
                )
        for item in plan.items:
            if on_item is not None:
                on_item(item)
            try:
                sent = uploader.send(item)
            except ObjectError as e:
                log.error("%s", e)
                result.failed.append((item, str(e)))
                continue
            log.info("%s: %s (%s, %d bytes)", item.what, sent.outcome, item.key, item.size)
            result.sent.append(sent)
        result.bytes_sent = pace.sent
        return result
