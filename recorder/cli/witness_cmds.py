"""``bodycam witness``: the agency's witness (docs/witness.md).

``keygen`` makes its key, ``vkey`` prints the verifier key that devices and verifiers are given,
``serve`` runs it. Exit codes of ``serve`` (sysexits, as the daemon's): 0 stopped by SIGTERM or
SIGINT; 2 bad command line; 69 (EX_UNAVAILABLE) the address cannot be bound; 78 (EX_CONFIG) the
name, key, device keys or state directory are not usable (systemd does not restart it).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from recorder.cli.daemon_cmds import EX_CONFIG, EX_UNAVAILABLE, no_core_dumps
from recorder.evidence.errors import EvidenceError
from recorder.evidence.keys import generate, load_witness_private
from recorder.evidence.note import TIMESTAMPED_ED25519, NoteError, Verifier, check_name
from recorder.logs import setup
from recorder.witness.devices import load_devices
from recorder.witness.errors import WitnessError
from recorder.witness.server import WitnessServer, parse_listen
from recorder.witness.state import State
from recorder.witness.witness import Witness

EXIT_USAGE = 2


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "witness",
        help="the agency's witness: cosign device checkpoints (C2SP tlog-witness)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = p.add_subparsers(dest="witness_command", required=True, parser_class=type(p))
    name_help = "the witness's key name, a schema-less URL such as agency.example/witness"

    k = cmds.add_parser(
        "keygen",
        help="make the witness's Ed25519 key pair",
        description="Write witness.key (mode 0600), witness.pub and witness.vkey into DIR and "
        "print the verifier key. Never overwrites a key.",
    )
    k.add_argument("--out", type=Path, required=True, metavar="DIR")
    k.add_argument("--name", required=True, help=name_help)
    k.set_defaults(run=keygen)

    v = cmds.add_parser("vkey", help="print the witness's verifier key")
    v.add_argument("--key", type=Path, required=True, metavar="FILE")
    v.add_argument("--name", required=True, help=name_help)
    v.set_defaults(run=vkey)

    s = cmds.add_parser(
        "serve",
        help="serve add-checkpoint over HTTP",
        description="Cosign the checkpoints of the devices whose public keys (*.pub) are in "
        "--devices, keeping the latest per device in STATE/witness.sqlite3.",
    )
    s.add_argument("--state", type=Path, required=True, metavar="DIR")
    s.add_argument("--devices", type=Path, required=True, metavar="DIR")
    s.add_argument("--key", type=Path, required=True, metavar="FILE")
    s.add_argument("--name", required=True, help=name_help)
    s.add_argument(
        "--listen", default="127.0.0.1:7380", metavar="HOST:PORT", help="default 127.0.0.1:7380"
    )
    s.set_defaults(run=serve)


def _bad_name(args: argparse.Namespace) -> bool:
    """Say so, and return True, if ``--name`` cannot be a key name."""
    try:
        check_name(args.name)
    except NoteError as e:
        print(f"bodycam witness {args.witness_command}: --name: {e}", file=sys.stderr)
        return True
    return False


def _verifier(key_path: Path, name: str) -> Verifier:
    return Verifier(name, TIMESTAMPED_ED25519, load_witness_private(key_path).public_key())


def keygen(args: argparse.Namespace) -> int:
    if _bad_name(args):  # before a key is made
        return EXIT_USAGE
    paths = generate("witness", args.out)
    v = _verifier(paths.private, args.name)
    vkey_path = args.out / "witness.vkey"
    vkey_path.write_text(v.vkey() + "\n")
    print(f"witness verifier key: {v.vkey()}")
    print(f"written to:           {vkey_path}")
    print(f"private key:          {paths.private} (mode 0600; keep it secret)")
    return 0


def vkey(args: argparse.Namespace) -> int:
    if _bad_name(args):
        return EXIT_USAGE
    print(_verifier(args.key, args.name).vkey())
    return 0


def serve(args: argparse.Namespace) -> int:
    setup()
    try:
        address = parse_listen(args.listen)
    except ValueError as e:
        print(f"bodycam witness serve: --listen {e}", file=sys.stderr)
        return EXIT_USAGE
    if _bad_name(args):
        return EXIT_USAGE
    no_core_dumps()  # before the key is loaded
    try:
        devices = load_devices(args.devices)
        witness = Witness(args.name, load_witness_private(args.key), devices, State(args.state))
    except (EvidenceError, WitnessError) as e:
        print(f"bodycam witness serve: {e}", file=sys.stderr)
        return EX_CONFIG
    try:
        server = WitnessServer(address, witness)
    except (OSError, ValueError) as e:  # ValueError: a host name IDNA cannot encode
        print(f"bodycam witness serve: cannot listen on {args.listen}: {e}", file=sys.stderr)
        return EX_UNAVAILABLE if isinstance(e, OSError) else EXIT_USAGE
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    server.start()
    print(f"witness {witness.verifier.vkey()}", flush=True)
    print(f"cosigning for {len(devices)} device(s)", flush=True)
    print(f"listening on {server.url}/add-checkpoint", flush=True)
    try:
        stop.wait()
    finally:
        server.close()
    print("bodycam witness serve: stopped", file=sys.stderr)
    return 0
