"""Bench the camera path: simulator speed, buffer memory, trigger latency, recorder CPU."""

from __future__ import annotations

import collections
import hashlib
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hal.camera import EncodedFrame
from hal.inputs import InputEvent
from recorder.bench.common import cpu_median, mib, slow_syncs
from recorder.config import Config, parse
from recorder.daemon import Daemon, load_recipients, settings_from
from recorder.evidence.keys import generate
from recorder.evidence.media import Frame
from recorder.provisioning import provision
from recorder.recorder import Recorder
from sim.backend import SimBackend


def provisioned(root: Path, **sections: dict[str, Any]) -> Config:
    """A provisioned simulated camera in ``root``."""
    state = root / "state"
    provision(state, [generate("agency", root / "keys").public])
    raw: dict[str, dict[str, Any]] = {
        "device": {"backend": "sim", "state_dir": str(state), "evidence_dir": str(root / "ev")},
        "console": {"socket": ""},
        **sections,
    }
    return parse(raw, "bench")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fresh(frames: list[Frame], n: int, fps: int) -> Iterator[EncodedFrame]:
    """n camera frames with their own bytes, as a camera delivers them (tiled from a real run)."""
    for i in range(n):
        f = frames[i % len(frames)]
        yield EncodedFrame(bytes(bytearray(f.data)), f.keyframe, round(i * 1e6 / fps))


def bench_sim_speed(seconds: float = 60.0) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bodycam-bench-") as tmp:
        root = Path(tmp)
        scen = root / "s.toml"
        scen.write_text(
            f'name = "bench"\nduration = {seconds}\n'
            '[[step]]\nat = 10.0\ndo = "hold"\ninput = "record"\nseconds = 0.2\n'
        )
        video = {"width": 1280, "height": 720, "fps": 30, "bitrate": 4_000_000}
        cfg = provisioned(root, video=video)
        t0 = time.perf_counter()
        daemon = Daemon(cfg)
        daemon.run(scen)
        wall = time.perf_counter() - t0
        dropped = daemon.frames.dropped if daemon.frames else -1
    return [
        ("simulated", f"{seconds:.0f} s at 1280x720, 30 fps, recording from 10 s"),
        ("wall time", f"{wall:.1f} s (frames dropped: {dropped})"),
        ("simulation speed", f"{seconds / wall:.1f}x real time  (goal >= 5x)"),
    ]


def _recorder(cfg: Config) -> tuple[Recorder, Any]:
    devices = SimBackend().create(settings_from(cfg))
    rec = Recorder(cfg, devices, load_recipients(cfg.state_dir))
    rec.open()
    return rec, devices


def recording(
    root: Path, frames: list[Frame], fps: int, n: int
) -> tuple[Recorder, Any, Iterator[EncodedFrame]]:
    """A provisioned recorder with 6 s in its buffer, pressed into recording (the press
    applied), and the rest of ``n`` fresh frames to give it."""
    cfg = provisioned(root, recording={"pre_event_s": 5})
    rec, devices = _recorder(cfg)
    stream = iter(fresh(frames, n, fps))
    for _ in range(6 * fps):
        rec.frame(next(stream))
    rec.input(InputEvent("record", True, (rec.counters.frames - 1) / fps))
    rec.frame(next(stream))  # the press is applied: recording from here on
    assert rec.writer is not None
    return rec, devices, stream


def bench_buffer_rss_fresh_process() -> list[tuple[str, str]]:
    """Run :func:`bench_buffer_rss` in a new interpreter, so freed memory cannot flatter it."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_buffer_rss_child)


def _buffer_rss_child() -> list[tuple[str, str]]:
    from recorder.bench.common import encode_h264

    return bench_buffer_rss(encode_h264(1920, 1080, 30, 8_000_000, 2.0), 30)


def bench_buffer_rss(frames: list[Frame], fps: int) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bodycam-bench-") as tmp:
        rec_cfg = {"pre_event_s": 120, "pre_event_max_mib": 2048}
        cfg = provisioned(Path(tmp), recording=rec_cfg)
        rec, devices = _recorder(cfg)
        before = rss_bytes()
        for f in fresh(frames, 125 * fps, fps):
            rec.frame(f)
        grown = rss_bytes() - before
        held = rec.ring.nbytes
        span = rec.ring.span_us / 1e6
        rec.close()
        devices.close()
    return [
        ("pre-event buffer", f"{span:.1f} s held, {mib(held)} of frames"),
        ("RSS growth", mib(grown)),
        ("RSS growth / bytes held", f"{grown / held:.3f}x  (goal <= 1.1x)"),
    ]


def bench_trigger_latency(frames: list[Frame], fps: int) -> list[tuple[str, str]]:
    """From the press being applied until the whole 30 s pre-roll is durable on disk, on this
    machine's storage and on storage whose syncs take 20 ms more (an SD card); and how many
    syncs a trigger costs.

    The first record is durable no later than the rest, so this bounds "trigger to first record
    durable" from above.
    """
    fast: list[float] = []
    slow: list[float] = []
    counts: set[int] = set()
    for run in range(10):
        with tempfile.TemporaryDirectory(prefix="bodycam-bench-") as tmp:
            cfg = provisioned(Path(tmp), recording={"pre_event_s": 30})
            rec, devices = _recorder(cfg)
            stream = list(fresh(frames, 35 * fps + 1, fps))
            for f in stream[:-1]:
                rec.frame(f)
            rec.input(InputEvent("record", True, stream[-2].timestamp_us / 1e6))
            with slow_syncs(_SD_SYNC_S if run % 2 else 0.0) as syncs:
                t0 = time.perf_counter()
                rec.frame(stream[-1])  # applies the press: header, pre-roll, audit entries
            assert rec.writer is not None and rec.writer.pre_roll_s >= 30
            media = [s.returned for s in syncs if Path(s.file).name.startswith("segment-")]
            (slow if run % 2 else fast).append(media[-1] - t0)
            counts.add(len(syncs))
            rec.close()
            devices.close()
    fast.sort()
    slow.sort()
    return [
        ("syncs per trigger (state, header, pre-roll, audit)", ", ".join(map(str, sorted(counts)))),
        (
            "trigger to all 30 s of pre-roll durable (median of 5)",
            f"{fast[2] * 1e3:.0f} ms  (goal for the first record: <= 1500 ms)",
        ),
        (
            f"  the same, {_SD_SYNC_S * 1e3:.0f} ms added to every sync (median of 5)",
            f"{slow[2] * 1e3:.0f} ms",
        ),
    ]


_SD_SYNC_S = 0.020
"""What a sync costs on an SD card, about: added to each one by the slow-storage figure."""


def bench_recorder_cpu(frames: list[Frame], fps: int, seconds: int) -> list[tuple[str, str]]:
    """The recorder's CPU per second of video while recording, encoding excluded."""
    repeats = 3
    with tempfile.TemporaryDirectory(prefix="bodycam-bench-") as tmp:
        rec, devices, stream = recording(Path(tmp), frames, fps, (7 + seconds * repeats) * fps)
        batches = [[next(stream) for _ in range(seconds * fps)] for _ in range(repeats)]
        batches.reverse()  # popped from the end: oldest first
        plain = [list(fresh(frames, seconds * fps, fps)) for _ in range(repeats)]
        records = [
            b"".join(f.data for f in b[i : i + fps]) for b in plain for i in range(0, len(b), fps)
        ]
        runs = iter(range(100))
        key = AESGCM(os.urandom(32))

        def recorder_run() -> None:
            for f in batches.pop():
                rec.frame(f)

        def baseline() -> None:
            path = Path(tmp) / f"plain{next(runs)}"
            q: collections.deque[EncodedFrame] = collections.deque()
            with path.open("wb") as out:
                for f in plain.pop():
                    q.append(f)
                    if len(q) >= fps:
                        out.write(b"".join(x.data for x in q))
                        q.clear()
            path.unlink()

        def crypto_floor() -> None:
            for r in records[:seconds]:
                hashlib.sha256(key.encrypt(bytes(12), r, None)).digest()

        rec_user, rec_sys = cpu_median(recorder_run, repeats)
        assert rec.writer is not None and rec.writer.frames > repeats * seconds * fps
        base_user, base_sys = cpu_median(baseline, repeats)
        floor, _ = cpu_median(crypto_floor, repeats)
        rec.close()
        devices.close()
    ms = 1e3 / seconds
    return [
        ("crypto floor: SHA-256 + AES-256-GCM, user CPU per s of video", f"{floor * ms:.2f} ms"),
        (
            "recorder while recording (buffer, state, framing, crypto, write)",
            f"user {rec_user * ms:.2f} ms + kernel {rec_sys * ms:.2f} ms per s",
        ),
        ("  recorder user CPU / crypto floor", f"{rec_user / floor:.2f}x  (goal <= 2.0x)"),
        (
            "deque-and-append baseline, CPU per s of video",
            f"user {base_user * ms:.2f} ms + kernel {base_sys * ms:.2f} ms per s",
        ),
        (
            "  recorder / deque-and-append (user + kernel)",
            f"{(rec_user + rec_sys) / (base_user + base_sys):.2f}x",
        ),
    ]
