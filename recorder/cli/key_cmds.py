"""``bodycam keygen`` and ``bodycam provision``: make keys and set up a device's state."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any

from recorder.evidence.errors import KeyFileError
from recorder.evidence.keys import fingerprint, generate, load_agency_public, raw_public

STATE_DEVICE_KEY = "device.key"
STATE_RECIPIENTS = "recipients"


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "keygen",
        help="make an agency (X25519) or device (Ed25519) key pair",
        description="Write ROLE.key (mode 0600) and ROLE.pub into DIR. Never overwrites a key.",
    )
    p.add_argument("role", choices=("agency", "device"))
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.set_defaults(run=keygen)

    p = sub.add_parser(
        "provision",
        help="create a device key in the state directory and install agency recipients",
        description=(
            "Generate the device's Ed25519 key inside STATE (it never leaves the device) and "
            "install the agency public keys that segments are encrypted to. The first "
            "--agency-pub is the agency; a second is for escrow."
        ),
    )
    p.add_argument("--state", type=Path, required=True, metavar="DIR")
    p.add_argument(
        "--agency-pub", type=Path, required=True, action="append", metavar="FILE", dest="agency"
    )
    p.set_defaults(run=provision)


def keygen(args: argparse.Namespace) -> int:
    paths = generate(args.role, args.out)
    print(f"{args.role} public key:  {paths.public}")
    print(f"fingerprint:        {paths.fingerprint}")
    print(f"private key:        {paths.private} (mode 0600; keep it secret)")
    return 0


def provision(args: argparse.Namespace) -> int:
    state: Path = args.state
    if (state / STATE_DEVICE_KEY).exists():
        raise KeyFileError(f"{state}: already provisioned (it holds {STATE_DEVICE_KEY})")
    keys = [(p, load_agency_public(p)) for p in args.agency]  # validate all before writing
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    recipients = state / STATE_RECIPIENTS
    recipients.mkdir(exist_ok=True)
    device = generate("device", state)
    for i, (path, key) in enumerate(keys, start=1):
        fp = fingerprint(raw_public(key))
        shutil.copyfile(path, recipients / f"{i:02d}-{fp.replace(' ', '')}.pub")
        print(f"recipient {i}:        {fp}  ({'agency' if i == 1 else 'escrow'})")
    print(f"device public key:  {device.public}")
    print(f"device fingerprint: {device.fingerprint}")
    return 0
