"""Test helper: a provisioned simulated camera in a temporary directory, run in-process."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recorder.config import Config, parse
from recorder.daemon import Daemon
from recorder.evidence.chain import Report, verify_dir
from recorder.evidence.keys import (
    generate,
    load_agency_private,
    load_agency_public,
    load_device_public,
)
from recorder.evidence.media import Frame, decode_frames
from recorder.evidence.reader import FileReader, decrypt_file
from recorder.provisioning import provision

BASE: dict[str, dict[str, Any]] = {
    "video": {"width": 160, "height": 120, "fps": 15, "bitrate": 150_000},
    "recording": {"pre_event_s": 5, "segment_s": 10, "reminder_s": 0},
    "sim": {"storage_capacity_mib": 1024},
    "console": {"socket": ""},  # the Pi's bridge socket; tests attach their own console
}


# The simulated clock starts at the host's time unless a scenario pins it; tests pin it, so that a
# run renders (and encodes) the same frames whenever it runs. None: the host's time.
PINNED_START = "2024-06-01T00:00:00Z"


def scenario(path: Path, duration: float, steps: str, start: str | None = PINNED_START) -> Path:
    pin = "" if start is None else f"start = {start}\n"
    path.write_text(f"name = 'test'\nduration = {duration}\n{pin}" + textwrap.dedent(steps))
    return path


@dataclass
class SimDevice:
    root: Path
    config: Config

    @classmethod
    def provision(cls, root: Path, **sections: dict[str, Any]) -> SimDevice:
        state = root / "state"
        provision(state, [generate("agency", root / "keys").public])
        raw: dict[str, dict[str, Any]] = {k: dict(v) for k, v in BASE.items()}
        for name, values in sections.items():
            raw.setdefault(name, {}).update(values)
        raw.setdefault("device", {}).update(
            {
                "id": "BC-TEST",
                "backend": "sim",
                "state_dir": str(state),
                "evidence_dir": str(root / "evidence"),
            }
        )
        return cls(root, parse(raw, "test"))

    def toml(self) -> Path:
        """Write the config as a TOML file (for the command line)."""
        path = self.root / "bodycam.toml"
        path.write_text(self.config.to_toml())
        return path

    def run(self, scenario_path: Path) -> Daemon:
        daemon = Daemon(self.config)
        assert daemon.run(scenario_path) == 0
        return daemon

    @property
    def evidence(self) -> Path:
        return self.root / "evidence"

    @property
    def device_pub(self) -> Ed25519PublicKey:
        return load_device_public(self.root / "state" / "device.pub")

    def verify(self) -> Report:
        return verify_dir(self.evidence, self.device_pub)

    def audit_events(self) -> list[dict[str, Any]]:
        return [e for c in self.verify().checks for e in c.events]

    def segments(self) -> list[Path]:
        return sorted(self.evidence.glob("segment-*.bcam"))

    def frames(self, segment: Path) -> list[Frame]:
        agency = load_agency_private(self.root / "keys" / "agency.key")
        with segment.open("rb") as f:
            _, pts = decrypt_file(f, self.device_pub, agency)
            return [fr for pt in pts for fr in decode_frames(pt)]

    def header(self, segment: Path) -> dict[str, Any]:
        reader = FileReader(io.BytesIO(segment.read_bytes()), self.device_pub)
        list(reader.records())
        assert reader.outcome.header is not None
        return reader.outcome.header.meta

    def agency_pub(self) -> Any:
        return load_agency_public(self.root / "keys" / "agency.pub")
