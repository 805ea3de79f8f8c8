"""The console's errors: each one is an ``ERR <code> <message>`` reply (docs/console.md §5).

::

    ConsoleError (500)
    ├── BadLine (400)          the line itself: too long, not UTF-8, a control byte
    ├── AuthRequired (401)     a privileged command before AUTH, or an AUTH that failed
    ├── Forbidden (403)        locked out, or not allowed over the console at all
    ├── UnknownCommand (404)
    ├── BadArgument (422)      the command is known, its arguments are not
    ├── DeviceFault (500)      the camera could not (a failed self-test, a clock it cannot set)
    └── Busy (503)             the recorder did not answer in time, or too many sessions

A message is one line of text; the session escapes anything unprintable before sending it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthRequired",
    "BadArgument",
    "BadLine",
    "Busy",
    "ConsoleError",
    "DeviceFault",
    "Forbidden",
    "UnknownCommand",
]


class ConsoleError(Exception):
    code = 500

    def __init__(
        self, message: str, *, data: dict[str, Any] | None = None, lines: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        """What the command found despite failing (SELFTEST's checks), sent with the error."""
        self.lines = lines or []
        """The same for text mode: body lines sent before the ERR line."""


class BadLine(ConsoleError):
    code = 400


class AuthRequired(ConsoleError):
    code = 401


class Forbidden(ConsoleError):
    code = 403


class UnknownCommand(ConsoleError):
    code = 404


class BadArgument(ConsoleError):
    code = 422


class DeviceFault(ConsoleError):
    code = 500


class Busy(ConsoleError):
    code = 503
