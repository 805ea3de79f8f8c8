"""``bodycam run`` (the daemon) and ``bodycam sim`` (the daemon on the simulator backend).

Exit codes follow sysexits so systemd can tell a fault worth a restart from one that is not:
0 clean shutdown; 2 bad command line; 69 (EX_UNAVAILABLE) backend or device unavailable;
78 (EX_CONFIG) bad configuration or device not provisioned.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from hal.errors import HalError
from recorder.config import ConfigError, load
from recorder.daemon import Daemon, StartupError
from recorder.logs import setup

EX_UNAVAILABLE = 69
EX_CONFIG = 78

log = logging.getLogger("bodycam.cli")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("run", help="run the camera daemon", description=__doc__)
    p.add_argument("--config", type=Path, default=Path("/etc/bodycam/bodycam.toml"), metavar="FILE")
    p.set_defaults(run=run)

    p = sub.add_parser(
        "sim",
        help="run the daemon on the simulator backend, optionally playing a scenario",
        description="Run the daemon headless on the simulator. " + (__doc__ or ""),
    )
    p.add_argument("--config", type=Path, default=Path("bodycam.toml"), metavar="FILE")
    p.add_argument(
        "--scenario",
        type=Path,
        metavar="FILE",
        help="a TOML timeline (see sim/scenarios/); the daemon stops when it ends",
    )
    p.add_argument(
        "--speed",
        choices=("max", "1", "realtime"),
        help="max: as fast as possible (default); 1 or realtime: paced to real time",
    )
    p.set_defaults(run=sim)


def _start(args: argparse.Namespace, overrides: dict[str, Any], scenario: Path | None) -> int:
    setup()
    try:
        config = load(args.config)
        if overrides:
            config = config.replace(overrides)
    except ConfigError as e:
        print(f"bodycam {args.command}: {e}", file=sys.stderr)
        return EX_CONFIG
    if scenario is not None and not scenario.is_file():
        print(f"bodycam {args.command}: {scenario}: no such scenario file", file=sys.stderr)
        return 2
    try:
        daemon = Daemon(config)
        daemon.install_signal_handlers()
        return daemon.run(scenario)
    except StartupError as e:
        print(f"bodycam {args.command}: {e}", file=sys.stderr)
        return EX_CONFIG if "provision" in str(e) else EX_UNAVAILABLE
    except HalError as e:
        print(f"bodycam {args.command}: {e}", file=sys.stderr)
        return EX_UNAVAILABLE


def run(args: argparse.Namespace) -> int:
    return _start(args, {}, None)


def sim(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {"device.backend": "sim", "console.pty": True, "console.socket": ""}
    if args.speed:
        overrides["sim.speed"] = "max" if args.speed == "max" else "realtime"
    return _start(args, overrides, args.scenario)
