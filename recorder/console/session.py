"""One console over one byte stream: the line discipline, the reply mode, echo and authentication.

A technician session opens at the first line received (audited ``console_open``) and closes at
QUIT or EXIT, after :data:`IDLE_TIMEOUT_S` of device time without input, or when the line goes
away (audited ``console_close`` with the reason). Closing drops authentication and returns to
the defaults (text mode, echo on). Every privileged command an authenticated technician runs is
audited as ``console_command`` with its arguments; authentication as ``console_auth`` (never a
signature). Nothing here raises: every line gets exactly one reply, a fault inside a handler is
logged and answered ``ERR 500``.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
from collections.abc import Callable
from typing import Any

from recorder.console import errors
from recorder.console.auth import NONCE_TTL_S, Authenticator, Challenge, LockedOut, Success
from recorder.console.commands import PROTOCOL, Command, Mode, Reply, clip, parse, render
from recorder.console.commands import render_error as _render_error
from recorder.console.device import ConsoleDevice
from recorder.console.errors import AuthRequired, ConsoleError, DeviceFault, Forbidden
from recorder.console.protocol import BadLine, Blank, Echo, Line, LineDiscipline, printable

__all__ = ["IDLE_TIMEOUT_S", "PROMPT", "Session"]

log = logging.getLogger("bodycam.console")

IDLE_TIMEOUT_S = 300.0
PROMPT = b"bodycam> "


class Session:
    """The console on one byte stream. The server calls :meth:`connected` when a peer appears,
    :meth:`receive` with every chunk of bytes, :meth:`tick` now and then, and
    :meth:`disconnected` when the peer goes away. ``write`` sends bytes to the peer; it must not
    block for long (the server bounds it)."""

    def __init__(
        self,
        device: ConsoleDevice,
        auth: Authenticator,
        write: Callable[[bytes], None],
        *,
        via: str,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        self.device = device
        self._auth = auth
        self._write = write
        self.via = via
        self.idle_timeout_s = idle_timeout_s
        self.discipline = LineDiscipline()
        self.mode: Mode = "text"
        self.session_id: str | None = None
        """Set while a technician session is open."""
        self.replies = 0
        """Terminal replies (OK or ERR) sent, over the life of this stream."""
        self._technician: str | None = None
        self._challenge: Challenge | None = None
        self._last_input = device.now()
        self._lines = 0
        self._lock = threading.Lock()  # opening and closing (close() may come from the server)

    # --- Console (what command handlers see) ---------------------------------------------------

    @property
    def echo(self) -> bool:
        return self.discipline.echo

    @echo.setter
    def echo(self, on: bool) -> None:
        self.discipline.echo = on

    @property
    def technician(self) -> str | None:
        return self._technician

    def challenge(self) -> dict[str, Any]:
        if not self.device.technician_keys():
            raise Forbidden("no technician key is installed on this camera")
        try:
            self._challenge = self._auth.challenge()
        except LockedOut as e:
            raise Forbidden(_locked_message(e.seconds_left)) from None
        return {
            "nonce": self._challenge.nonce.hex(),
            "device": self.device.identity()["serial"],
            "expires_s": NONCE_TTL_S,
        }

    def respond(self, signature_hex: str) -> dict[str, Any]:
        challenge, self._challenge = self._challenge, None
        self._technician = None
        device_id = self.device.identity()["serial"]
        try:
            result = self._auth.respond(challenge, signature_hex, device_id)
        except LockedOut as e:
            raise Forbidden(_locked_message(e.seconds_left)) from None
        if isinstance(result, Success):
            self._technician = result.technician
            self._audit("console_auth", result="ok", technician=result.technician)
            return {"technician": result.technician, "idle_timeout_s": self.idle_timeout_s}
        locked = result.lockout_s > 0
        self._audit(
            "console_auth",
            result="locked" if locked else "failed",
            reason=result.reason,
            failures=result.failures,
            lockout_s=result.lockout_s,
        )
        if locked:
            raise Forbidden(
                f"{result.reason}; {result.failures} failures: {_locked_message(result.lockout_s)}"
            )
        raise AuthRequired(f"authentication failed: {result.reason}")

    # --- what the server calls -----------------------------------------------------------------

    def connected(self) -> None:
        """A peer appeared on the line: greet it (text mode with echo, the defaults)."""
        try:
            ident = f" on {self.device.identity()['serial']}"
        except ConsoleError:
            ident = ""
        greeting = printable(f"bodycam console ({PROTOCOL}){ident}; type HELP")
        self._write(f"\r\n{greeting}\r\n".encode())
        self._prompt()

    def receive(self, data: bytes) -> None:
        if not data:
            return
        self._last_input = self.device.now()
        for event in self.discipline.feed(data):
            if isinstance(event, Echo):
                self._write(event.data)
            elif isinstance(event, Blank):
                self._prompt()
            elif isinstance(event, BadLine):
                self._open()
                self._reply_error(errors.BadLine(event.reason))
                self._prompt()
            elif isinstance(event, Line):
                self._open()
                self._command(event.text)

    def tick(self) -> None:
        """Close an open session that has been idle too long (device time)."""
        if self.session_id and self.device.now() - self._last_input > self.idle_timeout_s:
            self.close("idle")

    def disconnected(self, reason: str = "disconnect") -> None:
        self.close(reason)
        self.discipline.reset()

    def close(self, reason: str) -> None:
        """Close the technician session if one is open (audited ``console_close``). Safe from
        any thread and twice: the server closes a session whose thread does not end in time."""
        with self._lock:
            if self.session_id is None:
                return
            self._audit(
                "console_close",
                reason=reason,
                lines=self._lines,
                authenticated=self._technician is not None,
            )
            self.session_id = None
            self._technician = None
            self._challenge = None
            self.mode = "text"
            self.echo = True

    # --- internals ------------------------------------------------------------------------------

    def _open(self) -> None:
        with self._lock:
            if self.session_id is None:
                self.session_id = secrets.token_hex(4)
                self._lines = 0
                self._audit("console_open")
            self._lines += 1

    def _command(self, text: str) -> None:
        cmd: Command | None = None
        args: list[str] = []
        try:
            cmd, args = parse(text)
            if cmd.privileged and self._technician is None:
                raise AuthRequired("authentication required: AUTH? then AUTH <signature>")
            reply = cmd.run(self, args)
        except ConsoleError as e:
            if cmd is not None and cmd.privileged and self._technician is not None:
                self._audit_command(cmd, args, f"ERR {e.code}")
            self._reply_error(e)
            self._prompt()
            return
        except Exception as e:
            log.exception("console command %r failed", clip(text))
            if cmd is not None and cmd.privileged:
                self._audit_command(cmd, args, "ERR 500")
            self._reply_error(DeviceFault(f"device fault: {type(e).__name__}"))
            self._prompt()
            return
        if cmd.privileged:
            self._audit_command(cmd, args, "OK")
        self._reply(reply)
        if reply.after is not None:
            try:
                reply.after()
            except Exception:
                log.exception("console: %s failed after its reply", cmd.name)
        if reply.end:
            self.close("quit")
        self._prompt()

    def _reply(self, reply: Reply) -> None:
        self.replies += 1
        self._write(render(reply, self.mode))

    def _reply_error(self, err: ConsoleError) -> None:
        self.replies += 1
        self._write(_render_error(err, self.mode))

    def _prompt(self) -> None:
        if self.echo and self.mode == "text":
            self._write(PROMPT)

    def _audit_command(self, cmd: Command, args: list[str], result: str) -> None:
        self._audit(
            "console_command",
            command=cmd.name,
            args=args,
            by=self._technician,
            result=result,
        )

    def _audit(self, event: str, **fields: Any) -> None:
        """Audit, never raising: a console that cannot audit still answers (and logs why)."""
        try:
            self.device.audit(event, session=self.session_id, via=self.via, **fields)
        except Exception as e:
            log.error("console: audit %s failed: %s", event, e)


def _locked_message(seconds: float) -> str:
    return f"authentication locked out; try again in {math.ceil(seconds)} s"
