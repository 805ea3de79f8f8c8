"""Provisioning: the device key made in the state directory, the agency recipients installed, and
the technicians' console keys (``STATE/technicians/NN-<fingerprint>.pub``) with them.

``bodycam provision`` calls this; so do the simulator demo, the bench and the tests, so that every
camera, real or simulated, is set up the one way.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from recorder.evidence.errors import KeyFileError
from recorder.evidence.keys import (
    fingerprint,
    generate,
    load_agency_public,
    load_technician_public,
    raw_public,
)

__all__ = ["DEVICE_KEY", "RECIPIENTS", "TECHNICIANS", "Provisioned", "provision"]

DEVICE_KEY = "device.key"
RECIPIENTS = "recipients"
TECHNICIANS = "technicians"


@dataclass(frozen=True)
class Provisioned:
    device_pub: Path
    device_fingerprint: str
    recipients: list[str]
    """Fingerprints of the agency keys, in order: the agency first, then escrow."""
    technicians: list[str] = field(default_factory=list)
    """Fingerprints of the technician keys that may authenticate on the serial console."""


def provision(
    state: Path, agency_pubs: list[Path], technician_pubs: list[Path] | None = None
) -> Provisioned:
    """Make the device key inside ``state`` (mode 0700) and install the agency public keys and
    the technician public keys (Ed25519) the serial console accepts for AUTH."""
    if (state / DEVICE_KEY).exists():
        raise KeyFileError(f"{state}: already provisioned (it holds {DEVICE_KEY})")
    if not agency_pubs:
        raise KeyFileError("at least one agency public key is needed")
    keys = [(p, load_agency_public(p)) for p in agency_pubs]  # check them all before writing
    techs = [(p, load_technician_public(p)) for p in technician_pubs or []]
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    rdir = state / RECIPIENTS
    rdir.mkdir(exist_ok=True)
    fps = []
    for i, (path, key) in enumerate(keys, start=1):
        fp = fingerprint(raw_public(key))
        shutil.copyfile(path, rdir / f"{i:02d}-{fp.replace(' ', '')}.pub")
        fps.append(fp)
    tech_fps = []
    if techs:
        tdir = state / TECHNICIANS
        tdir.mkdir(exist_ok=True)
        for i, (path, tkey) in enumerate(techs, start=1):
            fp = fingerprint(raw_public(tkey))
            shutil.copyfile(path, tdir / f"{i:02d}-{fp.replace(' ', '')}.pub")
            tech_fps.append(fp)
    device = generate("device", state)
    return Provisioned(device.public, device.fingerprint, fps, tech_fps)
