"""What sound costs (issue 10, "Numbers"): the recorder with audio against video-only, and the AAC
encoder against real time.

The recorder figures are the same measure as "Recorder, encoding excluded": the recorder's user
CPU per second of media while recording, here with the AAC packets of that second (47 a second,
64 kbit/s: made beforehand by the camera's own pipeline, hal.aac.AacCapture, from the
simulator's soundscape) placed among the frames, against the same recorder without them, in
alternating runs; that difference is within the noise of CPU accounting (runs of 20 s cost
about 60 ms, and the kernel splits user from system time by its tick), so the figure held to
the goal adds the packets' path alone (placed, framed into a record, encrypted, signed and
written), measured on many packets, to the video-only recorder. The encoder figure is
AacCapture itself (the sample clock's fit and FFmpeg's `aac` encoder through PyAV) over blocks
of 960 samples, per second of sound.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from hal.aac import RATE, AacCapture
from hal.camera import EncodedFrame
from hal.microphone import AudioPacket
from recorder.bench.camera import provisioned, recording
from recorder.bench.common import cpu_median
from recorder.evidence.media import Frame
from sim.sound import Soundscape

__all__ = ["bench_audio"]

BLOCK = 960


def _pcm(seconds: int) -> list[np.ndarray]:
    sound = Soundscape(claps_every_s=1.0)
    blocks = []
    for i in range(seconds * RATE // BLOCK):
        t = i * BLOCK / RATE
        sound.frame(t)  # a click each second, on top of the ambient noise
        blocks.append(sound.render(t, BLOCK, RATE))
    return blocks


def _encode(blocks: list[np.ndarray]) -> list[AudioPacket]:
    capture = AacCapture()
    out: list[AudioPacket] = []
    for i, block in enumerate(blocks):
        out += capture.feed(block, (i + 1) * BLOCK / RATE * 1e6, 0)
    return out + capture.flush()


def bench_audio(frames: list[Frame], fps: int, seconds: int) -> list[tuple[str, str]]:
    repeats = 7
    pcm = _pcm(seconds)
    encoder_user, _ = cpu_median(lambda: _encode(pcm), repeats)
    packets = _encode(pcm)
    with tempfile.TemporaryDirectory(prefix="bodycam-bench-") as tmp:
        rec, devices, stream = recording(Path(tmp), frames, fps, (7 + 2 * seconds * repeats) * fps)
        per_frame = len(packets) / (seconds * fps)

        def batch(with_audio: bool) -> list[tuple[AudioPacket | EncodedFrame, ...]]:
            """One run's frames, each after the packets of its time (made before the clock
            starts, so that only the recorder is measured)."""
            video = [next(stream) for _ in range(seconds * fps)]
            if not with_audio:
                return [(f,) for f in video]
            t0 = video[0].timestamp_us
            return [
                (
                    *(
                        AudioPacket(p.data, t0 + p.timestamp_us, p.samples)
                        for p in packets[round(i * per_frame) : round((i + 1) * per_frame)]
                    ),
                    f,
                )
                for i, f in enumerate(video)
            ]

        def run(items: list[tuple[AudioPacket | EncodedFrame, ...]]) -> None:
            for group in items:
                for item in group:
                    if isinstance(item, AudioPacket):
                        rec.audio(item)
                    else:
                        rec.frame(item)

        runs: list[tuple[bool, list[float]]] = [(False, []), (True, [])]
        for _ in range(repeats):  # alternating, so that drift hits both alike
            for with_audio, out in runs:
                items = batch(with_audio)
                out.append(cpu_median(lambda i=items: run(i), 1)[0])  # type: ignore[misc]
        assert rec.counters.audio_packets == repeats * len(packets)
        rounds = 20  # the packet path alone, on enough packets that the CPU's tick is no matter
        pending = [[p for _ in range(rounds) for p in packets] for _ in range(repeats)]

        def audio_path() -> None:
            base = rec.counters.frames * 1e6 / fps
            for i, p in enumerate(pending.pop()):
                rec.audio(AudioPacket(p.data, round(base + i * 21_333.3), p.samples))
            assert rec.writer is not None
            rec.writer.flush()  # framed, encrypted, signed and written, as with the frames

        path_user, _ = cpu_median(audio_path, repeats)
        path_user /= rounds
        rec.close()
        devices.close()
    without = sorted(runs[0][1])[repeats // 2]
    with_user = sorted(runs[1][1])[repeats // 2]
    ms = 1e3 / seconds
    kbit = sum(len(p.data) for p in packets) * 8 / seconds / 1e3
    return [
        ("recorder user CPU per s of media, video only", f"{without * ms:.2f} ms"),
        (
            f"recorder user CPU per s of media, with AAC ({kbit:.0f} kbit/s)",
            f"{with_user * ms:.2f} ms",
        ),
        (
            "  with audio / video only (A/B, within CPU accounting's noise)",
            f"{with_user / without:.3f}x",
        ),
        ("the audio packets' path alone, user CPU per s of media", f"{path_user * ms:.3f} ms"),
        (
            "  (video only + audio path) / video only",
            f"{(without + path_user) / without:.3f}x  (goal <= 1.15x)",
        ),
        (
            "AAC capture and encode (hal.aac), user CPU per s of sound",
            f"{encoder_user * ms:.2f} ms",
        ),
        ("  as a fraction of real time, on this core", f"{encoder_user / seconds:.2%}"),
    ]


def bench_patrol_sync() -> list[tuple[str, str]]:
    """The demo's patrol (its 50 ppm fast microphone, a clap every 10 s), exported, and each
    MP4's sync measured from the file alone (recorder/export/avsync.py)."""
    from recorder.bench.report import _DEMO, PATROL
    from recorder.daemon import Daemon
    from recorder.evidence.keys import load_agency_private, load_device_public
    from recorder.export.avsync import measure
    from recorder.export.exporter import export

    rows = []
    with tempfile.TemporaryDirectory(prefix="bodycam-bench-sync-") as tmp:
        root = Path(tmp)
        cfg = provisioned(root, **_DEMO)
        Daemon(cfg).run(PATROL)
        out = root / "export"
        result = export(
            root / "ev",
            load_agency_private(root / "keys" / "agency.key"),
            load_device_public(cfg.state_dir / "device.pub"),
            out,
        )
        for o in result.outputs:
            sync = measure(out / o["file"])
            worst = sync.worst_ms if sync.worst_ms is not None else float("nan")
            trend = sync.drift_ms_per_min if sync.drift_ms_per_min is not None else float("nan")
            rows.append(
                (
                    f"{o['file'][:22]}... ({o['duration_s']:.0f} s)",
                    f"{len(sync.pairs)} claps paired, worst A/V offset {worst:+.2f} ms "
                    f"(goal within 20 ms), trend {trend:+.3f} ms/min; "
                    f"{len(sync.unpaired_flashes)} flashes without sound (the silent pre-roll "
                    "and the mute)",
                )
            )
    return rows
