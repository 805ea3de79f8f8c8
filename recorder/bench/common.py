"""Shared bench helpers: medians of repeated CPU-time measurements, real H.264 input, and an S3
store to offload to."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from recorder.evidence.media import STREAM_VIDEO, Frame
from recorder.offload.credentials import Credentials, load_credentials

REPEATS = 7
CEPH_RGW = Path(__file__).parents[2] / "scripts" / "ceph-rgw"


@dataclass
class Sync:
    """One fsync or fdatasync made under :func:`slow_syncs`: when it returned, on what file."""

    returned: float
    file: str


@contextlib.contextmanager
def slow_syncs(delay_s: float) -> Iterator[list[Sync]]:
    """Make every fsync and fdatasync of this process take ``delay_s`` longer, as an SD card's
    do, and list them: figures then do not depend on this machine's write cache."""
    calls: list[Sync] = []
    real = {name: getattr(os, name) for name in ("fsync", "fdatasync")}

    def slowed(name: str) -> Callable[[int], None]:
        def call(fd: int) -> None:
            time.sleep(delay_s)
            real[name](fd)
            calls.append(Sync(time.perf_counter(), os.readlink(f"/proc/self/fd/{fd}")))

        return call

    try:
        for name in real:
            setattr(os, name, slowed(name))
        yield calls
    finally:
        for name, fn in real.items():
            setattr(os, name, fn)


def cpu_median(fn: Callable[[], object], repeats: int = REPEATS) -> tuple[float, float]:
    """Median (user, system) CPU seconds of ``fn`` over ``repeats`` runs.

    User time is this process's own work; system time is the kernel's, on our behalf (page
    cache, writeback, fdatasync), which depends on the storage stack more than on our code.
    """
    user, system = [], []
    for _ in range(repeats):
        t0 = resource.getrusage(resource.RUSAGE_SELF)
        fn()
        t1 = resource.getrusage(resource.RUSAGE_SELF)
        user.append(t1.ru_utime - t0.ru_utime)
        system.append(t1.ru_stime - t0.ru_stime)
    return statistics.median(user), statistics.median(system)


def wall_median(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def encode_h264(
    width: int, height: int, fps: int, bitrate: int, seconds: float, gop: int | None = None
) -> list[Frame]:
    """Real H.264 from libx264 of a moving, noisy scene at the given bitrate."""
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height = width, height
    ctx.pix_fmt = "yuv420p"
    ctx.framerate = Fraction(fps, 1)
    ctx.time_base = Fraction(1, fps)
    ctx.bit_rate = bitrate
    ctx.gop_size = gop or fps
    ctx.options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "x264-params": f"repeat-headers=1:scenecut=0:vbv-maxrate={bitrate // 1000}"
        f":vbv-bufsize={bitrate // 1000}:nal-hrd=cbr",
    }
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 255, (height * 3 // 2, width + 64), dtype=np.uint8)
    frames: list[Frame] = []
    n = int(seconds * fps)
    for i in range(n + 1):
        if i < n:
            shift = (i * 4) % 64
            vf = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(noise[:, shift : shift + width]), format="yuv420p"
            )
            vf.pts = i
            packets = ctx.encode(vf)
        else:
            packets = ctx.encode(None)
        for p in packets:
            assert p.pts is not None
            frames.append(
                Frame(STREAM_VIDEO, round(p.pts * 1e6 / fps), bool(p.is_keyframe), bytes(p))
            )
    return frames


def tile(frames: list[Frame], fps: int, seconds: int) -> list[Frame]:
    """Repeat an encoded run (one GOP-aligned second or more) to ``seconds`` of video."""
    out: list[Frame] = []
    i = 0
    while len(out) < seconds * fps:
        f = frames[i % len(frames)]
        out.append(Frame(f.stream, round(len(out) * 1e6 / fps), f.keyframe, f.data))
        i += 1
    return out


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


@contextlib.contextmanager
def s3_store(tmp: Path, memory: int) -> Iterator[tuple[str, Credentials] | None]:
    """An S3 endpoint and its credentials: the store ``BODYCAM_S3_ENDPOINT`` names (credentials
    from ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``), or ``scripts/ceph-rgw`` started
    under ``tmp`` holding up to ``memory`` bytes, stopped at the end; None when neither is
    there (Ceph's radosgw not installed)."""
    endpoint = os.environ.get("BODYCAM_S3_ENDPOINT")
    if endpoint:
        yield endpoint, load_credentials(None, os.environ)
        return
    if shutil.which("radosgw") is None:
        yield None
        return
    cluster = tmp / "ceph"
    env = {**os.environ, "CEPH_RGW_MEMORY": str(memory)}
    try:
        started = subprocess.run(
            [str(CEPH_RGW), "start", str(cluster)], capture_output=True, text=True, env=env
        )
        if started.returncode != 0:
            raise RuntimeError(f"scripts/ceph-rgw start failed: {started.stderr}")
        creds = dict(line.split("=", 1) for line in (cluster / "s3.env").read_text().splitlines())
        yield started.stdout.strip(), load_credentials(None, creds)
    finally:
        subprocess.run([str(CEPH_RGW), "stop", str(cluster)], check=False)
