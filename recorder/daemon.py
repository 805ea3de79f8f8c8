"""The daemon: devices from the registry, one recorder thread, clean shutdown on SIGTERM.

Threads::

    camera thread ──put_nowait──▶ FrameQueue (bounded; a full queue drops and counts, never blocks)
    microphone, GNSS threads ──▶ their HandOvers (likewise)      │
    input callbacks ──▶ event queue                               │
                                   recorder loop (this thread) ◀──┘ owns Recorder
    console threads ──▶ Control requests, run by the recorder loop between frames

The loop ends on SIGTERM or SIGINT (or when a simulated scenario finishes): it closes the open
segment with its FINAL record, logs the shutdown and returns, well within systemd's 5 s.
"""

from __future__ import annotations

import json
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Generic, TypeVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from hal.backend import Backend, Devices, DeviceSettings
from hal.camera import EncodedFrame
from hal.errors import HalError
from hal.gnss import Fix
from hal.inputs import InputEvent
from hal.microphone import AudioPacket
from hal.registry import load_backend
from recorder.config import Config, ConfigError
from recorder.console.device import DeviceAccess
from recorder.console.server import ConsoleService
from recorder.control import Control
from recorder.evidence.errors import EvidenceError, KeyFileError
from recorder.evidence.keys import load_agency_public
from recorder.provisioning import RECIPIENTS
from recorder.recorder import OVERRIDES, Recorder
from recorder.sdnotify import Notifier

__all__ = [
    "EX_RESTART",
    "Daemon",
    "FrameQueue",
    "HandOver",
    "StartupError",
    "load_recipients",
    "settings_from",
    "with_overrides",
]

log = logging.getLogger("bodycam.daemon")

T = TypeVar("T")

_POLL_S = 0.05
_STATUS_EVERY_S = 5.0
EX_RESTART = 75
"""EX_TEMPFAIL: the daemon stopped cleanly because a technician asked for a restart (REBOOT);
systemd's Restart=on-failure starts it again."""


class StartupError(EvidenceError):
    """The daemon cannot start: not provisioned, backend unavailable, bad state."""


class HandOver(Generic[T]):
    """A bounded hand-over from a device's thread: never blocks it, counts what it drops."""

    def __init__(self, maxsize: int) -> None:
        self._q: queue.Queue[T] = queue.Queue(maxsize)
        self.dropped = 0

    def put_nowait(self, item: T) -> bool:
        try:
            self._q.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            return False
        return True

    def backlog(self) -> int:
        return self._q.qsize()

    def get(self, timeout: float) -> T | None:
        try:
            return self._q.get(timeout=timeout)
        except queue.Empty:
            return None

    def get_nowait(self) -> T | None:
        try:
            return self._q.get_nowait()
        except queue.Empty:
            return None


class FrameQueue(HandOver[EncodedFrame]):
    """The camera's hand-over (``recording.queue_s`` of frames)."""


def load_recipients(state_dir: Path) -> tuple[X25519PublicKey, ...]:
    """The agency public keys installed by ``bodycam provision``; at least one is required."""
    rdir = state_dir / RECIPIENTS
    paths = sorted(rdir.glob("*.pub")) if rdir.is_dir() else []
    if not paths:
        raise StartupError(
            f"{rdir}: no agency recipient keys; provision the device first "
            "(bodycam provision --state DIR --agency-pub FILE)"
        )
    try:
        return tuple(load_agency_public(p) for p in paths)
    except KeyFileError as e:
        raise StartupError(str(e)) from None


def with_overrides(config: Config) -> tuple[Config, str | None]:
    """Apply the changes a technician made over the console (kept in the state directory).

    Returns the config and, if the overrides could not be applied, why (the daemon then starts
    with the file's configuration and audits the fault rather than refusing to record).
    """
    path = config.state_dir / OVERRIDES
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return config, None
    except (OSError, ValueError) as e:
        return config, f"{path}: unreadable: {e}"
    if not isinstance(raw, dict):
        return config, f"{path}: not a JSON object"
    try:
        return config.replace(raw), None
    except ConfigError as e:
        return config, f"{path}: {e}"


def settings_from(config: Config) -> DeviceSettings:
    v, sim = config["video"], config["sim"]
    cap = sim["storage_capacity_mib"]
    return DeviceSettings(
        device_id=config["device"]["id"],
        width=v["width"],
        height=v["height"],
        fps=v["fps"],
        bitrate=v["bitrate"],
        keyframe_interval_s=v["keyframe_interval_s"],
        state_dir=config.state_dir,
        evidence_dir=config.evidence_dir,
        pins=dict(config["pins"]),
        speed=sim["speed"],
        clock_never_set=sim["clock_never_set"],
        storage_capacity_bytes=cap * 1024 * 1024 if cap else None,
        gnss=config["gnss"]["enabled"],
        gpsd_host=config["gnss"]["gpsd_host"],
        gpsd_port=config["gnss"]["gpsd_port"],
        audio=config["audio"]["enabled"],
        audio_device=config["audio"]["device"],
        audio_bitrate=config["audio"]["bitrate"],
    )


class Daemon:
    """Runs a Recorder on the devices of the configured backend until told to stop."""

    def __init__(self, config: Config, *, backend: Backend | None = None) -> None:
        self.config = config
        self.backend = backend or self._load_backend()
        self.stopping = threading.Event()
        self.stop_reason = "shutdown"
        self.devices: Devices | None = None
        self.recorder: Recorder | None = None
        self.frames: FrameQueue | None = None
        self.on_ready: Callable[[Daemon], None] | None = None
        self.on_loop: Callable[[Daemon], None] | None = None
        self.control = Control()
        self.console: ConsoleService | None = None
        self.notifier = Notifier()
        self.exit_code = 0

    def _load_backend(self) -> Backend:
        try:
            return load_backend(self.config["device"]["backend"])
        except HalError as e:
            raise StartupError(str(e)) from None

    def stop(self, reason: str = "shutdown") -> None:
        self.stop_reason = reason
        self.stopping.set()

    def restart(self, by: str) -> None:
        """Stop cleanly and exit with EX_RESTART, so systemd starts the firmware again."""
        self.exit_code = EX_RESTART
        self.stop(f"restart by {by}")

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop(signal.Signals(signum).name.lower())

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self, scenario: Path | None = None) -> int:
        cfg = self.config
        for d in (cfg.state_dir, cfg.evidence_dir):
            d.mkdir(parents=True, exist_ok=True)
        recipients = load_recipients(cfg.state_dir)
        try:
            devices = self.backend.create(settings_from(cfg))
        except (HalError, ValueError, OSError) as e:
            msg = str(e)
            prefix = f"backend {self.backend.name!r}"
            raise StartupError(msg if msg.startswith(prefix) else f"{prefix}: {msg}") from None
        self.devices = devices
        try:
            return self._run(devices, recipients, scenario)
        finally:
            devices.close()

    def _run(
        self, devices: Devices, recipients: tuple[X25519PublicKey, ...], scenario: Path | None
    ) -> int:
        cfg, override_problem = with_overrides(self.config)
        fps = cfg["video"]["fps"]
        frames = self.frames = FrameQueue(max(8, round(cfg["recording"]["queue_s"] * fps)))
        if scenario is not None:
            # Before the recorder reads the clock: a scenario may pin the simulated start time.
            self.backend.play(devices, scenario, lambda: self.stop("scenario_finished"))
        rec = self.recorder = Recorder(cfg, devices, recipients)
        rec.open()
        if override_problem:
            log.error("console overrides ignored: %s", override_problem)
            rec.audit("fault", what="console overrides ignored", error=override_problem)
        events: queue.SimpleQueue[InputEvent] = queue.SimpleQueue()
        devices.inputs.subscribe(events.put)
        devices.camera.start(frames)
        fixes: HandOver[Fix] = HandOver(64)
        if devices.gnss is not None:
            devices.gnss.start(fixes)
        sound: HandOver[AudioPacket] = HandOver(max(64, round(cfg["recording"]["queue_s"] * 50)))
        if devices.microphone is not None:
            rec.start_microphone(sound)
        console = self.console = self._start_console(cfg, devices, rec)
        log.info("recording loop running (%s backend)", self.backend.name)
        notifier = self.notifier
        notifier.ready(self._status_line(rec))
        if self.on_ready:
            self.on_ready(self)
        next_status = time.monotonic() + _STATUS_EVERY_S
        try:
            while not self.stopping.is_set():
                frame = frames.get(timeout=_POLL_S)
                while (fix := fixes.get_nowait()) is not None:
                    rec.fix(fix)
                while (packet := sound.get_nowait()) is not None:
                    rec.audio(packet)
                while not events.empty():
                    rec.input(events.get_nowait())
                if frame is not None:
                    rec.frame(frame)
                    notifier.frame()
                else:
                    rec.poll(devices.clock.monotonic())
                self.control.run_pending(rec)
                notifier.tick()
                if time.monotonic() >= next_status:
                    next_status = time.monotonic() + _STATUS_EVERY_S
                    notifier.status(self._status_line(rec))
                if self.on_loop:
                    self.on_loop(self)
        finally:
            notifier.stopping()
            # From here on nobody waits for this thread (recorder/control.py), so stopping the
            # console cannot stall on it; the console_close of every open session is queued and
            # written by control.close, before the audit log closes.
            self.control.stopping()
            if console is not None:
                console.stop()
            devices.camera.stop()
            if devices.gnss is not None:
                devices.gnss.stop()
            if devices.microphone is not None:
                devices.microphone.stop()
            while (fix := fixes.get_nowait()) is not None:
                rec.fix(fix)
            while (packet := sound.get_nowait()) is not None:
                rec.audio(packet)
            # Frames the camera handed over before it stopped belong to the evidence too.
            while (frame := frames.get_nowait()) is not None:
                rec.frame(frame)
            while not events.empty():
                rec.input(events.get_nowait())
            if frames.dropped:
                rec.audit("fault", what="frames dropped", count=frames.dropped)
            if sound.dropped:
                rec.audit("fault", what="audio packets dropped", count=sound.dropped)
            self.control.close(rec)  # what is queued runs now; nothing runs after rec.close
            rec.close(self.stop_reason)
        return self.exit_code

    def _start_console(self, cfg: Config, devices: Devices, rec: Recorder) -> ConsoleService | None:
        """The technician console, on its own threads; a failure to start it never stops
        recording (it is logged and audited)."""
        c = cfg["console"]
        if not c["pty"] and not c["socket"]:
            return None
        access = DeviceAccess(
            self.control,
            state_dir=cfg.state_dir,
            evidence_dir=cfg.evidence_dir,
            clock_now=devices.clock.monotonic,
            reboot=self.restart,
        )
        console = ConsoleService(
            access, pty=c["pty"], socket_path=Path(c["socket"]) if c["socket"] else None
        )
        try:
            paths = console.start()
        except OSError as e:
            log.error("console could not start: %s", e)
            rec.audit("fault", what="console could not start", error=str(e))
            return None
        for path in paths:
            log.info("console on %s", path)
            print(f"console: {path}", flush=True)  # picocom PATH attaches to the camera
        return console

    def _status_line(self, rec: Recorder) -> str:
        m = rec.machine
        dropped = self.frames.dropped if self.frames else 0
        return (
            f"{m.state.value.lower()}; {rec.counters.frames} frames, "
            f"{rec.counters.recordings} recordings, {dropped} dropped"
            + ("; CAMERA STALLED" if rec.camera_stalled else "")
        )
