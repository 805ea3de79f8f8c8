"""The daemon reaches gpsd through the package's socket proxy: the Pi's receiver and its gpsd
client, reading a real gpsd (gpsfake's) through a real ``systemd-socket-proxyd``.

The proxy runs as bodycam-gpsd.service runs it (its ExecStart= word for word, with gpsfake's port
for gpsd's 2947), handed its listening socket as systemd hands it: by ``systemd-socket-activate``,
systemd's own tool for socket-activating a program outside systemd, which binds the socket at
the path bodycam-gpsd.socket gives, sets ``LISTEN_FDS``/``LISTEN_PID`` and becomes the proxy
(same PID) when the first connection comes. The socket gets the unit's SocketMode=. Every
process is ended by its PID.

One test runs the client as the daemon's sandbox would: in a network namespace of its own
(PrivateNetwork=yes) with the socket's directory read-only (ProtectSystem=strict). There gpsd's
TCP port is out of reach, and the proxy's socket is not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hal.gnss import Fix
from hal.gpsd import GpsdClient, GpsdError
from hal.pi.gnss import PiGnss
from sim.clock import SIM_START_WALL, SimClock
from sim.gpsfake import GpsFake
from sim.nmea import second
from sim.route import Position
from tests.test_systemd import settings

ROOT = Path(__file__).resolve().parents[1]
SOCKET_UNIT = ROOT / "systemd" / "bodycam-gpsd.socket"
PROXY_UNIT = ROOT / "systemd" / "bodycam-gpsd.service"
ACTIVATE = shutil.which("systemd-socket-activate")
GPSD_ADDRESS = "127.0.0.1:2947"  # what the unit forwards to: gpsd's own
WAIT_S = 15.0  # a bounded poll on real processes

pytestmark = [
    pytest.mark.skipif(
        shutil.which("gpsfake") is None, reason="gpsd's gpsfake is not installed (make tools)"
    ),
    pytest.mark.skipif(ACTIVATE is None, reason="systemd-socket-activate is not installed"),
]

UTC0 = int(SIM_START_WALL)
HERE = Position(lat=50.8467, lon=4.3524, alt_m=58.0, speed_mps=1.5, track_deg=45.0)
SECONDS = 5


def wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def proxy_command(gpsd_port: int) -> list[str]:
    """bodycam-gpsd.service's ExecStart=, pointed at gpsfake's gpsd instead of 127.0.0.1:2947."""
    (command,) = settings(PROXY_UNIT)["ExecStart"]
    words = command.split()
    assert words.count(GPSD_ADDRESS) == 1 and words[-1] == GPSD_ADDRESS, command
    return [*words[:-1], f"127.0.0.1:{gpsd_port}"]


@contextlib.contextmanager
def proxy(gpsd_port: int, directory: Path) -> Iterator[tuple[Path, int]]:
    """The proxy listening where bodycam-gpsd.socket says, under ``directory``: (path, PID)."""
    s = settings(SOCKET_UNIT)
    (listen,) = s["ListenStream"]
    path = directory / Path(listen).relative_to("/")
    path.parent.mkdir(parents=True)
    mode = int(s["SocketMode"][0], 8)
    assert ACTIVATE is not None
    proc = subprocess.Popen(
        [ACTIVATE, "--listen", str(path), *proxy_command(gpsd_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        umask=0o777 & ~mode,  # the socket's mode is the unit's SocketMode=
        start_new_session=True,
    )
    try:
        # systemd-socket-activate binds, waits for the first connection as systemd does, then
        # execs the proxy in its own place (same PID).
        wait_until(lambda: proc.poll() is not None or path.is_socket(), "the socket")
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        path.chmod(mode)  # the unit's SocketMode= (systemd-socket-activate has no such option)
        yield path, proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def gpsd_listens(fake: GpsFake) -> GpsFake:
    """``fake``, once its gpsd accepts connections (gpsfake starts it in the background)."""

    def listens() -> bool:
        try:
            socket.create_connection(("127.0.0.1", fake.port), timeout=1).close()
        except OSError:
            return False
        return True

    try:
        wait_until(listens, "gpsfake's gpsd to listen")
    except BaseException:
        fake.stop()
        raise
    return fake


def is_the_proxy(pid: int) -> bool:
    """Whether ``pid`` is systemd-socket-proxyd (it is, once a connection has started it)."""
    return Path(f"/proc/{pid}/exe").resolve().name == "systemd-socket-proxyd"


def route(seconds: int) -> list[list[str]]:
    return [second(UTC0 + k, HERE) for k in range(seconds)]


class Sink:
    def __init__(self) -> None:
        self.fixes: list[Fix] = []

    def put_nowait(self, fix: Fix) -> bool:
        self.fixes.append(fix)
        return True


def test_the_pi_receiver_reads_fixes_through_the_proxy(tmp_path: Path) -> None:
    sentences = route(SECONDS)
    fake = gpsd_listens(GpsFake([line for s in sentences for line in s]))
    with (
        fake,
        proxy(fake.port, tmp_path) as (
            path,
            pid,
        ),
    ):
        gnss = PiGnss(clock=SimClock(start_wall=SIM_START_WALL), host=str(path))
        sink = Sink()
        try:
            gnss.start(sink)
            wait_until(
                lambda: gnss._client is not None and gnss._client.version is not None,
                "the receiver to watch gpsd through the proxy",
            )
            assert gnss._client is not None and gnss._client.address == str(path)
            assert is_the_proxy(pid)
            for s in sentences:
                before = gnss.reports
                fake.feed(len(s))
                wait_until(lambda before=before: gnss.reports > before, "gpsd's report")  # type: ignore[misc]
        finally:
            gnss.close()
    assert [f.time for f in sink.fixes] == [float(UTC0 + k) for k in range(SECONDS)]
    assert {(round(f.lat, 4), round(f.lon, 4)) for f in sink.fixes} == {(50.8467, 4.3524)}
    assert sink.fixes[-1].mode == "3d" and sink.fixes[-1].alt_m == pytest.approx(58.0)
    assert gnss.fault is None


def test_with_gpsd_gone_the_proxy_s_socket_is_a_named_fault(tmp_path: Path) -> None:
    with GpsFake(route(1)[0]) as fake:
        port = fake.port
    with proxy(port, tmp_path) as (path, pid):  # nothing listens on the port any more
        client = GpsdClient(str(path), 0, now=lambda: 0.0, timeout=5.0)
        # The proxy accepts, cannot reach gpsd, and drops the connection (a close or a reset).
        with pytest.raises(GpsdError, match=f"gpsd at {path} (closed the connection|failed)"):
            client.connect()
        assert is_the_proxy(pid), "the proxy outlives a failed connection"
    with pytest.raises(GpsdError, match=f"gpsd at {path} cannot be reached"):
        GpsdClient(str(path), 0, now=lambda: 0.0, timeout=5.0).connect()


SANDBOXED_CLIENT = """
import sys
from hal.gpsd import GpsdClient, GpsdError
path, port = sys.argv[1], int(sys.argv[2])
try:
    GpsdClient("127.0.0.1", port, now=lambda: 0.0, timeout=5.0).connect()
    print("tcp: reached")
except GpsdError as e:
    print("tcp:", e)
client = GpsdClient(path, 0, now=lambda: 0.0, timeout=5.0)
client.connect()
print("unix: gpsd", client.version)
"""

UNSHARE = shutil.which("unshare")


@pytest.mark.skipif(
    UNSHARE is None or os.geteuid() != 0,
    reason="needs unshare(1) as root, for a network namespace and a read-only bind mount",
)
def test_in_the_daemon_s_sandbox_only_the_proxy_reaches_gpsd(tmp_path: Path) -> None:
    with GpsFake(route(1)[0]) as fake, proxy(gpsd_listens(fake).port, tmp_path) as (path, _):
        run_dir = str(path.parent)
        script = (
            f"mount --bind {run_dir} {run_dir} && mount -o remount,bind,ro {run_dir}"
            ' && exec "$0" "$@"'
        )
        assert UNSHARE is not None
        result = subprocess.run(
            [UNSHARE, "--net", "--mount", "sh", "-c", script, sys.executable, "-c",
             SANDBOXED_CLIENT, str(path), str(fake.port)],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    tcp, unix = result.stdout.splitlines()
    assert tcp.startswith(f"tcp: gpsd at 127.0.0.1:{fake.port} cannot be reached"), tcp
    assert unix.startswith("unix: gpsd 3."), unix


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("/run/bodycam-gpsd/gpsd.sock", True),
        ("/" + "a" * 106, True),
        ("/" + "a" * 107, False),  # sun_path holds 107 bytes and a NUL
        ("/", False),
        ("/run/bodycam-gpsd/", False),
        ("/run/a b.sock", False),
        ("/run/a\0b", False),
        ("127.0.0.1", True),
        ("gps.local", True),
        ("", False),
    ],
)
def test_gpsd_host_is_a_socket_path_or_a_host_or_a_named_error(host: str, ok: bool) -> None:
    from recorder.config import ConfigError, parse

    raw = {"gnss": {"gpsd_host": host}}
    if ok:
        assert parse(raw)["gnss"]["gpsd_host"] == host
    else:
        with pytest.raises(ConfigError, match=r"gnss\.gpsd_host.*absolute path of a Unix socket"):
            parse(raw)
