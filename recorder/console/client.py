"""The technician's side: ``bodycam console PORT`` over pyserial (a device path or a URL).

The client first brings the console into a known state whatever a previous user left behind:
Ctrl-U (drop a half-typed line), ``ECHO OFF`` and ``MODE TEXT`` or ``MODE JSON``, reading and
ignoring everything up to each reply. Then each command gets exactly one reply: text body lines
(indented) and ``OK`` / ``ERR <code> <message>``, or one JSON object. With a technician key it
answers the challenge itself (``AUTH?``, then ``AUTH <signature>``) before the first privileged
command, and it ends with ``QUIT`` so that no authenticated session is left on the line.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

import serial
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recorder.console.auth import auth_message
from recorder.console.bridge import BAUDRATE, open_port
from recorder.evidence.keys import load_technician_private

__all__ = [
    "EXIT_ERR",
    "EXIT_NO_ANSWER",
    "EXIT_OK",
    "EXIT_PORT",
    "ConsoleClient",
    "NoAnswer",
    "Response",
    "interactive",
    "load_technician_private",
    "run_commands",
]

EXIT_OK, EXIT_ERR, EXIT_NO_ANSWER, EXIT_PORT = 0, 1, 3, 69
PRIVILEGED = ("TIME SET", "CONFIG SET", "REBOOT")
_ERR = re.compile(r"^ERR ([0-9]{3})(?: (.*))?$")


class NoAnswer(Exception):
    """The console did not answer in time (wrong port, wrong speed, daemon not running)."""


@dataclass
class Response:
    ok: bool
    code: int = 0
    error: str = ""
    lines: list[str] = field(default_factory=list)
    """Everything the reply printed, its last line included."""
    data: Any = None
    """JSON mode: the reply's ``data``; text mode: the body as a dict of ``key: value`` lines."""


def _terminal(line: str) -> Response | None:
    if line == "OK":
        return Response(True)
    m = _ERR.match(line)
    if m:
        return Response(False, int(m.group(1)), m.group(2) or "")
    if line.startswith("{"):
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        if isinstance(obj, dict) and isinstance(obj.get("ok"), bool):
            return Response(
                obj["ok"], int(obj.get("code", 0)), str(obj.get("error", "")), data=obj.get("data")
            )
    return None


def _body_dict(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        key, sep, value = line.strip().partition(": ")
        if sep:
            out[key] = value
    return out


class ConsoleClient:
    def __init__(
        self,
        port: serial.SerialBase,
        *,
        timeout: float = 15.0,
        key: Ed25519PrivateKey | None = None,
    ) -> None:
        self.port = port
        self.timeout = timeout
        self.key = key
        self.authenticated = False
        self._buf = bytearray()

    def _readline(self, deadline: float) -> str:
        while b"\n" not in self._buf:
            if time.monotonic() > deadline:
                raise NoAnswer(f"no answer from {self.port.name} within {self.timeout:g} s")
            self._buf += self.port.read(max(1, self.port.in_waiting))
        raw, _, rest = bytes(self._buf).partition(b"\n")
        self._buf[:] = rest
        return raw.rstrip(b"\r").decode("utf-8", "replace")

    def read_reply(self) -> Response:
        """Read up to and including the next OK, ERR or JSON reply."""
        deadline = time.monotonic() + self.timeout
        lines = []
        while True:
            line = self._readline(deadline)
            lines.append(line)
            resp = _terminal(line)
            if resp is not None:
                resp.lines = lines
                if resp.data is None:
                    resp.data = _body_dict(lines[:-1])
                return resp

    def send(self, line: str) -> Response:
        self.port.write(line.encode("utf-8") + b"\r")
        return self.read_reply()

    def sync(self, json_mode: bool) -> None:
        """Bring the console to ECHO OFF and the wanted mode, ignoring what came before."""
        self.port.reset_input_buffer()
        self._buf.clear()
        self.port.write(b"\x15")
        for line in ("ECHO OFF", "MODE JSON" if json_mode else "MODE TEXT"):
            resp = self.send(line)
            if not resp.ok:
                raise NoAnswer(f"console refused {line}: {resp.error}")

    def authenticate(self) -> Response:
        if self.key is None:
            return Response(False, 401, "no technician key given (--key FILE)")
        challenge = self.send("AUTH?")
        if not challenge.ok:
            return challenge
        try:
            nonce = bytes.fromhex(str(challenge.data["nonce"]))
            device = str(challenge.data["device"])
            signature = self.key.sign(auth_message(device, nonce))
        except (KeyError, TypeError, ValueError) as e:
            return Response(False, 400, f"cannot read the challenge: {e}", challenge.lines)
        resp = self.send(f"AUTH {signature.hex()}")
        self.authenticated = resp.ok
        return resp

    def command(self, line: str) -> tuple[list[Response], Response]:
        """Send one command, authenticating first if it needs it and a key is known. Returns
        the replies to any AUTH exchange and the command's own reply."""
        before: list[Response] = []
        words = line.upper().split()
        name = " ".join(words[:2]) if words[:1] in (["TIME"], ["CONFIG"]) else " ".join(words[:1])
        if name in PRIVILEGED and self.key is not None and not self.authenticated:
            auth = self.authenticate()
            before.append(auth)
            if not auth.ok:
                return before, auth
        resp = self.send(line)
        if name in ("QUIT", "EXIT"):
            self.authenticated = False
        return before, resp

    def quit(self) -> None:
        """End the session on the camera (drops authentication); best effort."""
        with contextlib.suppress(NoAnswer, serial.SerialException, OSError):
            self.send("QUIT")
        self.authenticated = False


def _print(resp: Response, out: TextIO) -> None:
    for line in resp.lines:
        print(line, file=out)


def _open(port: str, baud: int) -> serial.SerialBase:
    return open_port(port, baud, timeout=0.05)


def run_commands(
    port: str,
    commands: Iterable[str],
    *,
    json_mode: bool = False,
    key: Ed25519PrivateKey | None = None,
    baud: int = BAUDRATE,
    timeout: float = 15.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run each command, print its reply; stop at the first ERR. Exit code: EXIT_OK, EXIT_ERR,
    EXIT_NO_ANSWER or EXIT_PORT."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        ser = _open(port, baud)
    except (serial.SerialException, OSError, ValueError) as e:
        print(f"bodycam console: cannot open {port}: {e}", file=err)
        return EXIT_PORT
    client = ConsoleClient(ser, timeout=timeout, key=key)
    synced = False
    try:
        client.sync(json_mode)
        synced = True
        for line in commands:
            before, resp = client.command(line)
            for r in before:
                if not r.ok:
                    _print(r, out)
            _print(resp, out)
            if not resp.ok:
                return EXIT_ERR
        return EXIT_OK
    except NoAnswer as e:
        print(f"bodycam console: {e}", file=err)
        return EXIT_NO_ANSWER
    finally:
        if synced:
            client.timeout = min(client.timeout, 5.0)
            client.quit()
        ser.close()


def interactive(
    port: str,
    *,
    json_mode: bool = False,
    key: Ed25519PrivateKey | None = None,
    baud: int = BAUDRATE,
    timeout: float = 15.0,
    read_line: Callable[[str], str] = input,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """A line REPL: each line typed is one command; QUIT, EXIT or end of input leaves."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        ser = _open(port, baud)
    except (serial.SerialException, OSError, ValueError) as e:
        print(f"bodycam console: cannot open {port}: {e}", file=err)
        return EXIT_PORT
    client = ConsoleClient(ser, timeout=timeout, key=key)
    prompt = "bodycam> " if sys.stdin.isatty() else ""
    status = EXIT_OK
    session = False  # whether the camera holds a session of ours that QUIT must end
    try:
        client.sync(json_mode)
        session = True
        print(f"connected to {port}; type HELP, or QUIT to leave", file=err)
        while True:
            try:
                line = read_line(prompt).strip()
            except EOFError:
                break
            if not line:
                continue
            before, resp = client.command(line)
            if resp.ok and line.upper() in ("QUIT", "EXIT"):
                session = False
            for r in before:
                if not r.ok:
                    _print(r, out)
            _print(resp, out)
            status = EXIT_OK if resp.ok else EXIT_ERR
            if not session:
                return status
        return status
    except NoAnswer as e:
        print(f"bodycam console: {e}", file=err)
        return EXIT_NO_ANSWER
    finally:  # whatever ended it (end of input, an error, a reader gone from stdout)
        if session:
            client.timeout = min(client.timeout, 5.0)
            client.quit()
        ser.close()
