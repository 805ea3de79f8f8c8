"""Run every bench and print the figures (``make bench``)."""

from __future__ import annotations

import platform
import sys
import time

from recorder.bench.audio import bench_audio, bench_patrol_sync
from recorder.bench.camera import (
    bench_buffer_rss_fresh_process,
    bench_recorder_cpu,
    bench_sim_speed,
    bench_trigger_latency,
)
from recorder.bench.common import encode_h264, tile
from recorder.bench.console import bench_console_shutdown
from recorder.bench.evidence import bench_evidence
from recorder.bench.fleet import TITLE, bench_fleet
from recorder.bench.gnss import bench_gnss_cpu
from recorder.bench.offload import bench_offload
from recorder.bench.report import bench_report
from recorder.bench.tlog import bench_log_cost


def _print(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n{title}")
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")


def main() -> int:
    print(
        f"bodycam bench on {platform.machine()}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    fps, seconds = 30, 30
    run = encode_h264(1920, 1080, fps, 8_000_000, 2.0)
    frames = tile(run, fps, seconds)
    title = "1080p30 at 8 Mbit/s (real libx264 packets)"
    _print(f"Evidence path, {title}", bench_evidence(frames, fps, seconds))
    _print(f"Recorder, {title}, encoding excluded", bench_recorder_cpu(run, fps, 20))
    _print(f"GNSS samples (1 Hz), {title}, encoding excluded", bench_gnss_cpu(run, fps, 20))
    _print(f"Sound (AAC-LC 48 kHz mono), {title}, encoding excluded", bench_audio(run, fps, 20))
    _print(f"Pre-event buffer, {title}", bench_buffer_rss_fresh_process())
    _print(f"Trigger latency, {title}", bench_trigger_latency(run, fps))
    _print(f"The camera's log at every file close, {title}", bench_log_cost(run, fps))
    _print("Simulator: the whole daemon on the sim backend", bench_sim_speed())
    _print("Shutdown with a console session open (sim backend)", bench_console_shutdown())
    _print("The case report, report.html, for the demo's patrol (make demo)", bench_report())
    _print("A/V sync of the demo's patrol, from each exported MP4 alone", bench_patrol_sync())
    _print("Offload to a local Ceph RADOS Gateway (scripts/ceph-rgw)", bench_offload())
    _print(TITLE, bench_fleet())
    return 0


if __name__ == "__main__":
    sys.exit(main())
