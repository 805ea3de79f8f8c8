"""DeviceAccess: the console's only view of the camera.

Everything that touches the recorder goes through :class:`recorder.control.Control`, so it
runs on the recorder's own thread, between frames, and a console that hangs or crashes never
stalls recording. Audit events are posted (:meth:`~recorder.control.Control.post`): while the
recorder shuts down it writes them without making the console wait, so stopping the console
never waits on the recorder and no ``console_close`` is lost. What only reads files (verifying
the audit log, listing key files) runs on the console's thread and never through Control, so it
cannot hold up the recorder either.

:class:`ConsoleDevice` is the contract the session is written against; :class:`DeviceAccess`
implements it on a running recorder and :class:`recorder.console.fake.FakeDevice` in memory.
Errors are :mod:`recorder.console.errors`: a recorder that does not answer in time is
:class:`~recorder.console.errors.Busy` (503), never an exception the session does not know.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import recorder
from hal.errors import HalError
from hal.storage import Storage
from recorder.config import SCHEMA, ConfigError
from recorder.console.errors import BadArgument, Busy, DeviceFault, Forbidden
from recorder.control import Control, ControlStopping, ControlTimeout
from recorder.evidence.audit import rfc3339
from recorder.evidence.chain import verify_dir_kind
from recorder.evidence.errors import KeyFileError
from recorder.evidence.header import Kind
from recorder.evidence.keys import (
    fingerprint,
    load_agency_public,
    load_technician_public,
    raw_public,
)
from recorder.provisioning import RECIPIENTS, TECHNICIANS
from recorder.selftest import (
    Check,
    audit_verdict,
    camera_delivers,
    check_audit,
    check_clock,
    check_keys,
    check_storage,
    microphone_delivers,
    storage_margin,
)

if TYPE_CHECKING:
    from recorder.recorder import Recorder

__all__ = [
    "MAKER",
    "MODEL",
    "SETTABLE",
    "TECHNICIANS",
    "ConsoleDevice",
    "DeviceAccess",
    "parse_setting",
]

log = logging.getLogger("bodycam.console")

T = TypeVar("T")

MAKER = "bodycam project"
MODEL = "bodycam-pi"
MAX_TECHNICIAN_KEYS = 64

SETTABLE: tuple[str, ...] = (
    "recording.pre_event_s",
    "recording.post_event_s",
    "recording.stop_hold_s",
    "recording.reminder_s",
    "device.officer_id",
    "storage.low_space_percent",
    "battery.low_percent",
)
"""The only configuration keys CONFIG SET may change. Nothing that bears on evidence integrity
(keys, directories, the cipher suite, the backend) is settable over a serial line."""

_INT = re.compile(r"^[+-]?[0-9]{1,12}$")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]{1,12}(?:\.[0-9]{0,9})?|\.[0-9]{1,9})$")


def parse_setting(key: str, text: str) -> Any:
    """The value of ``text`` for ``key``, in the schema's type; Forbidden unless ``key`` is in
    SETTABLE, BadArgument when the value is not allowed (the message says what is)."""
    if key not in SETTABLE:
        raise Forbidden(f"{key} cannot be set over the console; allowed: {', '.join(SETTABLE)}")
    section, name = key.split(".", 1)
    spec = SCHEMA[section][name]
    value: Any
    if spec.kind is str:
        value = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
    elif spec.kind is bool:
        if text.lower() not in ("true", "false"):
            raise BadArgument(f"{key} = {text}: must be true or false")
        value = text.lower() == "true"
    elif spec.kind is int:
        if not _INT.match(text):
            raise BadArgument(f"{key} = {text}: must be a whole number, {spec.allowed}")
        value = int(text)
    else:
        if not _NUMBER.match(text):
            raise BadArgument(f"{key} = {text}: must be a number, {spec.allowed}")
        value = float(text)
    if not spec.check(value):
        raise BadArgument(f"{key} = {text}: must be {spec.allowed}")
    return value


class ConsoleDevice(Protocol):
    """What a console session may ask of the camera. Every method may raise a ConsoleError."""

    def now(self) -> float:
        """Device monotonic seconds (nonce lifetimes, lockouts, idle timeouts)."""
        ...

    def identity(self) -> dict[str, Any]: ...
    def status(self) -> dict[str, Any]: ...
    def battery(self) -> dict[str, Any]: ...
    def storage(self) -> dict[str, Any]: ...
    def time(self) -> dict[str, Any]: ...
    def keys(self) -> dict[str, Any]: ...
    def technician_keys(self) -> list[Ed25519PublicKey]: ...
    def log_tail(self, n: int) -> tuple[list[dict[str, Any]], dict[str, Any]]: ...
    def selftest(self) -> list[dict[str, Any]]: ...
    def config_get(self, key: str | None = None) -> dict[str, Any]: ...
    def set_time(self, epoch: float, by: str) -> dict[str, Any]: ...
    def config_set(self, key: str, value: str, by: str) -> dict[str, Any]: ...
    def reboot(self, by: str) -> None: ...
    def audit(self, event: str, **fields: Any) -> None: ...


def _public_key_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.pub"))[:MAX_TECHNICIAN_KEYS] if directory.is_dir() else []


class _StorageViaControl(Storage):
    """The evidence volume's figures, read on the recorder thread (for the storage check)."""

    def __init__(self, access: DeviceAccess) -> None:
        self._access = access

    def _free_bytes(self) -> int:
        return self._access._call(lambda r: r.devices.storage.free_bytes())

    def _total_bytes(self) -> int:
        return self._access._call(lambda r: r.devices.storage.total_bytes())


class DeviceAccess:
    """The console's view of a running recorder (see the module docstring).

    ``clock_now`` is the device's monotonic clock; ``reboot(by)`` restarts the firmware (the
    daemon passes its own restart). ``timeout`` bounds every wait for the recorder thread.
    """

    def __init__(
        self,
        control: Control,
        *,
        state_dir: Path,
        evidence_dir: Path,
        clock_now: Callable[[], float],
        reboot: Callable[[str], None],
        timeout: float = 3.0,
    ) -> None:
        self._control = control
        self.state_dir = state_dir
        self.evidence_dir = evidence_dir
        self._clock_now = clock_now
        self._reboot = reboot
        self.timeout = timeout
        self._device_pub: Ed25519PublicKey | None = None
        self._device_id: str | None = None
        self._pause = threading.Event()  # never set: its wait() is an interruptible sleep

    def _call(self, fn: Callable[[Recorder], T]) -> T:
        try:
            return self._control.call(fn, self.timeout)
        except ControlTimeout:
            raise Busy("the recorder did not answer in time; try again") from None
        except ControlStopping:
            raise Busy("the camera is shutting down") from None

    def now(self) -> float:
        return self._clock_now()

    # --- read-only ----------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        if self._device_id is None:
            self._device_id = self._call(lambda r: str(r.config["device"]["id"]))
        return {
            "maker": MAKER,
            "model": MODEL,
            "serial": self._device_id,
            "firmware": recorder.__version__,
        }

    def status(self) -> dict[str, Any]:
        """The recorder's status and the device monotonic time it was taken at (so that text
        mode can show ``recording_since``, a monotonic time, as a wall time)."""
        return self._call(
            lambda r: {**r.status(), "monotonic": round(r.devices.clock.monotonic(), 6)}
        )

    def battery(self) -> dict[str, Any]:
        def read(r: Recorder) -> dict[str, Any]:
            b = r.devices.battery.state
            return {
                "percent": round(b.percent, 1),
                "voltage": round(b.voltage, 3),
                "charging": b.charging,
                "minutes_left": None if b.minutes_left is None else round(b.minutes_left),
                "low_percent": r.config.get("battery.low_percent"),
            }

        return self._call(read)

    def storage(self) -> dict[str, Any]:
        def read(r: Recorder) -> dict[str, Any]:
            free, total = r.devices.storage.free_bytes(), r.devices.storage.total_bytes()
            return {
                "free_bytes": free,
                "total_bytes": total,
                "free_percent": round(free * 100 / total, 1) if total else 0.0,
                "low_space_percent": r.config.get("storage.low_space_percent"),
                "reserve_mib": r.config.get("storage.reserve_mib"),
            }

        return self._call(read)

    def time(self) -> dict[str, Any]:
        def read(r: Recorder) -> dict[str, Any]:
            clock = r.devices.clock
            wall = clock.wall()
            return {
                "utc": rfc3339(wall),
                "epoch": round(wall, 6),
                "source": clock.source,
                "set": clock.is_set,
                "monotonic": round(clock.monotonic(), 6),
            }

        return self._call(read)

    def device_public_key(self) -> Ed25519PublicKey:
        if self._device_pub is None:
            raw = self._call(lambda r: r.devices.keystore.public_key_bytes)
            self._device_pub = Ed25519PublicKey.from_public_bytes(raw)
        return self._device_pub

    def keys(self) -> dict[str, Any]:
        agency = []
        for path in _public_key_files(self.state_dir / RECIPIENTS):
            try:
                agency.append(fingerprint(raw_public(load_agency_public(path))))
            except KeyFileError as e:
                agency.append(f"unreadable: {path.name}: {e}")
        return {
            "device": fingerprint(raw_public(self.device_public_key())),
            "agency": agency,
            "technicians": [fingerprint(raw_public(k)) for k in self.technician_keys()],
        }

    def technician_keys(self) -> list[Ed25519PublicKey]:
        """The keys in STATE/technicians/*.pub; a file that does not hold one is logged and
        skipped, so one bad file does not lock every technician out."""
        out = []
        for path in _public_key_files(self.state_dir / TECHNICIANS):
            try:
                out.append(load_technician_public(path))
            except KeyFileError as e:
                log.warning("technician key skipped: %s", e)
        return out

    def config_get(self, key: str | None = None) -> dict[str, Any]:
        if key is not None:
            section, _, name = key.partition(".")
            if name not in SCHEMA.get(section, {}):
                raise BadArgument(f"no configuration key {key!r}")
            return self._call(lambda r: {key: r.config.get(key)})
        return self._call(lambda r: {k: r.config.get(k) for k in SETTABLE})

    def log_tail(self, n: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The newest ``n`` verified audit events (oldest first) and the audit log's verdict.

        Reads and verifies files on the calling thread. The audit file the recorder is writing
        has no FINAL record yet, so INCOMPLETE is its normal state and is reported as open.
        """
        pub = self.device_public_key()
        open_seq = self._call(lambda r: r.audit_log.seq)
        report = verify_dir_kind(self.evidence_dir, pub, Kind.AUDIT)
        checks = sorted(
            (c for c in report.checks if c.outcome.header is not None), key=lambda c: c.seq
        )
        events = [e for c in checks for e in c.events]
        worst, problems = audit_verdict(report, open_seq)
        verdict = {
            "verdict": worst.value,
            "files": len(checks),
            "open": open_seq,
            "events": len(events),
            "problems": problems[:10],
        }
        return events[-n:] if n else [], verdict

    def selftest(self) -> list[dict[str, Any]]:
        """Camera frames arriving, microphone packets arriving (else a warning), storage
        writable with margin, keys present, clock sane,
        audit log verifying, technician keys installed. Each check passes, warns or fails.

        The checks come from :mod:`recorder.selftest`; only the camera (the frame counter must
        move within 2 s of device time) and the audit log (the open file is expected to lack its
        FINAL) are judged differently on a running camera.
        """

        def frames() -> int:
            return self._call(lambda r: r.counters.frames)

        def packets() -> int:
            return self._call(lambda r: r.counters.audio_packets)

        def mic_fault() -> BaseException | None:
            return self._call(
                lambda r: r.devices.microphone.fault if r.devices.microphone else None
            )

        has_mic = self._call(lambda r: r.devices.microphone is not None)

        need = self._call(lambda r: storage_margin(r.config))
        open_seq = self._call(lambda r: r.audit_log.seq)
        checks = [
            camera_delivers(frames, self._waiter(0.1, real_cap_s=0.25), tries=20),
            microphone_delivers(
                packets if has_mic else None,
                mic_fault,
                self._waiter(0.1, real_cap_s=0.25),
                tries=20,
            ),
            check_storage(_StorageViaControl(self), self.evidence_dir, need),
            check_keys(self.state_dir),
            self._call(lambda r: check_clock(r.devices.clock)),
            check_audit(self.evidence_dir, self.device_public_key(), open_seq),
            self._check_technicians(),
        ]
        return [c.to_json() for c in checks]

    def _waiter(self, device_s: float, real_cap_s: float) -> Callable[[], None]:
        """Wait until ``device_s`` of device time passed, or ``real_cap_s`` of real time (a
        stopped device clock must not hang the console)."""

        def wait() -> None:
            start, deadline = self.now(), time.monotonic() + real_cap_s
            while self.now() - start < device_s and time.monotonic() < deadline:
                self._pause.wait(0.01)

        return wait

    def _check_technicians(self) -> Check:
        n = len(self.technician_keys())
        if not n:
            where = self.state_dir / TECHNICIANS
            return Check("technicians", "WARN", f"no technician key in {where}: AUTH impossible")
        return Check("technicians", "PASS", f"{n} technician key(s)")

    # --- privileged (the session checks authentication first) --------------------------------

    def set_time(self, epoch: float, by: str) -> dict[str, Any]:
        try:
            result = self._call(lambda r: r.set_clock(epoch, "manual", by))
        except ValueError as e:
            raise BadArgument(str(e)) from None
        except HalError as e:
            raise DeviceFault(str(e)) from None
        return {**result, "utc": rfc3339(result["new_wall"])}

    def config_set(self, key: str, value: str, by: str) -> dict[str, Any]:
        parsed = parse_setting(key, value)
        try:
            return self._call(lambda r: r.apply_config({key: parsed}, by))
        except ConfigError as e:
            raise BadArgument("; ".join(e.problems)) from None
        except OSError as e:
            raise DeviceFault(f"the change could not be saved: {e}") from None

    def reboot(self, by: str) -> None:
        self._reboot(by)

    def audit(self, event: str, **fields: Any) -> None:
        """Queued for the recorder thread, which writes it even while it shuts down (it never
        makes the console wait then): a session's console_close is never lost."""
        try:
            self._control.post(lambda r: r.audit(event, **fields), self.timeout)
        except ControlStopping:
            raise Busy("the camera has shut down its audit log") from None
