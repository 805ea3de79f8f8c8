"""gpsfake, gpsd's own test harness, run as the simulator's receiver: a real gpsd on 127.0.0.1.

``gpsfake -i -n -1 -P PORT LOG`` starts a gpsd that reads a pty, and writes one sentence of LOG
to that pty each time a line arrives on gpsfake's standard input: :meth:`GpsFake.feed`. So the
simulator decides, on its virtual clock, when each second of the route reaches gpsd, and gpsd
parses and reports it exactly as it would a receiver's (docs/decisions.md, "GNSS").

Everything lives in a temporary directory (gpsfake's control socket and pid file follow
TMPDIR), and :meth:`GpsFake.stop` ends gpsfake and its gpsd by their process group, whose id is
gpsfake's PID. If this process dies without stopping it, gpsfake reads EOF on its standard input
and ends itself (and its gpsd) at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from hal.errors import DeviceError

__all__ = ["GpsFake", "GpsFakeMissing", "free_port"]


class GpsFakeMissing(DeviceError):
    """gpsfake or gpsd is not installed (Debian: gpsd and gpsd-clients)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _find(program: str) -> str:
    found = shutil.which(program, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if found is None:
        raise GpsFakeMissing(
            f"a scenario with a route needs gpsd's {program}, which is not installed "
            "(Debian: apt-get install gpsd gpsd-clients; `make tools` does it)"
        )
    return found


class GpsFake:
    """One gpsfake (and its gpsd) feeding the sentences of ``log`` on demand."""

    def __init__(self, sentences: list[str]) -> None:
        gpsfake = _find("gpsfake")
        _find("gpsd")
        self._dir = Path(tempfile.mkdtemp(prefix="bodycam-gpsfake-"))
        log = self._dir / "route.nmea"
        log.write_text("".join(sentences), encoding="ascii")
        self.port = free_port()
        env = {**os.environ, "TMPDIR": str(self._dir)}
        env["PATH"] = env.get("PATH", "") + ":/usr/sbin"
        self._out = (self._dir / "gpsfake.log").open("wb")
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [gpsfake, "-i", "-n", "-1", "-q", "-P", str(self.port), str(log)],
            stdin=subprocess.PIPE,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            cwd=self._dir,
            env=env,
            start_new_session=True,  # its own process group: stop() ends gpsd with it
        )
        self.fed = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def feed(self, sentences: int) -> None:
        """Have gpsfake write the next ``sentences`` sentences of the log to gpsd's pty."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise DeviceError("gpsfake is stopped")
        if proc.poll() is not None:
            raise DeviceError(f"gpsfake ended (exit {proc.returncode}): {self.output()[-300:]}")
        try:
            proc.stdin.write(b"\n" * sentences)
            proc.stdin.flush()
        except OSError as exc:
            raise DeviceError(f"gpsfake does not take input: {exc}") from exc
        self.fed += sentences

    def output(self) -> str:
        """What gpsfake and gpsd printed (for error messages)."""
        try:
            return (self._dir / "gpsfake.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """End gpsfake and its gpsd (by process group) and remove the directory; idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            self._out.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> GpsFake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
