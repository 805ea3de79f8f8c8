"""``bodycam sim`` and ``bodycam run`` as a user meets them: the first contact without a
configuration, the log a scenario leaves, and a process that cannot dump core."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from recorder.cli import main
from tests.profiles import examples
from tests.simdevice import SimDevice, scenario

BODYCAM = str(Path(sys.executable).parent / "bodycam")


def test_bodycam_sim_without_a_config_says_how_to_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [BODYCAM, "sim"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 78, result.stderr  # EX_CONFIG
    assert result.stderr.startswith("bodycam sim: bodycam.toml: no such file\n")
    assert "make demo" in result.stderr and "--config" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@settings(
    max_examples=examples(50),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# No lone surrogates: the real stderr writes them with backslashreplace, pytest's capture cannot.
@given(
    command=st.sampled_from(["sim", "run"]),
    name=st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=300),
)
@example(command="sim", name="a\x00b")
@example(command="run", name="x" * 300)
def test_a_config_file_that_is_not_there_gets_the_first_steps_never_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, name: str
) -> None:
    missing = tmp_path / "absent" / name
    assert main([command, "--config", str(missing)]) == 78
    err = capsys.readouterr().err
    assert err.startswith(f"bodycam {command}: ")
    assert "Traceback" not in err
    if "\x00" not in name and len(name.encode(errors="surrogateescape")) < 255:
        assert "--config FILE" in err and "make demo" in err


def test_scenario_steps_are_logged_and_the_daemon_cannot_dump_core(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    path = scenario(
        tmp_path / "s.toml",
        100000,
        """
        [[step]]
        at = 1.0
        do = "hold"
        input = "record"
        seconds = 0.2
        """,
    )
    log = tmp_path / "daemon.log"
    with log.open("wb") as err:  # a file, not a pipe: nobody must have to drain it
        proc = subprocess.Popen(
            [BODYCAM, "sim", "--config", str(cam.toml()), "--scenario", str(path)],
            stderr=err,
            stdout=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 60
        while b"scenario step 1 " not in log.read_bytes():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        assert re.search(r"^Max core file size\s+0\s+0\s+bytes", limits, re.M), limits
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    text = log.read_text()
    # journald reads the priority prefix: <6> is info
    assert "<6>sim.player: scenario 'test' scheduled: 1 steps over 100000s" in text
    assert re.search(r"^<6>sim\.player: scenario step 1 at 1\.000s: hold ", text, re.M), text
    assert "<6>sim.backend: scenario 'test' pins the clock's start: 2024-06-01T00:00:00Z" in text


def test_the_daemon_makes_itself_undumpable() -> None:
    """RLIMIT_CORE does not stop a core piped to a handler; PR_SET_DUMPABLE 0 does."""
    code = (
        "import ctypes; from recorder.cli.daemon_cmds import no_core_dumps; "
        "libc = ctypes.CDLL(None); before = libc.prctl(3, 0, 0, 0, 0); no_core_dumps(); "
        "print(before, libc.prctl(3, 0, 0, 0, 0))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["1", "0"]  # PR_GET_DUMPABLE: dumpable before, not after


def test_bodycam_run_plays_the_scenario_its_config_names_on_the_simulator(tmp_path: Path) -> None:
    """How the service is checked under systemd (scripts/pi-check): the unit runs `bodycam run`
    unchanged, and the config makes the simulated camera stall."""
    path = scenario(
        tmp_path / "s.toml",
        3.0,
        """
        [[step]]
        at = 1.0
        do = "camera_stall"
        seconds = 1.0
        """,
    )
    cam = SimDevice.provision(tmp_path, sim={"scenario": str(path)}, console={"socket": ""})
    result = subprocess.run(
        [BODYCAM, "run", "--config", str(cam.toml())],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"^<6>sim\.player: scenario step 1 at 1\.000s: camera_stall ", result.stderr,
                     re.M), result.stderr  # fmt: skip


def test_a_scenario_for_the_real_camera_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cam = SimDevice.provision(tmp_path, sim={"scenario": str(tmp_path / "s.toml")})
    toml = cam.toml()
    toml.write_text(toml.read_text().replace('backend = "sim"', 'backend = "pi"'))
    assert main(["run", "--config", str(toml)]) == 78
    err = capsys.readouterr().err
    assert "sim.scenario is set, but only the sim backend plays scenarios" in err, err
    assert "'pi'" in err and "Traceback" not in err
