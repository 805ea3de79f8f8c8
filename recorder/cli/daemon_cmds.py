"""``bodycam run`` (the daemon) and ``bodycam sim`` (the daemon on the simulator backend).

Exit codes follow sysexits so systemd can tell a fault worth a restart from one that is not:
0 clean shutdown; 2 bad command line; 69 (EX_UNAVAILABLE) backend or device unavailable;
78 (EX_CONFIG) bad configuration, no configuration file, or device not provisioned.

Both forbid core dumps before they load a key (RLIMIT_CORE 0, soft and hard): a crash must not
leave the device's private key on disk, however the daemon was started. The unit's LimitCORE=0
says the same to systemd.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import resource
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


# What to do when there is no configuration file at all, by command.
_FIRST_CONTACT = {
    "sim": (
        "To try the simulator from a clone of the source, run `make demo`: it makes keys, a\n"
        "provisioned simulated camera and demo/bodycam.toml, plays a patrol, then verifies and\n"
        "exports it. After that: bodycam sim --config demo/bodycam.toml\n"
        "Or point --config FILE at your own file (every key: docs/configuration.md)."
    ),
    "run": (
        "The bodycam package installs /etc/bodycam/bodycam.toml (docs/install-pi.md); or point\n"
        "--config FILE at your own. Without a Pi, try `bodycam sim` or `make demo`."
    ),
}


_PR_SET_DUMPABLE = 4


def no_core_dumps() -> None:
    """Forbid core dumps for this process and its children (a lowered hard limit is final),
    and make the process not dumpable.

    RLIMIT_CORE alone does not stop a core that ``core_pattern`` pipes to a handler (the handler
    decides); PR_SET_DUMPABLE 0 does, for piped handlers too, and it also keeps other processes
    of the same user (the console bridge runs as ``bodycam`` too) from ptrace and
    /proc/PID/mem. Under the unit the limit is 0 already (LimitCORE=0), and setrlimit may be
    filtered out (@resources); what cannot be set is reported, and the daemon runs on.
    """
    if resource.getrlimit(resource.RLIMIT_CORE) != (0, 0):
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (OSError, ValueError) as e:
            log.warning("cannot forbid core dumps (RLIMIT_CORE): %s", e)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
    except (OSError, AttributeError) as e:
        log.warning("cannot make the process undumpable: %s", e)


def _missing(path: Path) -> bool:
    try:
        return not path.exists()
    except (OSError, ValueError):  # a name too long, or one no file can have
        return False


def _start(args: argparse.Namespace, overrides: dict[str, Any], scenario: Path | None) -> int:
    setup()
    try:
        config = load(args.config)
        if overrides:
            config = config.replace(overrides)
    except ConfigError as e:
        print(f"bodycam {args.command}: {e}", file=sys.stderr)
        if _missing(args.config):
            print(_FIRST_CONTACT[args.command], file=sys.stderr)
        return EX_CONFIG
    if scenario is None and config["sim"]["scenario"]:
        # `bodycam run` under systemd plays a scenario only on the simulator: a real camera
        # never takes one, and a config that names one for it is refused, not ignored.
        if config["device"]["backend"] != "sim":
            print(
                f"bodycam {args.command}: {args.config}: sim.scenario is set, but only the sim "
                f"backend plays scenarios (device.backend is {config['device']['backend']!r})",
                file=sys.stderr,
            )
            return EX_CONFIG
        scenario = Path(config["sim"]["scenario"])
    if scenario is not None and not scenario.is_file():
        print(f"bodycam {args.command}: {scenario}: no such scenario file", file=sys.stderr)
        return 2
    no_core_dumps()  # before any key is loaded
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
