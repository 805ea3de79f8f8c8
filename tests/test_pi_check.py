"""What ``make pi-check`` relies on, checked in ``make test`` (which never runs pi-check itself):
its configurations and scenarios still load, its test-only drop-in stays out of the package, and
it takes the Debian mirror from the host's apt sources."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from recorder.config import load
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
FILES = ROOT / "scripts" / "pi-check-files"


@pytest.mark.parametrize("name", ["bodycam.toml", "bodycam-sim.toml"])
def test_its_configurations_load_on_the_simulator(name: str) -> None:
    config = load(FILES / name)
    assert config["device"]["backend"] == "sim"
    scenario = config["sim"]["scenario"]
    if scenario:  # installed next to the config, from the same directory
        assert (FILES / Path(scenario).name).is_file(), scenario


@pytest.mark.parametrize("path", sorted(FILES.glob("scenario-*.toml")), ids=lambda p: p.name)
def test_its_scenarios_load(path: Path) -> None:
    assert load_scenario(path).steps


def test_the_stall_scenario_outlasts_the_watchdog() -> None:
    (step,) = load_scenario(FILES / "scenario-stall.toml").steps
    assert step.do == "camera_stall" and step.args["seconds"] > 60  # WatchdogSec=10s


def test_the_qemu_drop_in_is_not_in_the_package() -> None:
    install = (ROOT / "debian" / "bodycam.install").read_text()
    assert "pi-check" not in install and "scripts/" not in install
    assert not list((ROOT / "systemd").glob("*.d"))  # no drop-in directory the .deb could ship


def mirror(apt: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "pi-rootfs"), "--mirror"],
        env={"PI_ROOTFS_APT": str(apt), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_the_mirror_is_the_bookworm_entry_of_the_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        textwrap.dedent(
            """\
            Types: deb
            URIs: http://security.example/debian-security
            Suites: bookworm-security
            Components: main

            # a comment
            Types: deb-src deb
            URIs: http://mirror.example/debian
            Suites: bookworm bookworm-updates
            Components: main
            """
        )
    )
    result = mirror(tmp_path)
    assert (result.returncode, result.stdout) == (0, "http://mirror.example/debian\n"), result


def test_the_mirror_is_read_from_a_one_line_sources_list(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "deb http://security.example/ bookworm-security main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n"
    )
    result = mirror(tmp_path)
    assert (result.returncode, result.stdout) == (0, "http://mirror.example/debian\n"), result


def test_no_bookworm_entry_is_an_error_that_says_so(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb http://mirror.example/debian trixie main\n")
    result = mirror(tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert "no 'bookworm' entry in the host's apt sources" in result.stderr
