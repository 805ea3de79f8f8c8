"""Bench the camera's cost of its log: the Merkle tree and a signed checkpoint at every file close.

The recorder is run at the default config (1080p30 at 8 Mbit/s, 60 s segments, 30 s pre-event)
through several whole segments of real libx264 packets. Everything the log costs happens in one
place, the recorder's ``_finished`` hook, which each stream calls when it finishes a file: add the
leaf (append to ``tlog.leaves`` and fdatasync), fold it into the compact range, sign the
checkpoint, replace ``tlog.json`` (fsync, rename, fsync of the directory), and write the audit
log's ``checkpoint`` entry. The bench times that hook on the recorder's own thread and sets it
against the recorder thread's user CPU over the same segments, closes included.

The hook's time is the thread's CPU clock (user and kernel: the syscalls of the three syncs
count, their wait for the disk does not), set against the recorder's *user* CPU: the budget's
denominator is user CPU, and counting the log's kernel time on top only makes the figure larger.

The log starts at 2**20 - 1 leaves, about two years of a camera recording an hour a day: every
bit of the size set, so each append merges twenty subtrees and ``tlog.json`` holds twenty
hashes, the most a log this size ever does. A fresh log costs less.
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from hal.camera import EncodedFrame
from hal.inputs import InputEvent
from recorder.bench.camera import fresh, provisioned
from recorder.bench.common import slow_syncs
from recorder.config import Config
from recorder.daemon import load_recipients, settings_from
from recorder.evidence.checkpoint import LEAF_SIZE
from recorder.evidence.header import Kind, Link
from recorder.evidence.media import Frame
from recorder.evidence.state import write_json_atomic
from recorder.evidence.tlog import LEAVES, STATE
from recorder.recorder import Recorder
from sim.backend import SimBackend

AGED_SIZE = 2**20 - 1
"""The log's size when the bench starts: twenty bits set, the worst case below 2**20."""


class _TimedRecorder(Recorder):
    """The recorder, with its file-finished hook (all the log's work) timed on this thread."""

    def __init__(self, config: Config) -> None:
        self.sim = SimBackend().create(settings_from(config))
        super().__init__(config, self.sim, load_recipients(config.state_dir))
        self.hook_cpu: list[float] = []
        self.hook_wall: list[float] = []
        self.hook_syncs: list[int] | None = None
        """Set to a list to count the syncs of each hook call instead of timing it."""

    def _finished(self, kind: Kind, link: Link) -> None:
        if self.hook_syncs is not None:
            with slow_syncs(0.0) as syncs:
                super()._finished(kind, link)
            self.hook_syncs.append(len(syncs))
            return
        w0, c0 = time.perf_counter(), time.thread_time()
        super()._finished(kind, link)
        c1, w1 = time.thread_time(), time.perf_counter()
        self.hook_cpu.append(c1 - c0)
        self.hook_wall.append(w1 - w0)


def _age(cfg: Config) -> None:
    """Give the camera a log of :data:`AGED_SIZE` leaves (random subtree roots: nothing the
    camera does on a close reads them back, and ``tlog.leaves`` is a sparse file)."""
    write_json_atomic(
        cfg.state_dir / STATE,
        {
            "size": AGED_SIZE,
            "hashes": [os.urandom(32).hex() for _ in range(AGED_SIZE.bit_count())],
            "logged": {},
            "checkpoint": None,
        },
    )
    with (cfg.state_dir / LEAVES).open("wb") as f:
        f.truncate(AGED_SIZE * LEAF_SIZE)


def _user_cpu() -> float:
    return resource.getrusage(resource.RUSAGE_THREAD).ru_utime


def bench_log_cost(frames: list[Frame], fps: int, segments: int = 10) -> list[tuple[str, str]]:
    """The log's CPU per file close against the recorder's user CPU, at the default config."""
    with tempfile.TemporaryDirectory(prefix="bodycam-bench-") as tmp:
        cfg = provisioned(Path(tmp))
        rec_cfg = cfg["recording"]
        segment_s = float(rec_cfg["segment_s"])
        _age(cfg)
        rec = _TimedRecorder(cfg)
        rec.open()
        per_segment = round(segment_s * fps)
        total = (round(rec_cfg["pre_event_s"]) + 2 + segment_s * (segments + 2)) * fps
        stream = iter(fresh(frames, round(total), fps))

        def batch(n: int) -> list[EncodedFrame]:
            """The next ``n`` frames of one continuous stream, each with its own bytes."""
            return [next(stream) for _ in range(n)]

        # The pre-event buffer fills; a press; the first segment (pre-roll and all) closes.
        for f in batch(round((rec_cfg["pre_event_s"] + 1) * fps)):
            rec.frame(f)
        rec.input(InputEvent("record", True, (rec.counters.frames - 1) / fps))
        for f in batch(per_segment):
            rec.frame(f)
        assert rec.writer is not None and rec.hook_cpu, "the first segment did not close"
        rec.hook_cpu.clear()
        rec.hook_wall.clear()
        # Whole segments of steady recording, each batch generated before it is timed.
        user = 0.0
        video_s = 0.0
        for _ in range(segments):
            frames_in = batch(per_segment)
            u0 = _user_cpu()
            for f in frames_in:
                rec.frame(f)
            user += _user_cpu() - u0
            video_s += len(frames_in) / fps
        closes = len(rec.hook_cpu)
        log_cpu = sum(rec.hook_cpu)
        wall_per_close = statistics.median(rec.hook_wall)
        # One more segment, its close's syncs counted (not timed: counting costs CPU).
        rec.hook_syncs = []
        for f in batch(per_segment):
            rec.frame(f)
        syncs = list(rec.hook_syncs)
        size = rec.log.tree.size if rec.log else 0
        rec.close()
        rec.sim.close()
    assert closes and size > AGED_SIZE, "no file was logged"
    closes_per_hour = 3600 / segment_s
    rec_per_hour = user / video_s * 3600
    log_per_hour = closes_per_hour * log_cpu / closes
    return [
        (
            "workload (default config)",
            f"{segments} x {segment_s:.0f} s segments of steady recording, "
            f"{closes} file closes, log of {AGED_SIZE + 1:,} leaves",
        ),
        (
            "log per file close: leaf, tree, checkpoint signed, tlog.json, audit entry",
            f"CPU {log_cpu / closes * 1e3:.2f} ms (user + kernel, mean), "
            f"wall {wall_per_close * 1e3:.2f} ms (median), {', '.join(map(str, syncs))} syncs",
        ),
        (
            "recorder user CPU per hour of recording (closes included)",
            f"{rec_per_hour:.1f} s",
        ),
        (
            f"log CPU per hour of recording ({closes_per_hour:.0f} closes)",
            f"{log_per_hour * 1e3:.0f} ms",
        ),
        (
            "  log CPU / recorder user CPU",
            f"{log_per_hour / rec_per_hour * 100:.2f}%  (goal <= 2%)",
        ),
    ]
