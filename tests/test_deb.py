"""``make deb`` builds the Raspberry Pi OS package; dpkg-deb shows what it would install.

The package is built once for this module, from a copy of the tree in a temporary directory
(``DEB_BUILD``), and lands in another (``DEB_OUT``), so the tree is left as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from recorder.config import load

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("dpkg-buildpackage", "dpkg-deb", "dh", "dh_python3", "make")
PLUGIN = Path("/usr/share/dh-python/dhpython/build/plugin_pyproject.py")
MISSING = [t for t in TOOLS if shutil.which(t) is None] + ([] if PLUGIN.exists() else [PLUGIN.name])

pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"Debian build tools missing: {', '.join(MISSING)} (scripts/install-tools adds them)",
)


@dataclass
class Deb:
    path: Path
    info: str  # dpkg-deb -I
    listing: dict[str, str]  # path -> mode string, from dpkg-deb -c
    root: Path  # dpkg-deb -x
    control: Path  # dpkg-deb -e

    def field(self, name: str) -> str:
        match = re.search(rf"^ {name}: (.*)$", self.info, re.MULTILINE)
        assert match, f"no {name} field in\n{self.info}"
        return match.group(1)


def dpkg_deb(*args: str) -> str:
    return subprocess.run(
        ["dpkg-deb", *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deb]:
    tmp = tmp_path_factory.mktemp("deb")
    out, build = tmp / "out", tmp / "build"
    result = subprocess.run(
        ["make", "-C", str(ROOT), "--no-print-directory", "deb", f"DEB_OUT={out}",
         f"DEB_BUILD={build}"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "MAKEFLAGS": ""},
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    (path,) = out.glob("bodycam_*_all.deb")
    assert not build.exists(), "make deb leaves its build directory behind"
    listing = {}
    for line in dpkg_deb("-c", str(path)).splitlines():
        mode, *_, name = line.split(maxsplit=5)
        listing[name.removeprefix(".").rstrip("/") or "/"] = mode
    root, control = tmp / "root", tmp / "control"
    dpkg_deb("-x", str(path), str(root))
    dpkg_deb("-e", str(path), str(control))
    yield Deb(path, dpkg_deb("-I", str(path)), listing, root, control)


def test_it_is_one_architecture_independent_package_of_this_version(deb: Deb) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert deb.field("Package") == "bodycam"
    assert deb.field("Architecture") == "all"
    assert deb.field("Version") == version
    assert deb.path.name == f"bodycam_{version}_all.deb"


def test_it_claims_no_dependency_bookworm_cannot_satisfy(deb: Deb) -> None:
    depends = {d.strip().split(" ")[0] for d in deb.field("Depends").split(",")}
    # python3-jinja2: Bookworm has 3.1.2, which the venv (it sees the system's packages) uses
    assert depends == {"python3:any", "python3-jinja2", "python3-venv", "systemd"}
    recommends = {d.strip() for d in deb.field("Recommends").split(",")}
    assert recommends == {"python3-picamera2", "python3-lgpio", "python3-smbus2", "libasound2"}
    # What bodycam-setup-venv needs to build pyalsaaudio, which PyPI has as source only.
    suggests = {d.strip() for d in deb.field("Suggests").split(",")}
    assert suggests == {"gcc", "libc6-dev", "python3-dev", "libasound2-dev"}


def test_the_configuration_is_a_conffile_for_the_pi_backend(deb: Deb) -> None:
    assert (deb.control / "conffiles").read_text().split() == ["/etc/bodycam/bodycam.toml"]
    config = load(deb.root / "etc/bodycam/bodycam.toml")
    assert config["device"]["backend"] == "pi"
    assert config.state_dir == Path("/var/lib/bodycam/state")
    assert config.evidence_dir == Path("/var/lib/bodycam/evidence")


def test_the_units_are_installed_as_written(deb: Deb) -> None:
    for unit in (
        "bodycam.service",
        "bodycam-console@.service",
        "bodycam-offload.service",
        "bodycam-offload.timer",
        "bodycam-gpsd.socket",
        "bodycam-gpsd.service",
    ):
        installed = deb.root / "lib/systemd/system" / unit
        assert installed.read_text() == (ROOT / "systemd" / unit).read_text()
    postinst = (deb.control / "postinst").read_text()
    assert "deb-systemd-helper enable 'bodycam.service'" in postinst
    assert "try-restart 'bodycam.service'" in postinst  # on upgrade only: never before provisioning
    # The one unit started by an install: the gpsd socket, which only listens.
    assert re.findall(r"deb-systemd-invoke start (.*) >", postinst) == ["'bodycam-gpsd.socket'"]
    prerm = (deb.control / "prerm").read_text()
    assert "deb-systemd-invoke stop bodycam.service" in prerm
    assert "deb-systemd-invoke stop bodycam-offload.timer bodycam-offload.service" in prerm
    assert "deb-systemd-invoke stop bodycam-gpsd.socket bodycam-gpsd.service" in prerm


def test_the_gpsd_socket_is_enabled_listening_and_left_alone_on_upgrade(deb: Deb) -> None:
    postinst = (deb.control / "postinst").read_text()
    assert "deb-systemd-helper enable 'bodycam-gpsd.socket'" in postinst
    # A restarted socket would queue the daemon's connections behind a proxy holding the old one.
    assert "restart 'bodycam-gpsd.socket'" not in postinst
    assert "bodycam-gpsd.service'" not in postinst  # the socket starts it
    # The user the socket belongs to exists before the socket is started.
    assert postinst.index("systemd-sysusers") < postinst.index("start 'bodycam-gpsd.socket'")
    config = load(deb.root / "etc/bodycam/bodycam.toml")["gnss"]
    socket_unit = (deb.root / "lib/systemd/system/bodycam-gpsd.socket").read_text()
    assert config["enabled"] is True
    assert f"ListenStream={config['gpsd_host']}\n" in socket_unit


def test_offload_s_timer_is_installed_but_enabled_only_by_the_agency(deb: Deb) -> None:
    postinst = (deb.control / "postinst").read_text()
    # Enabled again on upgrade if the agency had enabled it; never enabled by a first install.
    assert "deb-systemd-helper --quiet was-enabled 'bodycam-offload.timer'" in postinst
    assert "deb-systemd-helper debian-installed 'bodycam-offload.timer'" in postinst
    assert "try-restart 'bodycam-offload.timer'" in postinst
    assert "bodycam-offload.service'" not in postinst  # a run is the timer's to start


def test_the_user_exists_before_its_directories_are_made(deb: Deb) -> None:
    sysusers = (deb.root / "usr/lib/sysusers.d/bodycam.conf").read_text()
    lines = [line.split() for line in sysusers.splitlines() if line and not line.startswith("#")]
    assert lines[0][:2] == ["u", "bodycam"]
    groups = {line[2] for line in lines if line[0] == "m"}
    assert groups == {"video", "gpio", "dialout", "i2c", "audio"}
    tmpfiles = (deb.root / "usr/lib/tmpfiles.d/bodycam.conf").read_text()
    for d in ("/var/lib/bodycam", "/var/lib/bodycam/state", "/var/lib/bodycam/evidence"):
        assert re.search(rf"^d {re.escape(d)}\s+0700 bodycam bodycam -$", tmpfiles, re.M), d
        assert deb.listing[d] == "drwx------", (d, deb.listing[d])
    postinst = (deb.control / "postinst").read_text()
    assert postinst.index("systemd-sysusers") < postinst.index("systemd-tmpfiles")


def test_the_python_packages_are_private_and_complete(deb: Deb) -> None:
    lib = deb.root / "usr/lib/bodycam"
    for source in sorted((ROOT / "hal").rglob("*.py")):
        relative = source.relative_to(ROOT)
        assert (lib / relative).read_bytes() == source.read_bytes(), relative
    for package in ("recorder", "hal", "sim"):
        assert f"/usr/lib/bodycam/{package}/__init__.py" in deb.listing
    assert not any(p.startswith("/usr/lib/python3/dist-packages") for p in deb.listing)
    (metadata,) = lib.glob("bodycam-*.dist-info/METADATA")
    assert "Requires-Dist: cryptography>=47" in metadata.read_text()


def test_the_command_runs_in_the_venv_and_says_how_to_make_it(deb: Deb) -> None:
    launcher = deb.root / "usr/bin/bodycam"
    setup = deb.root / "usr/sbin/bodycam-setup-venv"
    for script in (launcher, setup):
        assert script.stat().st_mode & stat.S_IXUSR
        subprocess.run(["sh", "-n", str(script)], check=True)
    assert "/opt/bodycam/venv" in launcher.read_text()
    assert (deb.root / "usr/share/bodycam/constraints.txt").read_text().count("numpy<2") == 1
    if Path("/opt/bodycam/venv").exists():
        pytest.skip("this machine has a bodycam venv; the missing-venv message is not shown")
    result = subprocess.run([str(launcher), "--version"], capture_output=True, text=True)
    assert result.returncode == 78
    assert "run 'sudo bodycam-setup-venv'" in result.stderr


@pytest.mark.parametrize(
    ("unit", "doc"),
    [
        ("bodycam.service", "install-pi.md"),
        ("bodycam-witness.service", "witness.md"),
        ("bodycam-offload.service", "offload.md"),
        ("bodycam-offload.timer", "offload.md"),
        ("bodycam-gpsd.socket", "install-pi.md"),
        ("bodycam-gpsd.service", "install-pi.md"),
    ],
)
def test_the_install_page_is_shipped_uncompressed_where_the_units_point(
    deb: Deb, unit: str, doc: str
) -> None:
    assert (
        f"Documentation=file:/usr/share/doc/bodycam/{doc}" in (ROOT / "systemd" / unit).read_text()
    )
    page = deb.root / "usr/share/doc/bodycam" / doc
    assert page.read_text() == (ROOT / "docs" / doc).read_text()
