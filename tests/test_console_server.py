"""The console served on a pty and a Unix socket, the serial bridge, and ``bodycam console``.

These use real ptys, sockets and (for the bridge) socat, so they poll with bounded waits.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial

from recorder.cli import main
from recorder.console.auth import Authenticator
from recorder.console.bridge import Bridge
from recorder.console.client import ConsoleClient, interactive
from recorder.console.device import DeviceAccess
from recorder.console.fake import FakeDevice
from recorder.console.server import ConsoleService
from recorder.console.session import Session
from recorder.control import Control
from recorder.evidence.keys import fingerprint, raw_public, write_private_key
from tests.test_console_session import technician_key

BODYCAM = str(Path(sys.executable).parent / "bodycam")


def wait_until(cond: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


class Peer:
    """A technician's terminal on a serial port (pyserial), reading what the console sends."""

    def __init__(self, port: str) -> None:
        self.ser = serial.serial_for_url(port, baudrate=115200, timeout=0.05)
        self.buf = b""

    def read_until(self, marker: bytes, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            assert time.monotonic() < deadline, f"no {marker!r} in {self.buf[-300:]!r}"
            self.buf += self.ser.read(max(1, self.ser.in_waiting))
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def command(self, data: bytes) -> list[str]:
        """Send like picocom (bare CR) and return the lines up to the OK or ERR line."""
        self.ser.write(data + b"\r")
        lines: list[str] = []
        while not lines or not (lines[-1] == "OK" or lines[-1].startswith("ERR ")):
            line = self.read_until(b"\r\n").decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line.removeprefix("bodycam> "))
        return lines

    def close(self) -> None:
        self.ser.close()


@pytest.fixture
def device() -> FakeDevice:
    return FakeDevice(technicians=[technician_key().public_key()])


@pytest.fixture
def pty_console(device: FakeDevice) -> Iterator[tuple[ConsoleService, str]]:
    svc = ConsoleService(device, pty=True)
    (path,) = svc.start()
    yield svc, path
    svc.stop()


def test_a_picocom_style_terminal_uses_the_pty_and_can_reconnect(
    pty_console: tuple[ConsoleService, str], device: FakeDevice
) -> None:
    _, path = pty_console
    assert os.path.exists(path)
    peer = Peer(path)
    assert b"type HELP" in peer.read_until(b"bodycam> ")
    lines = peer.command(b"STA\x7fATUS?")  # a typo rubbed out with DEL, as picocom sends it
    assert lines[0] == "STA\b \bATUS?" and "  state: BUFFERING" in lines and lines[-1] == "OK"
    peer.close()
    wait_until(lambda: device.events("console_close"), "console_close")
    assert device.events("console_close")[0]["reason"] == "disconnect"
    assert device.events("console_open")[0]["via"] == f"pty:{path}"
    peer = Peer(path)  # the same path works again, with a fresh session
    peer.read_until(b"bodycam> ")
    assert peer.command(b"*IDN?")[-2:] == ["  bodycam project,bodycam-pi,BC-FAKE,0.1.0", "OK"]
    peer.close()


def test_picocom_itself_can_use_the_pty(pty_console: tuple[ConsoleService, str]) -> None:
    if shutil.which("picocom") is None:
        pytest.skip("picocom is not installed (make tools)")
    _, path = pty_console
    proc = subprocess.Popen(
        ["picocom", "-q", "-b", "115200", "--exit-after", "1000", path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write(b"*IDX\x7fN?\r")  # a typo rubbed out with DEL
    proc.stdin.flush()
    out, _ = proc.communicate(timeout=20)  # picocom leaves after 1 s without traffic
    assert b"bodycam> *IDX\b \bN?\r\n  bodycam project,bodycam-pi,BC-FAKE,0.1.0\r\nOK\r\n" in out


def test_a_session_that_crashes_is_logged_and_replaced(
    pty_console: tuple[ConsoleService, str],
    device: FakeDevice,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, path = pty_console
    caplog.set_level(logging.ERROR, "bodycam.console")
    peer = Peer(path)
    peer.read_until(b"bodycam> ")
    real_now = device.now
    calls = [0]

    def flaky_now() -> float:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("injected")
        return real_now()

    device.now = flaky_now  # type: ignore[method-assign]
    peer.ser.write(b"x")
    peer.read_until(b"bodycam> ")  # the replacement session greets again
    assert "failed; starting a new one" in caplog.text
    assert peer.command(b"STATUS?")[-1] == "OK"
    peer.close()


def test_stop_is_safe_twice_and_closes_the_pty(device: FakeDevice) -> None:
    svc = ConsoleService(device, pty=True)
    svc.start()
    svc.stop()
    svc.stop()


class BusyLogDevice(FakeDevice):
    """LOG? blocks until released, as verifying a long audit log does, on the session's thread."""

    def __init__(self) -> None:
        super().__init__(technicians=[technician_key().public_key()])
        self.in_log = threading.Event()
        self.release = threading.Event()

    def log_tail(self, n: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        self.in_log.set()
        self.release.wait(60)
        return super().log_tail(n)


def test_stop_leaves_a_busy_session_thread_behind_but_audits_its_close() -> None:
    device = BusyLogDevice()
    svc = ConsoleService(device, pty=True)
    (path,) = svc.start()
    peer = Peer(path)
    try:
        peer.read_until(b"bodycam> ")
        peer.ser.write(b"LOG? 5\r")
        assert device.in_log.wait(10)
        svc.stop()  # returns although the session's thread is still inside LOG?
        assert svc.abandoned == ["console-pty"]
        assert [e["reason"] for e in device.events("console_close")] == ["console stopped"]
    finally:
        device.release.set()
    # The busy thread then answers on its own pty (which it alone closes) and ends.
    wait_until(lambda: not any(t.is_alive() for t in svc._threads), "the busy thread to end")
    assert len(device.events("console_close")) == 1  # closed once, not again by its thread
    peer.close()


def test_the_socket_is_private_and_serves_at_most_two_sessions(
    tmp_path: Path, device: FakeDevice
) -> None:
    sock_path = tmp_path / "console.sock"
    svc = ConsoleService(device, socket_path=sock_path)
    assert svc.start() == []
    try:
        assert stat.S_IMODE(os.stat(sock_path).st_mode) == 0o600
        conns = []
        for _ in range(3):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.settimeout(10)
            c.connect(str(sock_path))
            conns.append(c)
        busy = b""
        while b"\r\n" not in busy:
            busy += conns[2].recv(100)
        assert busy == b"ERR 503 console busy: too many sessions\r\n"
        for c in conns[:2]:
            got = b""
            c.sendall(b"ECHO OFF\r*IDN?\r")
            while not got.endswith(b"OK\r\n") or got.count(b"OK\r\n") < 2:
                got += c.recv(4096)
            assert b"bodycam project,bodycam-pi,BC-FAKE" in got
        conns[0].close()
        wait_until(lambda: len(device.events("console_close")) == 1, "first session to close")
        fresh = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        fresh.settimeout(10)
        fresh.connect(str(sock_path))
        got = b""
        while b"type HELP" not in got:
            got += fresh.recv(4096)
        fresh.close()
        conns[1].close()
        conns[2].close()
    finally:
        svc.stop()
        svc.stop()
    assert not sock_path.exists()


# --- bodycam console (the client) -------------------------------------------------------------


def run_cli(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_client_cmd_prints_replies_and_exits_0(
    pty_console: tuple[ConsoleService, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, path = pty_console
    code, out, _ = run_cli("console", path, "--cmd", "STATUS?", "--cmd", "*IDN?", capsys=capsys)
    assert code == 0
    assert out.splitlines() == [
        "  state: BUFFERING",
        "  recording_since: -",
        "  frames: 1234",
        "  pre_roll_s: 30 s",
        "  storage_free_bytes: 1.00 GiB",
        "  wall: 2024-06-01T00:00:00Z",
        "  device_id: BC-FAKE",
        '  officer_id: ""',
        "  faults: -",
        "  monotonic: 16 min 40 s",
        "OK",
        "  bodycam project,bodycam-pi,BC-FAKE,0.1.0",
        "OK",
    ]


def test_client_json_and_a_failing_command(
    pty_console: tuple[ConsoleService, str],
    capsys: pytest.CaptureFixture[str],
    device: FakeDevice,
) -> None:
    _, path = pty_console
    code, out, _ = run_cli(
        "console", path, "--json", "--cmd", "BATTERY?", "--cmd", "REBOOT", capsys=capsys
    )
    assert code == 1
    assert out.splitlines() == [
        '{"ok":true,"data":{"percent":87.5,"voltage":3.9,"charging":false,"minutes_left":300.0}}',
        '{"ok":false,"code":401,"error":"authentication required: AUTH? then AUTH <signature>"}',
    ]
    wait_until(lambda: device.events("console_close"), "the client's QUIT")
    assert device.events("console_close")[0]["reason"] == "quit"


def test_client_with_a_key_authenticates_before_privileged_commands(
    pty_console: tuple[ConsoleService, str],
    capsys: pytest.CaptureFixture[str],
    device: FakeDevice,
    tmp_path: Path,
) -> None:
    _, path = pty_console
    key_file = tmp_path / "technician.key"
    write_private_key(key_file, technician_key())
    code, out, err = run_cli(
        "console",
        path,
        "--key",
        str(key_file),
        "--cmd",
        "TIME? ",
        "--cmd",
        "time set 2025-01-02T03:04:05Z",
        "--cmd",
        "CONFIG SET recording.post_event_s 10",
        capsys=capsys,
    )
    assert code == 0, (out, err)
    assert "  utc: 2025-01-02T03:04:05.000000Z" in out.splitlines()
    assert [e["result"] for e in device.events("console_auth")] == ["ok"]  # once for both
    assert [e["command"] for e in device.events("console_command")] == ["TIME SET", "CONFIG SET"]
    wait_until(lambda: device.events("console_close"), "the client's QUIT")
    assert device.events("console_close")[0]["authenticated"] is True


def test_client_interactive_reads_lines_until_quit(
    pty_console: tuple[ConsoleService, str],
) -> None:
    _, path = pty_console
    typed = iter(["*IDN?", "", "NOPE", "QUIT"])
    out = io.StringIO()
    code = interactive(path, read_line=lambda prompt: next(typed), out=out, err=io.StringIO())
    assert code == 0
    assert out.getvalue().splitlines() == [
        "  bodycam project,bodycam-pi,BC-FAKE,0.1.0",
        "OK",
        "ERR 404 unknown command NOPE; type HELP",
        "OK",
    ]


@pytest.mark.parametrize(
    ("argv", "typed"),
    [
        (["--cmd", "*IDN?"], b""),  # the pipe breaks when stdout is flushed at the end
        (["--cmd", "HELP"] * 40, b""),  # it breaks in the middle, while replies still come
        ([], b"HELP\n" * 40),  # the same, typed line by line
    ],
    ids=["at-exit", "mid-run", "interactive"],
)
def test_client_piped_into_a_reader_that_leaves_ends_quietly_and_quits(
    pty_console: tuple[ConsoleService, str],
    device: FakeDevice,
    tmp_path: Path,
    argv: list[str],
    typed: bytes,
) -> None:
    """``bodycam console PORT ... | head``: head leaves early; no traceback, and the session on
    the camera is still ended with QUIT."""
    _, path = pty_console
    with (tmp_path / "stderr").open("wb") as err:
        proc = subprocess.Popen(
            [BODYCAM, "console", path, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.close()  # the reader is gone before the first reply
    proc.stdin.write(typed)
    proc.stdin.close()
    assert proc.wait(timeout=60) == 141  # 128 + SIGPIPE, as a shell reports it
    stderr = (tmp_path / "stderr").read_text()
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    wait_until(lambda: device.events("console_close"), "the client's QUIT")
    assert [e["reason"] for e in device.events("console_close")] == ["quit"]


def test_client_without_an_answer_exits_3_and_a_bad_port_69(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli("console", "loop://", "--timeout", "0.3", "--cmd", "X", capsys=capsys)
    assert code == 3 and "no answer" in err
    code, _, err = run_cli("console", str(tmp_path / "ttyNONE"), "--cmd", "X", capsys=capsys)
    assert code == 69 and "cannot open" in err


def test_keygen_makes_a_technician_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli("keygen", "technician", "--out", str(tmp_path), capsys=capsys)
    assert code == 0 and "technician public key:" in out
    assert stat.S_IMODE(os.stat(tmp_path / "technician.key").st_mode) == 0o600


# --- the serial bridge ---------------------------------------------------------------------------


@pytest.fixture
def serial_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two linked ptys made by socat: the camera's tty and the technician's laptop."""
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed (make tools)")
    a, b = tmp_path / "ttyCAM", tmp_path / "ttyLAPTOP"
    proc = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: a.exists() and b.exists(), "socat's ptys")
        yield str(a), str(b)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_bridge_copies_a_tty_to_the_socket_and_reconnects(
    tmp_path: Path, device: FakeDevice, serial_pair: tuple[str, str]
) -> None:
    cam_tty, laptop_tty = serial_pair
    sock_path = tmp_path / "console.sock"
    svc = ConsoleService(device, socket_path=sock_path)
    svc.start()
    stop = threading.Event()
    bridge = Bridge(cam_tty, sock_path, retry_s=0.05)
    thread = threading.Thread(target=bridge.run, args=(stop,), daemon=True)
    thread.start()
    laptop = Peer(laptop_tty)
    try:
        laptop.read_until(b"bodycam> ")
        assert laptop.command(b"*IDN?")[-1] == "OK"
        svc.stop()  # the daemon restarts
        svc = ConsoleService(device, socket_path=sock_path)
        svc.start()
        wait_until(lambda: bridge.connections >= 2, "the bridge to reconnect")
        # greeted by the new console (the old one's last prompt may still be on the line)
        laptop.read_until(b"type HELP")
        laptop.read_until(b"bodycam> ")
        assert laptop.command(b"STATUS?")[-1] == "OK"
    finally:
        stop.set()
        thread.join(timeout=10)
        laptop.close()
        svc.stop()
    assert not thread.is_alive()


def test_console_serve_runs_until_sigterm(
    tmp_path: Path, device: FakeDevice, serial_pair: tuple[str, str]
) -> None:
    cam_tty, laptop_tty = serial_pair
    sock_path = tmp_path / "console.sock"
    svc = ConsoleService(device, socket_path=sock_path)
    svc.start()
    proc = subprocess.Popen(
        [BODYCAM, "console-serve", "--port", cam_tty, "--socket", str(sock_path)],
        stderr=subprocess.PIPE,
    )
    laptop = Peer(laptop_tty)
    try:
        laptop.read_until(b"bodycam> ", timeout=30)
        assert laptop.command(b"VERSION?")[-1] == "OK"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
        laptop.close()
        svc.stop()


class LineToSession:
    """A pyserial-like port wired straight to a Session (a line where a session outlives its
    user, as on a bridged UART)."""

    name = "fake-line"

    def __init__(self, session: Session, out: bytearray) -> None:
        self.session, self.out = session, out

    @property
    def in_waiting(self) -> int:
        return len(self.out)

    def write(self, data: bytes) -> int:
        self.session.receive(data)
        return len(data)

    def read(self, n: int) -> bytes:
        data = bytes(self.out[:n])
        del self.out[:n]
        return data

    def reset_input_buffer(self) -> None:
        self.out.clear()


def test_the_client_recovers_whatever_state_the_last_user_left(device: FakeDevice) -> None:
    out = bytearray()
    auth = Authenticator(device.now, device.technician_keys)
    session = Session(device, auth, out.extend, via="x")
    session.receive(b"MODE JSON\rREBO")  # someone left JSON mode, echo on and a half line
    client = ConsoleClient(LineToSession(session, out), timeout=2)  # type: ignore[arg-type]
    client.sync(json_mode=False)
    resp = client.send("*IDN?")
    assert resp.ok and resp.lines == ["  bodycam project,bodycam-pi,BC-FAKE,0.1.0", "OK"]
    client.sync(json_mode=True)
    assert client.send("STORAGE?").data["free_percent"] == 50.0


def test_provision_installs_technician_keys_that_the_console_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    keys, state = tmp_path / "keys", tmp_path / "state"
    for role in ("agency", "technician"):
        assert run_cli("keygen", role, "--out", str(keys), capsys=capsys)[0] == 0
    code, out, _ = run_cli(
        "provision",
        "--state",
        str(state),
        "--agency-pub",
        str(keys / "agency.pub"),
        "--technician-pub",
        str(keys / "technician.pub"),
        capsys=capsys,
    )
    assert code == 0 and "technician 1:" in out
    (installed,) = (state / "technicians").glob("01-*.pub")
    access = DeviceAccess(
        Control(), state_dir=state, evidence_dir=tmp_path, clock_now=lambda: 0.0, reboot=print
    )
    (key,) = access.technician_keys()
    assert fingerprint(raw_public(key)).replace(" ", "") in installed.name
    (state / "technicians" / "02-junk.pub").write_text("not a key")
    with caplog.at_level(logging.WARNING, "bodycam.console"):
        assert len(access.technician_keys()) == 1
    assert "technician key skipped" in caplog.text


def test_provision_refuses_an_agency_key_as_a_technician_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    run_cli("keygen", "agency", "--out", str(keys), capsys=capsys)
    code, _, err = run_cli(
        "provision",
        "--state",
        str(tmp_path / "state"),
        "--agency-pub",
        str(keys / "agency.pub"),
        "--technician-pub",
        str(keys / "agency.pub"),
        capsys=capsys,
    )
    assert code != 0 and "expected a technician Ed25519 public key" in err
    assert not (tmp_path / "state" / "device.key").exists()
