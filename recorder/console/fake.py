"""FakeDevice: a complete in-memory :class:`~recorder.console.device.ConsoleDevice` for tests.

Verbs and records for tests: :meth:`FakeDevice.advance` moves its monotonic clock, ``busy``
makes every call answer like a recorder that does not respond (503), ``broken`` makes STATUS?
raise an unexpected exception, ``audited`` lists every audit event in order, ``reboots`` who
asked for a restart. CONFIG SET uses the real whitelist and schema checks.

Not simulated: frames, files, a real audit log (LOG? lists ``audited``; it always verifies).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import recorder
from recorder.config import SCHEMA
from recorder.console.device import MAKER, MODEL, SETTABLE, parse_setting
from recorder.console.errors import BadArgument, Busy
from recorder.evidence.audit import rfc3339
from recorder.evidence.keys import fingerprint, raw_public

__all__ = ["FakeDevice"]


class FakeDevice:
    def __init__(
        self,
        *,
        device_id: str = "BC-FAKE",
        technicians: list[Ed25519PublicKey] | None = None,
    ) -> None:
        self.device_id = device_id
        self.technicians = list(technicians or [])
        self.mono = 1000.0
        self.wall = 1_717_200_000.0
        self.clock_source = "ntp"
        self.recording_since: float | None = None
        """Device monotonic time the recording began (None: not recording)."""
        self.busy = False
        self.broken = False
        self.audited: list[tuple[str, dict[str, Any]]] = []
        self.reboots: list[str] = []
        self.settings = {k: SCHEMA[k.split(".")[0]][k.split(".")[1]].default for k in SETTABLE}
        self.checks = [
            {"name": "camera", "status": "PASS", "detail": "15 frame(s) arrived"},
            {"name": "storage", "status": "PASS", "detail": "1.00 GiB free"},
        ]

    # --- test verbs -----------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds

    def events(self, name: str) -> list[dict[str, Any]]:
        return [fields for event, fields in self.audited if event == name]

    # --- ConsoleDevice --------------------------------------------------------------------------

    def _check(self) -> None:
        if self.busy:
            raise Busy("the recorder did not answer in time; try again")

    def now(self) -> float:
        return self.mono

    def identity(self) -> dict[str, Any]:
        self._check()
        return {
            "maker": MAKER,
            "model": MODEL,
            "serial": self.device_id,
            "firmware": recorder.__version__,
        }

    def status(self) -> dict[str, Any]:
        self._check()
        if self.broken:
            raise RuntimeError("the fake device is broken")
        return {
            "state": "BUFFERING" if self.recording_since is None else "RECORDING",
            "recording_since": self.recording_since,
            "frames": 1234,
            "pre_roll_s": 30.0,
            "storage_free_bytes": 2**30,
            "wall": self.wall,
            "device_id": self.device_id,
            "officer_id": self.settings["device.officer_id"],
            "faults": [],
            "monotonic": self.mono,
        }

    def battery(self) -> dict[str, Any]:
        self._check()
        return {"percent": 87.5, "voltage": 3.9, "charging": False, "minutes_left": 300.0}

    def storage(self) -> dict[str, Any]:
        self._check()
        return {"free_bytes": 2**30, "total_bytes": 2**31, "free_percent": 50.0}

    def time(self) -> dict[str, Any]:
        self._check()
        return {"utc": rfc3339(self.wall), "epoch": self.wall, "source": self.clock_source}

    def keys(self) -> dict[str, Any]:
        self._check()
        return {
            "device": "0000 0000 0000 0000",
            "agency": ["1111 1111 1111 1111"],
            "technicians": [fingerprint(raw_public(k)) for k in self.technicians],
        }

    def technician_keys(self) -> list[Ed25519PublicKey]:
        return list(self.technicians)

    def log_tail(self, n: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        self._check()
        events = [
            {"n": i, "event": e, "wall": rfc3339(self.wall), **f}
            for i, (e, f) in enumerate(self.audited)
        ]
        verdict = {"verdict": "OK", "files": 1, "open": 1, "events": len(events), "problems": []}
        return events[-n:] if n else [], verdict

    def selftest(self) -> list[dict[str, Any]]:
        self._check()
        return [dict(c) for c in self.checks]

    def config_get(self, key: str | None = None) -> dict[str, Any]:
        self._check()
        if key is None:
            return dict(self.settings)
        if key not in self.settings:
            raise BadArgument(f"no configuration key {key!r}")
        return {key: self.settings[key]}

    def set_time(self, epoch: float, by: str) -> dict[str, Any]:
        self._check()
        old, self.wall, self.clock_source = self.wall, epoch, "manual"
        self.audit("clock_set", old_wall=old, new_wall=epoch, source="manual", by=by)
        return {"old_wall": old, "new_wall": epoch, "source": "manual", "utc": rfc3339(epoch)}

    def config_set(self, key: str, value: str, by: str) -> dict[str, Any]:
        self._check()
        parsed = parse_setting(key, value)
        old, self.settings[key] = self.settings[key], parsed
        self.audit("config_change", key=key, old=old, new=parsed, by=by)
        return {key: parsed}

    def reboot(self, by: str) -> None:
        self.reboots.append(by)

    def audit(self, event: str, **fields: Any) -> None:
        self._check()
        self.audited.append((event, fields))
