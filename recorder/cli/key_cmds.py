"""``bodycam keygen`` and ``bodycam provision``: make keys and set up a device's state."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from recorder import provisioning
from recorder.evidence.keys import generate


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "keygen",
        help="make an agency (X25519), device or technician (Ed25519) key pair",
        description="Write ROLE.key (mode 0600) and ROLE.pub into DIR. Never overwrites a key.",
    )
    p.add_argument("role", choices=("agency", "device", "technician"))
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.set_defaults(run=keygen)

    p = sub.add_parser(
        "provision",
        help="create a device key in the state directory and install agency recipients",
        description=(
            "Generate the device's Ed25519 key inside STATE (it never leaves the device) and "
            "install the agency public keys that segments are encrypted to. The first "
            "--agency-pub is the agency; a second is for escrow. Each --technician-pub is a "
            "technician key the serial console accepts for AUTH (docs/console.md)."
        ),
    )
    p.add_argument("--state", type=Path, required=True, metavar="DIR")
    p.add_argument(
        "--agency-pub", type=Path, required=True, action="append", metavar="FILE", dest="agency"
    )
    p.add_argument(
        "--technician-pub",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        dest="technician",
        help="a technician's Ed25519 public key (repeatable)",
    )
    p.set_defaults(run=provision)


def keygen(args: argparse.Namespace) -> int:
    paths = generate(args.role, args.out)
    print(f"{args.role} public key:  {paths.public}")
    print(f"fingerprint:        {paths.fingerprint}")
    print(f"private key:        {paths.private} (mode 0600; keep it secret)")
    return 0


def provision(args: argparse.Namespace) -> int:
    done = provisioning.provision(args.state, args.agency, args.technician)
    for i, fp in enumerate(done.recipients, start=1):
        print(f"recipient {i}:        {fp}  ({'agency' if i == 1 else 'escrow'})")
    for i, fp in enumerate(done.technicians, start=1):
        print(f"technician {i}:       {fp}")
    print(f"device public key:  {done.device_pub}")
    print(f"device fingerprint: {done.device_fingerprint}")
    return 0
