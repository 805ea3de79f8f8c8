"""``bodycam console`` (the technician's client) and ``bodycam console-serve`` (the serial bridge).

``bodycam console`` exit codes: 0 every command answered OK; 1 a command answered ERR (it stops
there); 2 bad command line; 3 no answer from the console; 69 the port cannot be opened; 141 the
reader of its output went away (``| head``): it stops quietly, and still ends with QUIT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from recorder.console.bridge import BAUDRATE, DEFAULT_SOCKET, Bridge
from recorder.console.client import interactive, load_technician_private, run_commands
from recorder.logs import setup


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "console",
        help="talk to a camera's serial console (status, self-test, logs, clock)",
        description="Open PORT (a device such as /dev/ttyUSB0, or a pyserial URL such as "
        "socket://host:port) at 115200 8N1. Without --cmd, a line-by-line session. "
        + (__doc__ or "").split("\n\n", 1)[1],
    )
    p.add_argument("port", metavar="PORT")
    p.add_argument(
        "--cmd",
        action="append",
        default=[],
        metavar="COMMAND",
        help="send COMMAND and print its reply (repeatable; stops at the first ERR)",
    )
    p.add_argument("--json", action="store_true", help="replies as one JSON object per line")
    p.add_argument(
        "--key",
        type=Path,
        metavar="FILE",
        help="technician private key: authenticate before TIME SET, CONFIG SET, REBOOT",
    )
    p.add_argument("--baud", type=int, default=BAUDRATE, metavar="N")
    p.add_argument("--timeout", type=float, default=15.0, metavar="S", help="per reply")
    p.set_defaults(run=console)

    p = sub.add_parser(
        "console-serve",
        help="bridge a serial tty to the daemon's console socket (run by systemd per tty)",
        description="Open PORT at 115200 8N1 and copy bytes both ways to the daemon's console "
        "socket, reconnecting whenever either side goes away. Stops on SIGTERM.",
    )
    p.add_argument("--port", required=True, metavar="TTY")
    p.add_argument("--socket", type=Path, default=DEFAULT_SOCKET, metavar="PATH")
    p.add_argument("--baud", type=int, default=BAUDRATE, metavar="N")
    p.set_defaults(run=console_serve)


def console(args: argparse.Namespace) -> int:
    key = load_technician_private(args.key) if args.key else None
    options: dict[str, Any] = {
        "json_mode": args.json,
        "key": key,
        "baud": args.baud,
        "timeout": args.timeout,
    }
    if args.cmd:
        return run_commands(args.port, args.cmd, **options)
    return interactive(args.port, **options)


def console_serve(args: argparse.Namespace) -> int:
    setup()
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    Bridge(args.port, args.socket, baudrate=args.baud).run(stop)
    print("bodycam console-serve: stopped", file=sys.stderr)
    return 0
