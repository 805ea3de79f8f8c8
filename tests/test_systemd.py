"""The systemd units, checked by the real systemd-analyze (252 here, as on Bookworm), and the
install guide's account of them, checked against the files so the two cannot drift apart.

``security --offline=true`` scores the sandbox from the unit file alone; ``verify`` loads the
unit as systemd would and reports every problem it sees. Both run on the files in systemd/ as
shipped, except that verify gets a copy whose ``/usr/bin/bodycam`` points at a stand-in
executable, since verify insists that the command exists.

One more check backs MemoryDenyWriteExecute=yes: the Python stack the daemon runs (numpy,
OpenCV, PyAV's libx264, cryptography, ctypes callbacks), the witness's SQLite, and offload's
boto3 and TLS, is exercised under the same seccomp rule systemd 252 installs for it (no mmap
with PROT_WRITE|PROT_EXEC, no mprotect or pkey_mprotect adding PROT_EXEC, no shmat with
SHM_EXEC).

Offload's ExecCondition= (is the camera docked?) is run with /proc mounted as the unit's
sandbox mounts it, in this machine's network namespace and in an empty one.
"""

from __future__ import annotations

import ctypes.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recorder.cli.daemon_cmds import EX_CONFIG, EX_UNAVAILABLE
from recorder.cli.offload_cmd import EX_TEMPFAIL
from recorder.config import SCHEMA, load

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "systemd"
SERVICE = UNITS / "bodycam.service"
CONSOLE = UNITS / "bodycam-console@.service"
WITNESS = UNITS / "bodycam-witness.service"
OFFLOAD = UNITS / "bodycam-offload.service"
TIMER = UNITS / "bodycam-offload.timer"
GPSD_SOCKET = UNITS / "bodycam-gpsd.socket"
GPSD_PROXY = UNITS / "bodycam-gpsd.service"
SHIPPED_CONFIG = ROOT / "debian" / "bodycam.toml"
INSTALL_DOC = ROOT / "docs" / "install-pi.md"
WITNESS_DOC = ROOT / "docs" / "witness.md"
MAX_EXPOSURE = 1.5

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (scripts/install-tools adds it)"
)


def analyze(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def settings(unit: Path) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file, in order, keys repeated as systemd allows."""
    out: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@needs_analyze
@pytest.mark.parametrize(
    "unit",
    [
        "bodycam.service",
        "bodycam-console@ttyGS0.service",
        "bodycam-witness.service",
        "bodycam-offload.service",
        "bodycam-gpsd.service",
    ],
    ids=["daemon", "console", "witness", "offload", "gpsd-proxy"],
)
def test_the_sandbox_exposure_is_at_most_one_and_a_half(unit: str, tmp_path: Path) -> None:
    # An instance name is resolved against its template in the same directory.
    result = analyze(
        "security", "--offline=true", f"--threshold={round(MAX_EXPOSURE * 10)}",
        str(UNITS / unit), cwd=tmp_path,
    )  # fmt: skip
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


@needs_analyze
def test_the_units_verify_without_a_single_warning(tmp_path: Path) -> None:
    stand_in = tmp_path / "bodycam"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    for unit in (SERVICE, CONSOLE, WITNESS, OFFLOAD, TIMER, GPSD_SOCKET, GPSD_PROXY):
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace("/usr/bin/bodycam", str(stand_in)))
    for name in (
        "bodycam.service",
        "bodycam-console@ttyGS0.service",
        "bodycam-console@.service",
        "bodycam-witness.service",
        "bodycam-offload.service",
        "bodycam-offload.timer",
        "bodycam-gpsd.socket",
        "bodycam-gpsd.service",
    ):
        result = analyze("verify", str(tmp_path / name), cwd=tmp_path)
        assert (result.returncode, result.stdout + result.stderr) == (0, ""), name


@needs_analyze
def test_the_daemon_may_open_only_the_camera_gpio_i2c_serial_and_sound_devices(
    tmp_path: Path,
) -> None:
    result = analyze("security", "--offline=true", str(SERVICE), cwd=tmp_path)
    (acl,) = [line for line in result.stdout.splitlines() if line.startswith("✗ DeviceAllow=")]
    allowed = set(re.findall(r"(char-\S+):(r|rw)\b", acl))
    assert allowed == {
        ("char-video4linux", "rw"),
        ("char-media", "rw"),
        ("char-dma_heap", "rw"),
        ("char-gpiochip", "rw"),
        ("char-i2c", "rw"),
        ("char-ttyGS", "rw"),
        ("char-ttyAMA", "rw"),
        ("char-alsa", "rw"),
    }


def test_the_daemon_unit_says_what_the_daemon_needs() -> None:
    s = settings(SERVICE)
    config = "--config /etc/bodycam/bodycam.toml"
    assert s["ExecStart"] == [f"/usr/bin/bodycam run {config}"]
    assert s["ExecStartPre"] == [f"/usr/bin/bodycam selftest {config}"]
    assert (s["Type"], s["NotifyAccess"], s["WatchdogSec"]) == (["notify"], ["main"], ["10s"])
    assert s["Restart"] == ["on-failure"] and s["RestartPreventExitStatus"] == ["78"]
    assert s["TimeoutStopSec"] == ["10s"]
    assert (s["User"], s["Group"]) == (["bodycam"], ["bodycam"])
    assert s["SupplementaryGroups"] == ["video gpio dialout i2c audio"]
    assert (s["StateDirectory"], s["StateDirectoryMode"]) == (["bodycam"], ["0700"])
    assert s["ReadWritePaths"] == ["/var/lib/bodycam"]
    assert s["WorkingDirectory"] == ["/run/bodycam"] and s["RuntimeDirectory"] == ["bodycam"]
    assert s["DevicePolicy"] == ["closed"] and s["CapabilityBoundingSet"] == ["CAP_SYS_TIME"]
    assert s["PrivateNetwork"] == ["yes"] and s["IPAddressDeny"] == ["any"]
    assert s["UMask"] == ["0077"] and s["MemoryDenyWriteExecute"] == ["yes"]


@pytest.mark.parametrize(
    "unit",
    [SERVICE, CONSOLE, WITNESS, OFFLOAD, GPSD_PROXY],
    ids=["daemon", "console", "witness", "offload", "gpsd-proxy"],
)
def test_no_service_can_write_a_core_dump(unit: Path) -> None:
    assert settings(unit)["LimitCORE"] == ["0"]


def test_the_witness_unit_says_what_the_witness_needs() -> None:
    s = settings(WITNESS)
    (start,) = s["ExecStart"]
    assert start.split() == [
        "/usr/bin/bodycam", "witness", "serve",
        "--state", "/var/lib/bodycam-witness",
        "--devices", "/etc/bodycam-witness/devices",
        "--key", "%d/witness.key",  # the credential: the service never opens the key file
        "--name", "${WITNESS_NAME}",
        "--listen", "${WITNESS_LISTEN}",
    ]  # fmt: skip
    assert s["LoadCredential"] == ["witness.key:/etc/bodycam-witness/witness.key"]
    assert s["EnvironmentFile"] == ["/etc/bodycam-witness/witness.env"]
    assert s["Restart"] == ["on-failure"] and s["RestartPreventExitStatus"] == ["78"]
    assert s["DynamicUser"] == ["yes"] and "User" not in s
    assert (s["StateDirectory"], s["StateDirectoryMode"]) == (["bodycam-witness"], ["0700"])
    assert s["CapabilityBoundingSet"] == [""] and s["AmbientCapabilities"] == [""]
    assert s["IPAddressDeny"] == ["any"] and s["IPAddressAllow"] == ["localhost"]
    assert s["RestrictAddressFamilies"] == ["AF_INET AF_INET6"] and "PrivateNetwork" not in s
    assert s["UMask"] == ["0077"] and s["MemoryDenyWriteExecute"] == ["yes"]


def test_the_console_template_binds_to_its_tty() -> None:
    s = settings(CONSOLE)
    assert s["ExecStart"] == ["/usr/bin/bodycam console-serve --port /dev/%i"]
    assert s["BindsTo"] == ["dev-%i.device"] and "dev-%i.device" in s["After"]
    assert s["DeviceAllow"] == ["/dev/%i rw"] and s["User"] == ["bodycam"]


def test_the_daemon_reaches_gpsd_through_a_socket_only_its_user_may_open() -> None:
    sock, daemon = settings(GPSD_SOCKET), settings(SERVICE)
    (listen,) = sock["ListenStream"]
    assert load(SHIPPED_CONFIG)["gnss"]["gpsd_host"] == listen
    assert SCHEMA["gnss"]["gpsd_host"].default == listen
    assert (sock["SocketUser"], sock["SocketGroup"]) == (daemon["User"], daemon["Group"])
    assert sock["SocketMode"] == ["0600"] and sock["Accept"] == ["no"]
    # Not in the daemon's RuntimeDirectory=, which systemd removes (and the socket with it)
    # whenever the daemon stops.
    (runtime,) = daemon["RuntimeDirectory"]
    assert not Path(listen).is_relative_to(Path("/run") / runtime), listen
    assert sock["WantedBy"] == ["sockets.target"]
    # The daemon's sandbox is what it was: the socket is its only way to gpsd.
    assert daemon["PrivateNetwork"] == ["yes"] and daemon["IPAddressDeny"] == ["any"]
    assert daemon["RestrictAddressFamilies"] == ["AF_UNIX AF_NETLINK"]


def test_the_proxy_forwards_to_gpsd_s_own_port_and_nowhere_else() -> None:
    s = settings(GPSD_PROXY)
    (command,) = s["ExecStart"]
    proxyd, *options, target = command.split()
    assert proxyd == "/lib/systemd/systemd-socket-proxyd"  # Debian bookworm's systemd
    assert target == f"127.0.0.1:{SCHEMA['gnss']['gpsd_port'].default}"
    assert set(options) == {"--exit-idle-time=1min", "--connections-max=4"}
    assert s["Requires"] == [GPSD_SOCKET.name] and GPSD_SOCKET.name in s["After"][0].split()
    assert s["Wants"] == ["gpsd.socket"] and "gpsd.socket" in s["After"][0].split()
    assert s["DynamicUser"] == ["yes"] and "User" not in s
    assert s["IPAddressDeny"] == ["any"] and s["IPAddressAllow"] == ["localhost"]
    assert s["RestrictAddressFamilies"] == ["AF_UNIX AF_INET"] and "PrivateNetwork" not in s
    assert s["CapabilityBoundingSet"] == [""] and s["PrivateDevices"] == ["yes"]
    assert s["UMask"] == ["0077"] and s["MemoryDenyWriteExecute"] == ["yes"]
    assert "WantedBy" not in s, "the proxy is started by its socket, never at boot on its own"


def test_the_offload_unit_runs_offload_on_the_shipped_config_and_writes_only_the_state() -> None:
    s = settings(OFFLOAD)
    assert s["Type"] == ["oneshot"]
    assert s["ExecStart"] == ["/usr/bin/bodycam offload --config /etc/bodycam/bodycam.toml"]
    # Another run under way, or a network that does not reach the store: the next run resumes.
    # A bad config (78) or a failed object (1) is a failure, in systemctl --failed.
    assert s["SuccessExitStatus"] == [f"{EX_UNAVAILABLE} {EX_TEMPFAIL}"]
    assert EX_CONFIG not in (EX_UNAVAILABLE, EX_TEMPFAIL)
    assert "Restart" not in s  # the timer is the retry
    assert (s["User"], s["Group"]) == (["bodycam"], ["bodycam"])
    shipped = load(SHIPPED_CONFIG)
    assert s["ReadWritePaths"] == [str(shipped.state_dir)]
    assert s["ReadOnlyPaths"] == [str(shipped.evidence_dir)]
    # StateDirectory=bodycam would make all of /var/lib/bodycam writable, the evidence with it.
    assert "StateDirectory" not in s and "SupplementaryGroups" not in s
    assert s["RequiresMountsFor"] == ["/var/lib/bodycam"]
    assert "network-online.target" in s["After"] and "network-online.target" in s["Wants"]
    assert s["CapabilityBoundingSet"] == [""] and s["PrivateDevices"] == ["yes"]
    assert (
        s["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"] and "PrivateNetwork" not in s
    )
    assert s["UMask"] == ["0077"] and s["MemoryDenyWriteExecute"] == ["yes"]
    assert "WantedBy" not in s, "offload is started by its timer, never at boot on its own"
    credentials = Path(shipped["offload"]["credentials_file"])
    assert credentials.parent == Path("/etc/bodycam"), credentials


def test_the_offload_timer_starts_it_after_boot_and_after_each_run() -> None:
    t = settings(TIMER)
    assert t["OnBootSec"] == ["2min"] and t["OnUnitInactiveSec"] == ["5min"]
    assert t["RandomizedDelaySec"] == ["5min"]
    assert "Unit" not in t  # the service of the same name
    assert "Persistent" not in t  # it acts on OnCalendar= alone, which this timer has not
    assert t["WantedBy"] == ["timers.target"]


UNSHARE = shutil.which("unshare")
needs_namespaces = pytest.mark.skipif(
    UNSHARE is None or os.geteuid() != 0,
    reason="needs unshare(1) as root, to mount /proc as systemd does and make network namespaces",
)


def docked(*unshare: str) -> subprocess.CompletedProcess[str]:
    """Run the offload unit's ExecCondition= with /proc mounted as its ProtectProc=invisible and
    ProcSubset=pid mount it, in new namespaces (``--net`` for a camera with no network)."""
    s = settings(OFFLOAD)
    assert (s["ProtectProc"], s["ProcSubset"]) == (["invisible"], ["pid"])
    (condition,) = s["ExecCondition"]
    script = f"mount -t proc -o subset=pid,hidepid=invisible proc /proc && exec {condition}"
    assert UNSHARE is not None
    return subprocess.run(
        [UNSHARE, "--mount", "--pid", "--fork", *unshare, "sh", "-c", script],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


@needs_namespaces
def test_off_the_dock_with_no_network_the_offload_run_is_skipped_not_failed() -> None:
    result = docked("--net")  # a new network namespace: its own loopback, down; no route
    # systemd: 0 runs the service, 1 to 254 skip it without a failure, 255 or a signal fail it.
    assert 1 <= result.returncode <= 254, result
    assert result.stderr == ""


@needs_namespaces
def test_docked_with_a_route_the_offload_runs() -> None:
    if Path("/proc/net/route").read_text().count("\n") < 2:
        pytest.skip("this machine has no IPv4 route")
    result = docked()
    assert (result.returncode, result.stderr) == (0, "")


# -- docs/install-pi.md says what the units do -------------------------------------------------

# How a service runs rather than what it may do; the guide's sandbox table leaves these out.
NOT_SANDBOX = {
    "Type",
    "NotifyAccess",
    "WatchdogSec",
    "ExecStartPre",
    "ExecStart",
    "Restart",
    "RestartSec",
    "RestartPreventExitStatus",
    "TimeoutStopSec",
    "KillMode",
    "WorkingDirectory",
    "ExecCondition",
    "SuccessExitStatus",
    "TimeoutStartSec",
    "Nice",
    "IOSchedulingClass",
    "IOSchedulingPriority",
}


def service_section(unit: Path) -> dict[str, list[str]]:
    """The ``[Service]`` settings of a unit, as :func:`settings` gives them."""
    text = unit.read_text().split("[Service]", 1)[1].split("\n[", 1)[0]
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def check_table(table: str, unit: dict[str, list[str]]) -> set[str]:
    """Check each row of a guide's sandbox table (`| `Key=` | value | why |`) against the unit;
    return the keys it documents."""
    documented: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            setting, value, _why = (c.strip() for c in line.strip().strip("|").split("|"))
            keys = re.findall(r"`(\w+)=`", setting)
            assert keys, line
            for key in keys:
                documented.add(key)
                want = cell_values(value)
                assert unit.get(key) == want, f"{key}=: guide {want}, unit {unit.get(key)}"
    return documented


def cell_values(cell: str) -> list[str] | None:
    """A cell's values: its code spans in order; *(empty)* is one empty value; *(not set)* None."""
    if cell == "*(not set)*":
        return None
    if cell == "*(empty)*":
        return [""]
    return re.findall(r"`([^`]*)`", cell)


GUIDE_UNITS = {"bodycam.service": SERVICE, "console": CONSOLE, "offload": OFFLOAD}
"""The units of the guide's sandbox table, in the order of its columns."""


def sandbox_table() -> list[tuple[list[str], list[list[str] | None]]]:
    """(settings, each unit's values) for each row of the guide's sandbox table."""
    section = INSTALL_DOC.read_text().split("### Every setting of the sandbox", 1)
    assert len(section) == 2, "docs/install-pi.md has no sandbox table"
    rows = []
    for line in section[1].split("\n#", 1)[0].splitlines():
        if line.startswith("| `"):
            setting, *cells, _why = (c.strip() for c in line.strip().strip("|").split("|"))
            assert len(cells) == len(GUIDE_UNITS), line
            keys = re.findall(r"`(\w+)=`", setting)
            assert keys, line
            rows.append((keys, [cell_values(c) for c in cells]))
    return rows


def test_the_install_guide_s_sandbox_table_is_what_the_units_say() -> None:
    units = {name: service_section(unit) for name, unit in GUIDE_UNITS.items()}
    documented: set[str] = set()
    for keys, values in sandbox_table():
        for key in keys:
            documented.add(key)
            for (name, unit), want in zip(units.items(), values, strict=True):
                assert unit.get(key) == want, (
                    f"{key}= in {name}: guide {want}, unit {unit.get(key)}"
                )
    for name, unit in units.items():
        missing = set(unit) - NOT_SANDBOX - documented
        assert not missing, f"{name} settings missing from the guide's table: {sorted(missing)}"


def guide_section(heading: str) -> str:
    section = INSTALL_DOC.read_text().split(f"\n## {heading}", 1)
    assert len(section) == 2, f"docs/install-pi.md has no section {heading!r}"
    return section[1].split("\n## ", 1)[0]


def test_the_install_guide_s_prose_about_the_service_is_what_its_unit_says() -> None:
    prose = guide_section("4. The service").split("### Every setting of the sandbox", 1)[0]
    unit = service_section(SERVICE)
    claims = re.findall(r"`(\w+)=([^`]+)`", prose)
    assert claims, "section 4 names no unit settings"
    for key, value in claims:
        assert value in unit.get(key, []), (
            f"the guide says {key}={value}; the unit: {unit.get(key)}"
        )


def test_the_install_guide_s_offload_section_is_what_its_units_say() -> None:
    prose = guide_section("8. Offload when docked")
    units = {**settings(TIMER), **settings(OFFLOAD)}  # no key is in both
    claims = re.findall(r"`(\w+)=([^`]+)`", prose)
    assert len(claims) >= 8, claims
    for key, value in claims:
        assert value in units.get(key, []), (
            f"the guide says {key}={value}; the units: {units.get(key)}"
        )
    config = load(SHIPPED_CONFIG)["offload"]["credentials_file"]
    assert f"`credentials_file` is\n   already set: `{config}`" in prose
    assert f"s3-credentials {config}`" in prose


def test_the_install_guide_s_gnss_section_is_what_the_proxy_s_units_say() -> None:
    prose, table = guide_section("5a. GNSS receiver on a UART, through gpsd").split(
        "### Every setting of the proxy's sandbox", 1
    )
    units = [settings(SERVICE), settings(GPSD_SOCKET), settings(GPSD_PROXY)]
    claims = re.findall(r"`([A-Z]\w+)=([^`]+)`", prose)
    assert len(claims) >= 5, claims
    for key, value in claims:
        assert any(
            value in u.get(key, []) or value in " ".join(u.get(key, [])).split() for u in units
        ), f"the guide says {key}={value}; no unit does"
    (command,) = settings(GPSD_PROXY)["ExecStart"]
    for option in re.findall(r"`(--[\w-]+=\S+?)`", prose):
        assert option in command.split(), option
    (listen,) = settings(GPSD_SOCKET)["ListenStream"]
    assert f'`gpsd_host = "{listen}"`' in prose
    unit = service_section(GPSD_PROXY)
    documented = check_table(table.split("\n#", 1)[0], unit)
    missing = set(unit) - NOT_SANDBOX - documented
    assert not missing, f"settings missing from the proxy's table: {sorted(missing)}"


# -- docs/witness.md says what the witness's unit does -----------------------------------------


def witness_section() -> str:
    section = WITNESS_DOC.read_text().split("## Operation", 1)
    assert len(section) == 2, "docs/witness.md has no Operation section"
    return section[1].split("\n## ", 1)[0]


def test_the_witness_guide_s_sandbox_table_is_what_its_unit_says() -> None:
    unit = service_section(WITNESS)
    table = witness_section().split("### Every setting of the sandbox", 1)
    assert len(table) == 2, "docs/witness.md has no sandbox table"
    documented = check_table(table[1], unit)
    missing = set(unit) - NOT_SANDBOX - {"EnvironmentFile", "LoadCredential"} - documented
    assert not missing, f"settings missing from the witness guide's table: {sorted(missing)}"


def test_the_witness_guide_s_prose_is_what_its_unit_says() -> None:
    prose = witness_section().split("### Every setting of the sandbox", 1)[0]
    unit = service_section(WITNESS)
    claims = re.findall(r"`(\w+)=([^`]+)`", prose)
    assert claims, "the Operation section names no unit settings"
    for key, value in claims:
        assert value in unit.get(key, []), (
            f"the guide says {key}={value}; the unit: {unit.get(key)}"
        )


LIBSECCOMP = ctypes.util.find_library("seccomp")

# The rule systemd 252 installs for MemoryDenyWriteExecute=yes, installed with libseccomp.
MDWE_FILTER = textwrap.dedent(
    """
    import ctypes, errno, mmap
    lib = ctypes.CDLL(LIBSECCOMP, use_errno=True)
    class Cmp(ctypes.Structure):
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                    ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(Cmp)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(0x7FFF0000)  # allow everything else
    for name, mask in (("mmap", 6), ("mprotect", 4), ("pkey_mprotect", 4), ("shmat", 0o100000)):
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        rule = Cmp(2, 7, mask, mask)  # (arg2 & mask) == mask -> EPERM
        assert lib.seccomp_rule_add_array(ctx, 0x00050000 | errno.EPERM, nr, 1, rule) == 0
    assert lib.seccomp_load(ctx) == 0
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        raise SystemExit("the filter did not refuse a writable, executable mapping")
    except OSError as e:
        assert e.errno == errno.EPERM
    """
)

STACK = textwrap.dedent(
    """
    import ctypes
    import av, cv2, numpy
    from cryptography.hazmat.primitives import hpke
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
    from hal.pi.camera import PiCamera
    from hal.pi.clock import PiClock
    from sim.camera import SimCamera
    from sim.clock import SimClock
    from sim.sink import CollectingSink
    from tests import picamera2_off_pi  # the real picamera2, on stand-ins for libcamera

    picamera2 = picamera2_off_pi.require()
    picamera2.Picamera2.platform = picamera2.Platform.PISP  # a Pi 5: libx264 through PyAV

    Ed25519PrivateKey.generate().sign(b"x")
    import sqlite3, tempfile  # the witness's state, in WAL mode as it keeps it
    with tempfile.TemporaryDirectory() as d:
        con = sqlite3.connect(d + "/w.sqlite3")
        assert con.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
        con.execute("CREATE TABLE t (x INTEGER) STRICT")
        con.close()
    X25519PrivateKey.generate().exchange(X25519PrivateKey.generate().public_key())
    AESGCM(AESGCM.generate_key(256)).encrypt(b"0" * 12, b"x", None)
    ChaCha20Poly1305(ChaCha20Poly1305.generate_key()).encrypt(b"0" * 12, b"x", None)
    cams = [
        SimCamera(clock=SimClock(), width=320, height=240, fps=30, bitrate=300_000,
                  keyframe_interval_s=1, device_id="X"),
        PiCamera(clock=PiClock(), width=320, height=240, fps=30, bitrate=300_000,
                 keyframe_interval_s=1, device_id="X"),
    ]
    decoder = av.CodecContext.create("h264", "r")
    for cam in cams:
        sink = CollectingSink(20)
        cam.start(sink)
        frames = sink.wait_for(20)
        cam.close()
        assert sum(len(decoder.decode(av.Packet(f.data))) for f in frames) == 20
    assert ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)(1) == 2
    import ssl  # offload: boto3 over TLS
    import boto3
    ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO())
    boto3.session.Session().client(
        "s3", endpoint_url="https://127.0.0.1:9", region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="y",
    ).generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    print("stack ok")
    """
)


@pytest.mark.skipif(LIBSECCOMP is None, reason="libseccomp is not installed")
def test_the_python_stack_needs_no_writable_executable_memory() -> None:
    code = f"LIBSECCOMP = {LIBSECCOMP!r}\n{MDWE_FILTER}\n{STACK}"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0 and "stack ok" in result.stdout, result.stderr[-3000:]
