"""The daemon as a real process: SIGTERM closes cleanly; kill -9 costs about a second at most."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from recorder.cli import main
from recorder.evidence.reader import Verdict
from tests.simdevice import SimDevice, scenario

BODYCAM = str(Path(sys.executable).parent / "bodycam")


def start(cam: SimDevice, scen: Path, speed: str) -> tuple[subprocess.Popen[bytes], float]:
    """Start ``bodycam sim``; return it and the real time its camera started."""
    log = cam.root / f"daemon-{scen.stem}.log"
    with log.open("wb") as err:  # a file, not a pipe: nobody must have to drain it
        proc = subprocess.Popen(
            [
                BODYCAM,
                "sim",
                "--config",
                str(cam.toml()),
                "--scenario",
                str(scen),
                "--speed",
                speed,
            ],
            stderr=err,
            stdout=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 30
    while b"recording loop running" not in log.read_bytes():
        assert proc.poll() is None, f"daemon exited early: {log.read_text()}"
        assert time.monotonic() < deadline, f"daemon did not start: {log.read_text()}"
        time.sleep(0.01)
    return proc, time.monotonic()


def wait_for(path_glob: str, root: Path, timeout: float = 30) -> None:
    """Wait for a file to appear (a real process, so real time; polled, never slept on blindly)."""
    deadline = time.monotonic() + timeout
    while not list(root.glob(path_glob)):
        assert time.monotonic() < deadline, f"{path_glob} never appeared"
        time.sleep(0.02)


def long_recording(tmp_path: Path, name: str = "s.toml") -> Path:
    return scenario(
        tmp_path / name,
        100000,
        """
        [[step]]
        at = 1.0
        do = "hold"
        input = "record"
        seconds = 0.2
        """,
    )


def test_sigterm_closes_the_segment_and_exits_0_within_5_s(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    proc, _ = start(cam, long_recording(tmp_path), "max")
    wait_for("segment-00000002.bcam", cam.evidence)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    assert time.monotonic() - t0 < 5
    report = cam.verify()
    assert report.worst is Verdict.OK, [str(ln) for ln in report.lines]
    stop = [e for e in cam.audit_events() if e["event"] == "record_stop"]
    assert stop[-1]["reason"] == "sigterm"


def test_kill_9_at_random_moments_loses_at_most_about_a_second(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path, recording={"segment_s": 10, "pre_event_s": 2})
    rng = random.Random(os.environ.get("PYTEST_SEED", "kill-9"))
    torn: list[int] = []
    for round_ in range(3):
        proc, started = start(cam, long_recording(tmp_path, f"s{round_}.toml"), "realtime")
        time.sleep(1.0 + rng.uniform(1.5, 4.0))  # a random moment while it records
        proc.kill()
        killed = time.monotonic()
        assert proc.wait(timeout=5) == -signal.SIGKILL
        newest = cam.segments()[-1]
        torn.append(int(newest.stem.split("-")[1]))
        frames = cam.frames(newest)
        # virtual time runs with real time here; the camera began at 0 when the loop started
        lost = (killed - started) - frames[-1].pts_us / 1e6
        assert lost <= 1.5, f"round {round_}: {lost:.2f} s of footage lost"
    # a clean run after the last crash: recovery, then recording resumes
    proc, _ = start(cam, long_recording(tmp_path, "last.toml"), "max")
    wait_for(f"segment-{torn[-1] + 2:08d}.bcam", cam.evidence)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    report = cam.verify()
    lines = {ln.file: ln for ln in report.lines if ln.kind == "segment"}
    for name, line in lines.items():
        seq = int(name.split("-")[1].split(".")[0])
        if seq in torn:
            assert line.verdict is Verdict.INCOMPLETE, str(line)
            assert "recovery note confirms" in line.reason
        else:
            assert line.verdict is Verdict.OK, str(line)
    assert not [ln for ln in report.lines if ln.verdict in (Verdict.MISSING, Verdict.TAMPERED)]
    recovered = [e for e in cam.audit_events() if e["event"] == "recovered"]
    assert {e["seq"] for e in recovered if e["stream"] == "media"} == set(torn)


def test_bodycam_sim_prints_its_console_pty_and_answers_there(tmp_path: Path) -> None:
    """What a technician does: start the simulator, attach to the printed pty as picocom would."""
    import serial  # pyserial

    cam = SimDevice.provision(tmp_path)
    out = tmp_path / "stdout.txt"
    with out.open("wb") as stdout, (tmp_path / "stderr.txt").open("wb") as stderr:
        proc = subprocess.Popen(
            [
                BODYCAM,
                "sim",
                "--config",
                str(cam.toml()),
                "--scenario",
                str(long_recording(tmp_path)),
                "--speed",
                "realtime",
            ],
            stdout=stdout,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 30
        while b"console: " not in out.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.01)
        pty = out.read_text().split("console: ")[1].split()[0]
        with serial.Serial(pty, 115200, timeout=5) as port:
            port.write(b"STATUS?\r")  # picocom sends a bare CR
            reply = b""
            while not reply.endswith(b"OK\r\n"):
                chunk = port.read(1)
                assert chunk, f"no reply: {reply!r}"
                reply += chunk
        assert b"state" in reply
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0


def test_killed_while_recording_it_resumes_by_itself_and_export_shows_the_cut(
    tmp_path: Path,
) -> None:
    cam = SimDevice.provision(tmp_path, recording={"segment_s": 10})
    proc, _ = start(cam, long_recording(tmp_path), "max")
    wait_for("segment-00000002.bcam", cam.evidence)
    second = cam.evidence / "segment-00000002.bcam"
    deadline = time.monotonic() + 30
    while second.stat().st_size == 0:  # its header written (one write): the recording is named
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.kill()  # the power goes mid-recording
    assert proc.wait(timeout=5) == -signal.SIGKILL
    torn = int(cam.segments()[-1].stem.split("-")[1])
    nobody_presses = scenario(tmp_path / "idle.toml", 100000, "")
    proc, _ = start(cam, nobody_presses, "max")
    wait_for(f"segment-{torn + 2:08d}.bcam", cam.evidence)  # recording again, by itself
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0

    out = tmp_path / "export"
    keys = ["--agency-key", str(tmp_path / "keys/agency.key")]
    pub = ["--device-pub", str(cam.config.state_dir / "device.pub")]
    assert main(["export", str(cam.evidence), *keys, *pub, "--out", str(out)]) == 1  # INCOMPLETE
    outputs = json.loads((out / "report.json").read_text())["outputs"]
    cut, resumed = outputs
    assert cut["trigger"] == "button" and resumed["trigger"] == "resume"
    assert resumed["resumes"]["recording_id"] == cut["recording_id"]
    assert resumed["resumes"]["torn_segment"] == torn
    assert resumed["resumes"]["gap_s"] > 0  # the seconds the camera was off, in wall time
    assert "after a power cut" in (out / "report.txt").read_text()
