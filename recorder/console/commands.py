"""The command table, command parsing and the reply format (docs/console.md §3-§5).

A line is split on spaces; the first word (or, for ``TIME SET`` and ``CONFIG SET``, the first two)
names the command, case-insensitively. Every handler returns a :class:`Reply` or raises a
:class:`~recorder.console.errors.ConsoleError`; :func:`render` and :func:`render_error` turn
either into the bytes sent: in text mode indented body lines and then ``OK`` or
``ERR <code> <message>``, in JSON mode exactly one JSON object on one line.

No command deletes or changes evidence: the table holds every command there is.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import recorder
from recorder.console import readable
from recorder.console.device import MODEL, ConsoleDevice
from recorder.console.errors import BadArgument, ConsoleError, DeviceFault, UnknownCommand
from recorder.console.protocol import printable

__all__ = [
    "COMMANDS",
    "PROTOCOL",
    "Command",
    "Console",
    "Mode",
    "Reply",
    "parse",
    "parse_time",
    "render",
    "render_error",
]

PROTOCOL = "bodycam-console/1"
Mode = Literal["text", "json"]

EARLIEST_TIME = 1_577_836_800.0  # 2020-01-01T00:00:00Z
LATEST_TIME = 4_102_444_800.0  # 2100-01-01T00:00:00Z
LOG_DEFAULT, LOG_MAX = 20, 500
_EPOCH = re.compile(r"^[0-9]{9,11}(\.[0-9]{1,6})?$")
_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


class Console(Protocol):
    """What a command handler may touch: the device and its own session's settings."""

    device: ConsoleDevice
    echo: bool
    mode: Mode

    @property
    def technician(self) -> str | None:
        """Who authenticated this session (a key fingerprint), or None."""
        ...

    def challenge(self) -> dict[str, Any]: ...
    def respond(self, signature_hex: str) -> dict[str, Any]: ...


@dataclass
class Reply:
    data: dict[str, Any] = field(default_factory=dict)
    lines: list[str] | None = None
    """Text-mode body; None: ``key: value`` lines made from ``data``."""
    end: bool = False
    """The session ends after this reply (QUIT)."""
    after: Callable[[], None] | None = None
    """Run once the reply is sent and audited (REBOOT)."""


Handler = Callable[[Console, list[str]], Reply]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    run: Handler
    min_args: int = 0
    max_args: int = 0
    privileged: bool = False
    rest: bool = False
    """The last argument is the rest of the line, spaces and all."""


# --- rendering ------------------------------------------------------------------------------


def _value(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v or '""'
    if isinstance(v, list | tuple):
        return ", ".join(_value(x) for x in v) or "-"
    return json.dumps(_finite(v), default=str, ensure_ascii=False)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _json_line(obj: dict[str, Any]) -> bytes:
    text = json.dumps(_finite(obj), ensure_ascii=True, separators=(",", ":"), default=str)
    return text.replace("\x7f", "\\u007f").encode("ascii") + b"\r\n"  # DEL: JSON leaves it


def _body(lines: list[str]) -> bytes:
    return b"".join(("  " + printable(line)).encode("utf-8") + b"\r\n" for line in lines)


def render(reply: Reply, mode: Mode) -> bytes:
    if mode == "json":
        return _json_line({"ok": True, "data": reply.data})
    lines = reply.lines
    if lines is None:
        lines = [f"{k}: {_value(v)}" for k, v in reply.data.items()]
    return _body(lines) + b"OK\r\n"


def render_error(err: ConsoleError, mode: Mode) -> bytes:
    message = printable(err.message)
    if mode == "json":
        obj: dict[str, Any] = {"ok": False, "code": err.code, "error": message}
        if err.data is not None:
            obj["data"] = err.data
        return _json_line(obj)
    return _body(err.lines) + f"ERR {err.code} {message}".encode() + b"\r\n"


# --- argument parsing -----------------------------------------------------------------------


def parse_time(text: str) -> float:
    """Epoch seconds from ``2025-01-02T03:04:05Z`` (RFC 3339, an offset is required) or from
    ``1735787045`` (UTC epoch seconds); BadArgument otherwise or outside 2020-2099."""
    if _EPOCH.match(text):
        epoch = float(text)
    elif _RFC3339.match(text):
        try:
            dt = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
        except ValueError as e:
            raise BadArgument(f"not a valid time: {e}") from None
        epoch = dt.timestamp()
    else:
        raise BadArgument(
            "time must be RFC 3339 with an offset (2025-01-02T03:04:05Z) or epoch seconds"
        )
    if not EARLIEST_TIME <= epoch < LATEST_TIME:
        raise BadArgument("time must lie between 2020-01-01 and 2099-12-31")
    return epoch


def _on_off(arg: str, a: str, b: str) -> bool:
    word = arg.upper()
    if word not in (a, b):
        raise BadArgument(f"expected {a} or {b}, got {clip(arg)}")
    return word == a


def clip(text: str, n: int = 32) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


# --- handlers -------------------------------------------------------------------------------


def _help(c: Console, args: list[str]) -> Reply:
    wanted = [COMMANDS[_lookup(args)]] if args else list(COMMANDS.values())
    entries = [
        {"usage": cmd.usage, "summary": cmd.summary, "auth": cmd.privileged} for cmd in wanted
    ]
    width = max(len(cmd.usage) for cmd in COMMANDS.values())
    lines = [
        f"{e['usage']:<{width}}  {e['summary']}{' (needs AUTH; audited)' if e['auth'] else ''}"
        for e in entries
    ]
    return Reply({"commands": entries}, lines)


def _lookup(args: list[str]) -> str:
    for n in (2, 1):
        name = " ".join(args[:n]).upper()
        if len(args) >= n and name in COMMANDS:
            return name
    raise BadArgument(f"no command {clip(' '.join(args))}; type HELP")


def _idn(c: Console, args: list[str]) -> Reply:
    ident = c.device.identity()
    line = f"{ident['maker']},{ident['model']},{ident['serial']},{ident['firmware']}"
    return Reply(ident, [line])


def _version(c: Console, args: list[str]) -> Reply:
    return Reply({"firmware": recorder.__version__, "protocol": PROTOCOL, "model": MODEL})


def _readable(data: dict[str, Any]) -> Reply:
    """Machine values in JSON; times, durations and sizes for people in text mode."""
    return Reply(data, readable.lines(data, _value))


def _status(c: Console, args: list[str]) -> Reply:
    return _readable(c.device.status())


def _battery(c: Console, args: list[str]) -> Reply:
    return _readable(c.device.battery())


def _storage(c: Console, args: list[str]) -> Reply:
    return _readable(c.device.storage())


def _time(c: Console, args: list[str]) -> Reply:
    return _readable(c.device.time())


def _keys(c: Console, args: list[str]) -> Reply:
    return Reply(c.device.keys())


def _selftest(c: Console, args: list[str]) -> Reply:
    checks = c.device.selftest()
    lines = [f"{ch['status']} {ch['name']}: {ch['detail']}" for ch in checks]
    failed = [str(ch["name"]) for ch in checks if ch["status"] == "FAIL"]
    data = {"checks": checks, "passed": not failed}
    if failed:
        raise DeviceFault(f"self-test failed: {', '.join(failed)}", data=data, lines=lines)
    return Reply(data, lines)


def _log(c: Console, args: list[str]) -> Reply:
    n = LOG_DEFAULT
    if args:
        if not args[0].isdigit() or not 1 <= int(args[0]) <= LOG_MAX:
            raise BadArgument(f"LOG? N: N must be a number from 1 to {LOG_MAX}")
        n = int(args[0])
    events, verdict = c.device.log_tail(n)
    lines = []
    for e in events:
        rest = " ".join(
            f"{k}={_value(v)}" for k, v in e.items() if k not in ("n", "event", "wall", "mono_us")
        )
        lines.append(
            f"#{e.get('n', '?')} {e.get('wall', '?')} {e.get('event', '?')} {rest}".strip()
        )
    summary = f"audit log: {verdict['verdict']} ({verdict['files']} file(s)"
    summary += f", #{verdict['open']} open)" if verdict.get("open") is not None else ")"
    lines.append(summary)
    lines += [f"problem: {p}" for p in verdict.get("problems", [])]
    return Reply({"events": events, "audit": verdict}, lines)


def _config_get(c: Console, args: list[str]) -> Reply:
    return Reply(c.device.config_get(args[0] if args else None))


def _echo(c: Console, args: list[str]) -> Reply:
    c.echo = _on_off(args[0], "ON", "OFF")
    return Reply({"echo": c.echo})


def _echo_get(c: Console, args: list[str]) -> Reply:
    return Reply({"echo": c.echo})


def _mode(c: Console, args: list[str]) -> Reply:
    c.mode = "json" if _on_off(args[0], "JSON", "TEXT") else "text"
    return Reply({"mode": c.mode})


def _mode_get(c: Console, args: list[str]) -> Reply:
    return Reply({"mode": c.mode})


def _auth_get(c: Console, args: list[str]) -> Reply:
    return Reply(c.challenge())


def _auth(c: Console, args: list[str]) -> Reply:
    return Reply(c.respond(args[0]))


def _by(c: Console) -> str:
    return f"technician {c.technician}"


def _time_set(c: Console, args: list[str]) -> Reply:
    return _readable(c.device.set_time(parse_time(args[0]), _by(c)))


def _config_set(c: Console, args: list[str]) -> Reply:
    return Reply(c.device.config_set(args[0], args[1].strip(), _by(c)))


def _reboot(c: Console, args: list[str]) -> Reply:
    by = _by(c)
    return Reply(
        {"rebooting": True}, ["the firmware restarts now"], after=lambda: c.device.reboot(by)
    )


def _quit(c: Console, args: list[str]) -> Reply:
    return Reply({"bye": True}, [], end=True)


_TABLE = [
    Command("HELP", "HELP [COMMAND]", "list the commands, or explain one", _help, 0, 2),
    Command("*IDN?", "*IDN?", "maker, model, serial, firmware", _idn),
    Command("VERSION?", "VERSION?", "firmware and console protocol versions", _version),
    Command("STATUS?", "STATUS?", "state, counters, battery, storage, faults", _status),
    Command("BATTERY?", "BATTERY?", "charge, voltage, charging, time left", _battery),
    Command("STORAGE?", "STORAGE?", "free and total space of the evidence volume", _storage),
    Command("TIME?", "TIME?", "wall clock (UTC), its source, monotonic time", _time),
    Command("KEYS?", "KEYS?", "key fingerprints: device, agency, technicians", _keys),
    Command("SELFTEST", "SELFTEST", "camera, storage, keys, clock, audit log", _selftest),
    Command(
        "LOG?", "LOG? [N]", f"newest N verified audit events (default {LOG_DEFAULT})", _log, 0, 1
    ),
    Command("CONFIG?", "CONFIG? [KEY]", "settable keys and values, or one key", _config_get, 0, 1),
    Command("ECHO", "ECHO ON|OFF", "echo typed characters back (default ON)", _echo, 1, 1),
    Command("ECHO?", "ECHO?", "whether echo is on", _echo_get),
    Command("MODE", "MODE TEXT|JSON", "reply format (default TEXT)", _mode, 1, 1),
    Command("MODE?", "MODE?", "the reply format", _mode_get),
    Command("AUTH?", "AUTH?", "a one-time challenge to sign (valid 60 s)", _auth_get),
    Command(
        "AUTH", "AUTH <SIGNATURE-HEX>", "answer the challenge; unlocks AUTH commands", _auth, 1, 1
    ),
    Command(
        "TIME SET",
        "TIME SET <RFC3339|EPOCH>",
        "set the wall clock",
        _time_set,
        1,
        1,
        privileged=True,
    ),
    Command(
        "CONFIG SET",
        "CONFIG SET <KEY> <VALUE>",
        "change and keep a setting",
        _config_set,
        2,
        2,
        privileged=True,
        rest=True,
    ),
    Command("REBOOT", "REBOOT", "restart the firmware", _reboot, privileged=True),
    Command("QUIT", "QUIT", "end the session (drops AUTH)", _quit),
    Command("EXIT", "EXIT", "same as QUIT", _quit),
]
COMMANDS: dict[str, Command] = {c.name: c for c in _TABLE}
_PREFIXES = {name.split()[0]: name for name in COMMANDS if " " in name}


def parse(text: str) -> tuple[Command, list[str]]:
    """The command a line names and its arguments; UnknownCommand or BadArgument otherwise."""
    words = text.split()
    if not words:
        raise UnknownCommand("empty command; type HELP")
    first = words[0].upper()
    two = f"{first} {words[1].upper()}" if len(words) > 1 else ""
    if two in COMMANDS:
        name, n = two, 2
    elif first in COMMANDS:
        name, n = first, 1
    elif first in _PREFIXES:
        raise BadArgument(f"usage: {COMMANDS[_PREFIXES[first]].usage}")
    else:
        raise UnknownCommand(f"unknown command {clip(words[0])}; type HELP")
    cmd = COMMANDS[name]
    args = text.split(None, n + cmd.max_args - 1)[n:] if cmd.rest else words[n:]
    if not cmd.min_args <= len(args) <= cmd.max_args:
        raise BadArgument(f"usage: {cmd.usage}")
    return cmd, args
