"""systemd notification over a real Unix datagram socket; the watchdog follows the frames."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from pathlib import Path

from recorder.daemon import Daemon
from recorder.sdnotify import Notifier
from tests.simdevice import SimDevice, scenario


def listener(tmp_path: Path) -> tuple[socket.socket, str]:
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(5)
    return s, path


def test_the_watchdog_is_fed_only_while_frames_flow(tmp_path: Path) -> None:
    sock, path = listener(tmp_path)
    now = [0.0]
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}, clock=lambda: now[0])
    assert n.interval == 1.0
    for t in (0.5, 1.0, 1.5, 2.0):  # frames flow: one ping per interval
        now[0] = t
        n.frame()
        n.tick()
    assert n.pings == 2
    for t in (3.0, 4.0, 5.0, 9.0):  # the camera stalls: no frame, no ping
        now[0] = t
        n.tick()
    assert n.pings == 2
    now[0] = 9.5
    n.frame()
    n.tick()
    assert n.pings == 3
    assert [sock.recv(100) for _ in range(3)] == [b"WATCHDOG=1"] * 3
    sock.close()


def test_no_socket_means_no_notifications_and_no_errors() -> None:
    n = Notifier({})
    assert not n.enabled and not n.send("READY=1")
    n.frame()
    n.tick()


def test_a_watchdog_for_another_process_is_ignored() -> None:
    n = Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"})
    assert n.interval == 0.0


def test_the_daemon_says_ready_pings_and_says_stopping(tmp_path: Path) -> None:
    sock, path = listener(tmp_path)
    cam = SimDevice.provision(tmp_path)
    daemon = Daemon(cam.config)
    daemon.notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    messages: list[str] = []
    done = threading.Event()

    def read() -> None:  # as systemd does, all along: a datagram queue holds only a few
        sock.settimeout(0.05)
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                messages.append(sock.recv(1000).decode())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        daemon.run(scenario(tmp_path / "s.toml", 20, ""))
    finally:
        done.set()
        reader.join()
    sock.settimeout(0)
    while True:  # what was sent before run() returned and the reader had not taken yet
        try:
            messages.append(sock.recv(1000).decode())
        except BlockingIOError:
            break
    sock.close()
    assert messages[0].startswith("READY=1\nSTATUS=buffering")
    assert "WATCHDOG=1" in messages
    assert messages[-1] == "STOPPING=1"


def test_a_stalled_camera_stops_the_pings(tmp_path: Path) -> None:
    """Real time (the watchdog is systemd's, in real time): a 3 s stall leaves a gap in pings."""
    sock, path = listener(tmp_path)
    sock.settimeout(0.2)
    pings: list[float] = []
    done = threading.Event()

    def receive() -> None:
        while not done.is_set():
            try:
                if sock.recv(1000) == b"WATCHDOG=1":
                    pings.append(time.monotonic())
            except TimeoutError:
                pass

    receiver = threading.Thread(target=receive)
    receiver.start()
    cam = SimDevice.provision(tmp_path, sim={"speed": "realtime"})
    daemon = Daemon(cam.config)
    daemon.notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    try:
        daemon.run(
            scenario(
                tmp_path / "s.toml",
                5.0,
                """
            [[step]]
            at = 1.0
            do = "camera_stall"
            seconds = 3.0
            """,
            )
        )
    finally:
        done.set()
        receiver.join()
        sock.close()
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert len(pings) >= 5 and max(gaps) >= 2.5  # no ping while no frame came
    assert sorted(gaps)[len(gaps) // 2] < 0.5  # otherwise every ~0.1 s
    what = [e.get("what") for e in cam.audit_events()]
    assert "camera stalled" in what and "camera resumed" in what
