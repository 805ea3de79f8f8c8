"""ConsoleService: serves the console on a pty (the simulator) and on a Unix socket (the Pi, where
``bodycam console-serve`` bridges each serial tty to it).

Threads::

    console-pty      reads the pty master, feeds one Session           (pty=True)
    console-listen   accepts on the socket, at most MAX_CONNECTIONS     (socket_path=...)
    console-conn-N   one per accepted connection, feeds its Session

Nothing here can stall the recorder: sessions reach it only through DeviceAccess (Control, with
timeouts), writes to a peer that does not read are dropped after WRITE_TIMEOUT_S, and an
exception in a session or the listener is logged (``bodycam.console``) and that part restarts.

``stop()`` wakes every thread at once (a pipe for the pty, a shutdown for each socket) and waits
for them at most :data:`STOP_TIMEOUT_S`; it never waits on the recorder, whose thread calls it at
shutdown. A thread still busy then (a long LOG?, a peer that does not read) is left to end on
its own, and its session is closed for it: every open session's ``console_close`` is audited.

A pty keeps its path for the life of the service. When the peer (picocom, screen, pyserial)
closes the slave the session ends (``console_close`` reason ``disconnect``); when a peer opens it
again it is greeted afresh.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import select
import socket
import stat
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

from recorder.console.auth import Authenticator
from recorder.console.device import ConsoleDevice
from recorder.console.session import IDLE_TIMEOUT_S, Session

__all__ = ["MAX_CONNECTIONS", "STOP_TIMEOUT_S", "ConsoleService"]

log = logging.getLogger("bodycam.console")

MAX_CONNECTIONS = 2
WRITE_TIMEOUT_S = 2.0
STOP_TIMEOUT_S = 0.5
"""The longest stop() waits for the console's threads (a budget inside systemd's 5 s)."""
_POLL_MS = 250
_RESTART_S = 0.5
_CHUNK = 4096
_BUSY = b"ERR 503 console busy: too many sessions\r\n"


class ConsoleService:
    """Serves :class:`~recorder.console.session.Session` s over a pty and/or a Unix socket.

    ``start()`` returns the pty slave paths it serves (empty without ``pty``); ``stop()`` ends
    every session within :data:`STOP_TIMEOUT_S` and is safe to call twice. All sessions share
    one Authenticator, so failed authentications count across them.
    """

    def __init__(
        self,
        access: ConsoleDevice,
        *,
        pty: bool = False,
        socket_path: Path | None = None,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        self.access = access
        self.auth = Authenticator(access.now, access.technician_keys)
        self._want_pty = pty
        self.socket_path = socket_path
        self.idle_timeout_s = idle_timeout_s
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._wake: int | None = None  # written by stop() to wake the pty thread at once
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._sessions: set[Session] = set()
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False
        self.pty_paths: list[str] = []
        self.abandoned: list[str] = []
        """The threads stop() did not see end within STOP_TIMEOUT_S (their sessions it closed)."""

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> list[str]:
        if self._started:
            return list(self.pty_paths)
        self._started = True
        if self._want_pty:
            master, path = _open_pty()
            wake, self._wake = os.pipe()
            self.pty_paths = [path]
            self._spawn("console-pty", lambda: self._serve_pty(master, wake, path))
        if self.socket_path is not None:
            self._listener = self._listen(self.socket_path)
            self._spawn("console-listen", self._accept_loop)
        log.info(
            "console serving %s",
            ", ".join([*self.pty_paths, *([str(self.socket_path)] if self.socket_path else [])]),
        )
        return list(self.pty_paths)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._wake is not None:
            with contextlib.suppress(OSError):
                os.write(self._wake, b"!")
            os.close(self._wake)
            self._wake = None
        if self._listener is not None:  # first, so that nobody connects to a dying console
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes its accept() at once
            self._listener.close()
            if self.socket_path is not None:
                with contextlib.suppress(OSError):
                    if stat.S_ISSOCK(os.lstat(self.socket_path).st_mode):
                        self.socket_path.unlink()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        others = [t for t in self._threads if t is not threading.current_thread()]
        for t in others:
            t.join(max(0.0, deadline - time.monotonic()))
        self.abandoned = [t.name for t in others if t.is_alive()]
        if self.abandoned:
            log.warning("console: %s still busy at stop; closed its session", self.abandoned)
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:  # those whose thread ended are closed already: no-op
            session.close("console stopped")

    def _spawn(self, name: str, target: Callable[[], None]) -> threading.Thread:
        t = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(t)
        t.start()
        return t

    @contextlib.contextmanager
    def _session(self, write: Callable[[bytes], None], via: str) -> Iterator[Session]:
        """A session for one stretch of a line; stop() can close it while it is registered."""
        session = Session(
            self.access, self.auth, write, via=via, idle_timeout_s=self.idle_timeout_s
        )
        with self._lock:
            self._sessions.add(session)
        try:
            yield session
        finally:
            with self._lock:
                self._sessions.discard(session)

    # --- pty ----------------------------------------------------------------------------------

    def _serve_pty(self, master: int, wake: int, path: str) -> None:
        """Serve the pty until stop(); this thread owns (and closes) ``master`` and ``wake``, so
        a thread still busy after stop() never writes to a closed, perhaps reused, descriptor."""
        try:
            while not self._stopping.is_set():
                with self._session(lambda data: _write_fd(master, data), f"pty:{path}") as session:
                    try:
                        self._pty_loop(master, wake, session)
                    except Exception:
                        log.exception("console session on %s failed; starting a new one", path)
                        with contextlib.suppress(Exception):
                            session.disconnected("console fault")
                        self._stopping.wait(_RESTART_S)
        finally:
            os.close(master)
            os.close(wake)

    def _pty_loop(self, master: int, wake: int, session: Session) -> None:
        poller = select.poll()
        poller.register(master, select.POLLIN)
        poller.register(wake, select.POLLIN)
        connected = False
        while not self._stopping.is_set():
            events = [ev for fd, ev in poller.poll(_POLL_MS) if fd == master]
            hangup = any(ev & (select.POLLHUP | select.POLLERR) for ev in events)
            data = b""
            if not hangup and events:
                try:
                    data = os.read(master, _CHUNK)
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    hangup = True
            if hangup:
                # Nobody has the slave open: wait for a peer without spinning.
                if connected:
                    connected = False
                    session.disconnected()
                self._stopping.wait(_POLL_MS / 1000)
                continue
            if not connected:
                connected = True
                session.connected()
            session.receive(data)
            session.tick()
        if connected:
            session.disconnected("console stopped")

    # --- Unix socket --------------------------------------------------------------------------

    def _listen(self, path: Path) -> socket.socket:
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                path.unlink()  # a stale socket from an earlier run; never any other file
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(path))
            os.chmod(path, 0o600)
            sock.listen(4)
            sock.settimeout(_POLL_MS / 1000)
        except OSError:
            sock.close()
            raise
        return sock

    def _accept_loop(self) -> None:
        n = 0
        while not self._stopping.is_set():
            listener = self._listener
            try:
                if listener is None:
                    assert self.socket_path is not None
                    listener = self._listener = self._listen(self.socket_path)
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                with self._lock:
                    full = len(self._conns) >= MAX_CONNECTIONS
                    if not full:
                        self._conns.add(conn)
                if full:
                    with contextlib.suppress(OSError):
                        conn.settimeout(WRITE_TIMEOUT_S)
                        conn.sendall(_BUSY)
                    conn.close()
                    continue
                n += 1
                self._spawn(f"console-conn-{n}", functools.partial(self._serve_conn, conn, n))
            except Exception:
                if self._stopping.is_set():
                    return
                log.exception("console listener failed; listening again")
                if listener is not None:
                    listener.close()
                self._listener = None
                self._stopping.wait(_RESTART_S)

    def _serve_conn(self, conn: socket.socket, n: int) -> None:
        via = f"socket:{n}"
        try:
            conn.settimeout(WRITE_TIMEOUT_S)
            while not self._stopping.is_set():
                with self._session(lambda data: _send(conn, data), via) as session:
                    try:
                        session.connected()
                        if self._conn_loop(conn, session):
                            return
                    except Exception:
                        log.exception("console session on %s failed; starting a new one", via)
                        with contextlib.suppress(Exception):
                            session.disconnected("console fault")
                        self._stopping.wait(_RESTART_S)
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def _conn_loop(self, conn: socket.socket, session: Session) -> bool:
        """Serve until the peer goes (True) or the service stops."""
        poller = select.poll()
        poller.register(conn, select.POLLIN)
        while not self._stopping.is_set():
            if poller.poll(_POLL_MS):
                try:
                    data = conn.recv(_CHUNK)
                except OSError:
                    data = b""
                if not data:
                    stopped = self._stopping.is_set()
                    session.disconnected("console stopped" if stopped else "disconnect")
                    return True
                session.receive(data)
            session.tick()
        session.disconnected("console stopped")
        return True


def _open_pty() -> tuple[int, str]:
    """A pty pair in raw mode at 115200 8N1; returns the master and the slave's path.

    The slave is closed again at once so that the master sees a hangup until a peer opens it;
    its settings stay with the pty.
    """
    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[2] = (attrs[2] & ~(termios.CSIZE | termios.PARENB | termios.CSTOPB)) | termios.CS8
        attrs[4] = attrs[5] = termios.B115200
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
    finally:
        os.close(slave)
    os.set_blocking(master, False)
    return master, path


def _write_fd(fd: int, data: bytes) -> None:
    """Write to a non-blocking fd; what the peer does not take within WRITE_TIMEOUT_S is
    dropped, and a peer that went away drops it all."""
    view = memoryview(data)
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            if not poller.poll(WRITE_TIMEOUT_S * 1000):
                log.warning("console: peer not reading; %d bytes dropped", len(view))
                return
            continue
        except OSError:
            return
        view = view[n:]


def _send(conn: socket.socket, data: bytes) -> None:
    try:
        conn.sendall(data)
    except TimeoutError:
        log.warning("console: peer not reading; reply dropped")
    except OSError:
        pass
