"""The recorder: the one owner of the ring buffer, the state machine, the writer and the audit log.

It is driven by one thread (see ``daemon``): frames, input events and clock ticks come in through
:meth:`Recorder.frame`, :meth:`Recorder.input` and :meth:`Recorder.poll`; everything it does to the
disk and to the indicators happens on that thread. Input events are applied in time order with
the frames: an event waits until the frames before it have been placed, so the seam between the
pre-event buffer and the live recording has no gap and no duplicate.

A fault in the indicators is logged and recording carries on. A failed evidence write closes
the segment as cleanly as the storage allows, stops, raises the alarm and is audited.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

import recorder
from hal.backend import Devices
from hal.camera import EncodedFrame
from hal.gnss import Fix
from hal.inputs import InputEvent
from hal.microphone import AudioPacket, AudioSink
from recorder.config import Config
from recorder.custody import Custody
from recorder.evidence.audit import AuditLog
from recorder.evidence.errors import StateError
from recorder.evidence.header import Kind, Link, LinkState, Suite
from recorder.evidence.media import STREAM_AUDIO, STREAM_SENSOR, Frame
from recorder.evidence.note import Verifier
from recorder.evidence.sensor import fix_sample
from recorder.evidence.state import EvidenceStream, write_json_atomic
from recorder.evidence.tlog import DeviceLog
from recorder.recording import RecordingWriter, WriteFailed
from recorder.ringbuffer import RingBuffer
from recorder.statemachine import (
    Action,
    Feedback,
    Marker,
    Mute,
    PostRecord,
    Refused,
    Remind,
    Rollover,
    Rules,
    Start,
    StateMachine,
    Stealth,
    Stop,
)

__all__ = ["OVERRIDES", "Recorder"]

OVERRIDES = "config-overrides.json"
"""Configuration changed over the console, kept in the state directory across restarts."""

log = logging.getLogger("bodycam.recorder")

_CHECK_EVERY_S = 10.0
_STALL_S = 2.0
"""No frame for this long (device time) is a camera stall: audited and shown."""
_CLOCK_JUMP_S = 1.0
"""A wall-clock step this large that the console did not make (NTP, RTC) is audited."""
_SUITES = {"aes-256-gcm": Suite.AES_256_GCM, "chacha20-poly1305": Suite.CHACHA20_POLY1305}


def _rules(config: Config) -> Rules:
    rec = config["recording"]
    keys = (
        "stop_hold_s",
        "post_event_s",
        "reminder_s",
        "max_recording_s",
        "holster_trigger",
        "external_trigger",
    )
    return Rules(**{k: rec[k] for k in keys})


@dataclass
class Counters:
    frames: int = 0
    audio_packets: int = 0
    recordings: int = 0
    segments: int = 0
    write_failures: int = 0
    faults: list[str] = field(default_factory=list)


class Recorder:
    def __init__(
        self,
        config: Config,
        devices: Devices,
        recipients: tuple[X25519PublicKey, ...],
    ) -> None:
        self.config = config
        self.devices = devices
        rec = config["recording"]
        self.machine = StateMachine(_rules(config))
        self.ring = RingBuffer(rec["pre_event_s"], rec["pre_event_max_mib"] * 1024 * 1024)
        keystore = devices.keystore
        device_pub = Ed25519PublicKey.from_public_bytes(keystore.public_key_bytes)
        evidence, state = config.evidence_dir, config.state_dir
        self.log: DeviceLog | None = None
        self._log_problem = ""
        try:
            self.log = DeviceLog(state, device_pub, keystore.sign, self._link_before)
        except StateError as e:  # recording goes on; the fault is audited at open()
            self._log_problem = str(e)
        self.media = EvidenceStream(
            evidence,
            state,
            Kind.MEDIA,
            keystore,
            device_pub,
            recipients=recipients,
            suite=_SUITES[rec["suite"]],
            guard=self._guard,
            on_finished=self._finished,
        )
        audit_stream = EvidenceStream(
            evidence,
            state,
            Kind.AUDIT,
            keystore,
            device_pub,
            on_finished=self._finished,
            mark_headers=True,  # once a boot: a deleted audit log can never pass as never written
        )
        self.boot_id = secrets.token_hex(8)
        self.audit_log = AuditLog(audit_stream, {**self._base_meta(), "boot_id": self.boot_id})
        self.writer: RecordingWriter | None = None
        self.counters = Counters()
        self._events: deque[InputEvent] = deque()
        self._fixes: deque[Fix] = deque()
        self._fix_second: int | None = None
        """The device second (monotonic) of the last fix sampled: at most one a second."""
        self.fix_samples = 0
        self._next_check = 0.0
        self._warned: set[str] = set()
        self._reserve = config["storage"]["reserve_mib"] * 1024 * 1024
        self._rollover_due = False
        self._resume: dict[str, Any] = {}
        """What a ``resume`` start names: the recording the power cut and its torn segment."""
        self._last_frame = devices.clock.monotonic()
        self._stalled = False
        self._overruns = 0
        """The microphone's overruns audited so far."""
        self._wall_offset = devices.clock.wall() - devices.clock.monotonic()
        o = config["offload"]
        self.custody = Custody(
            state,
            evidence,
            device_pub,
            Verifier.parse(o["witness_vkey"]) if o["witness_vkey"] else None,
            free_space=o["free_space"],
            bucket=o["bucket"],
            part_size=o["part_mib"] * 1024 * 1024,
            log_=lambda: self.log,
            wall=devices.clock.wall,
        )

    # --- what the daemon calls ---------------------------------------------------------------

    def open(self) -> None:
        """Recover from a crash if there was one, log the boot, and record again at once if
        the power went while recording (``recording.resume_after_power_loss``)."""
        notes = [(s.kind, s.recover()) for s in (self.media, self.audit_log.stream)]
        if self.log is not None:
            for stream in (self.media, self.audit_log.stream):  # a cut before it was logged
                self._log_finished(self.log.catch_up, stream.kind, stream.last)
        self.audit(
            "boot",
            firmware=recorder.__version__,
            config=self.config.source,
            checkpoint=self._checkpoint(),
        )
        for (kind, link), stream in zip(notes, (self.media, self.audit_log.stream), strict=True):
            if link is not None:
                self.audit(
                    "recovered",
                    stream=kind.name.lower(),
                    seq=link.seq,
                    records=link.records,
                    closed=link.state.name == "CLOSED",
                )
            if stream.recover_error:  # the card would not read it: noted as holding nothing
                self.audit("fault", what="recovery could not read", error=stream.recover_error)
                self._fault(f"recovery could not read {stream.recover_error}")
        self._poll_custody()
        if self._log_problem:
            self.audit("fault", what="the camera's log is unreadable", error=self._log_problem)
            self._fault(f"no checkpoints until the log is mended: {self._log_problem}")
            self._indicate("led", "warning", True)
        self._indicate("led", "status", True)
        media = notes[0][1]
        if media is not None and media.state is LinkState.TORN:
            cut = self.media.recovered_meta or {}
            if self.config["recording"]["resume_after_power_loss"]:
                self._resume = {"resumes": cut.get("recording_id"), "after_seq": media.seq}
                self._do(self.machine.resume(self.devices.clock.monotonic()))

    def input(self, event: InputEvent) -> None:
        """Queue an input event; it is applied once the frames before it are placed."""
        self._events.append(event)

    def fix(self, fix: Fix) -> None:
        """Queue a GNSS fix; it is sampled once the frames before it are placed."""
        self._fixes.append(fix)

    def start_microphone(self, sink: AudioSink) -> None:
        """Start the microphone; a failure is a fault that never stops the pictures."""
        mic = self.devices.microphone
        if mic is None:
            return
        try:
            mic.start(sink)
        except Exception as e:
            self.audit("fault", what="microphone", error=f"could not start: {e}")
            self._microphone_fault(f"could not start: {e}")

    def audio(self, packet: AudioPacket) -> None:
        """Place an audio packet: in the buffer when the policy keeps pre-event audio, and in
        the recording (from its trigger on, unless the policy keeps pre-event audio)."""
        self.counters.audio_packets += 1
        frame = Frame(STREAM_AUDIO, packet.timestamp_us, False, packet.data)
        if self.config["recording"]["pre_event_audio"]:
            self.ring.push_sample(frame)
        w = self.writer
        if w is not None and packet.timestamp_us >= w.audio_from_us:
            w.sample(frame)

    def frame(self, frame: EncodedFrame) -> None:
        t = frame.timestamp_us / 1e6
        self._apply_fixes(until=t)
        self._apply_events(until=t)
        self.counters.frames += 1
        self._last_frame = t
        if self._stalled:
            self._stalled = False
            self.audit("fault", what="camera resumed")
        if self._rollover_due and frame.keyframe:
            self._rollover_due = False
            self._stop(Stop(t, "rollover"))
            self._start(Start(t, "rollover"), pre_roll=False)
        if self.writer is not None:
            try:
                self.writer.add(frame)
            except WriteFailed as e:
                self._write_failed(e, t)
        self.ring.push(frame)  # always: the buffer holds the last seconds, recording or not
        self._do(self.machine.tick(t))
        if t >= self._next_check:
            self._check_health(t)
        self._check_microphone()

    def poll(self, now: float) -> None:
        """Time passed with no frame (a stalled camera): apply due events, flush a due record."""
        self._apply_fixes(until=now)
        self._apply_events(until=now)
        self._do(self.machine.tick(now))
        if self.writer is not None:
            try:
                self.writer.flush_due(round(now * 1e6))
            except WriteFailed as e:
                self._write_failed(e, now)
        if now >= self._next_check:
            self._check_health(now)
        self._check_microphone()
        if not self._stalled and now - self._last_frame > _STALL_S:
            self._stalled = True
            self.audit("fault", what="camera stalled", since_s=round(now - self._last_frame, 3))
            self._fault(f"camera: no frame for {now - self._last_frame:.1f} s")
            self._indicate("led", "warning", True)

    def close(self, reason: str = "shutdown") -> None:
        try:
            self.custody.close(self._audit_durably)
        except Exception as e:  # shutting down goes on, whatever the state directory holds
            self._fault(f"custody: {e!r}")
        now = self.devices.clock.monotonic()
        self._apply_fixes(until=float("inf"))
        self._apply_events(until=float("inf"))
        self._do(self.machine.shutdown(now, reason))
        self.audit("shutdown", reason=reason)
        try:
            self.audit_log.close(wall=self.devices.clock.wall(), reason=reason)
        except OSError as e:
            log.error("audit log could not be closed: %s", e)

    # --- status -------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        d = self.devices
        st = self.machine
        battery = d.battery.state
        return {
            "state": st.state.value,
            "recording_since": st.recording_since,
            "recording_id": self.writer.recording_id if self.writer else None,
            "pre_roll_s": round(self.ring.span_us / 1e6, 2),
            "pre_roll_bytes": self.ring.nbytes,
            "muted": st.muted,
            "stealth": st.stealth,
            "frames": self.counters.frames,
            "recordings": self.counters.recordings,
            "segments": self.counters.segments,
            "battery_percent": round(battery.percent, 1),
            "battery_charging": battery.charging,
            "storage_free_bytes": d.storage.free_bytes(),
            "storage_total_bytes": d.storage.total_bytes(),
            "clock_source": d.clock.source,
            "clock_set": d.clock.is_set,
            "wall": d.clock.wall(),
            "device_id": self.config["device"]["id"],
            "firmware": recorder.__version__,
            "boot_id": self.boot_id,
            "camera_stalled": self._stalled,
            **self._gnss_status(),
            **self._microphone_status(),
            "faults": list(self.counters.faults),
        }

    # --- what the console asks for (always on this thread, through Control) -------------------

    def set_clock(self, epoch: float, source: str, by: str) -> dict[str, Any]:
        """Set the wall clock; audited with the old and new time and who set it."""
        clock = self.devices.clock
        old, old_source = clock.wall(), clock.source
        clock.set_wall(epoch, source)
        self._wall_offset = clock.wall() - clock.monotonic()
        self.audit(
            "clock_set",
            old_wall=old,
            new_wall=clock.wall(),
            old_source=old_source,
            source=source,
            by=by,
        )
        return {"old_wall": old, "new_wall": clock.wall(), "source": clock.source}

    def apply_config(self, changes: dict[str, Any], by: str) -> dict[str, Any]:
        """Change configuration keys while running (the caller checks its whitelist).

        Raises ConfigError, naming the key and what is allowed, and changes nothing then.
        """
        new = self.config.replace(changes)
        old = {k: self.config.get(k) for k in changes}
        self.config = new
        rec = new["recording"]
        self.machine.rules = _rules(new)
        self.ring.resize(rec["pre_event_s"], rec["pre_event_max_mib"] * 1024 * 1024)
        self._reserve = new["storage"]["reserve_mib"] * 1024 * 1024
        path = self.config.state_dir / OVERRIDES
        try:
            saved = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError):
            saved = {}
        write_json_atomic(path, {**saved, **{k: new.get(k) for k in changes}})
        for key in changes:
            self.audit("config_change", key=key, old=old[key], new=new.get(key), by=by)
        return {k: new.get(k) for k in changes}

    @property
    def camera_stalled(self) -> bool:
        return self._stalled

    # --- internals ----------------------------------------------------------------------------

    def _base_meta(self) -> dict[str, Any]:
        dev = self.config["device"]
        return {
            "device_id": dev["id"],
            "officer_id": dev["officer_id"],
            "firmware": recorder.__version__,
        }

    def _segment_meta(self) -> dict[str, Any]:
        """A media header names its boot and where the audit stream stands (spec 4.1), so a
        segment whose audit log is withheld shows it; and the audio's format and timing."""
        meta = {**self._base_meta(), "boot_id": self.boot_id, **self.audit_log.position()}
        mic = self.devices.microphone
        if mic is not None:
            fmt, timing = mic.format, mic.timing
            meta["audio"] = {
                "codec": fmt.codec,
                "rate": fmt.sample_rate,
                "channels": fmt.channels,
                "bitrate": fmt.bitrate,
                "config": fmt.config.hex(),
                "anchor_us": round(timing.anchor_us) if timing else None,
                "drift_ppm": round(timing.drift_ppm, 2) if timing else None,
                "pre_event_audio": self.config["recording"]["pre_event_audio"],
            }
        return meta

    def _media_head(self) -> dict[str, Any] | None:
        """The media stream's head, which every audit event carries (spec section 10): the open
        segment's seq, its durable records and its chain after them; else the last link."""
        f, last = self.media.current, self.media.last
        if f is not None:
            return {"seq": f.seq, "records": f.records, "chain": f.chain.hex()}
        if last.state is LinkState.NONE:
            return None
        return {"seq": last.seq, "records": last.records, "chain": last.chain.hex()}

    def _finished(self, kind: Kind, link: Link) -> None:
        """A file is finished: log it and sign a checkpoint; audit that (media files only: the
        audit log's own close is the last thing written to it, and the next boot's ``boot``
        event carries the checkpoint that close made)."""
        if self.log is None:
            return
        logged = self._log_finished(self.log.add, kind, link)
        if logged and kind is Kind.MEDIA and self.audit_log.is_open:
            self.audit("checkpoint", **(self._checkpoint() or {}))

    def _log_finished(self, add: Callable[[Kind, Link], object], kind: Kind, link: Link) -> bool:
        try:
            add(kind, link)
        except (OSError, StateError, ValueError) as e:
            self._fault(f"the camera's log could not take a file: {e}")
            return False
        return True

    def _link_before(self, kind: Kind, seq: int) -> Link:
        stream = self.media if kind is Kind.MEDIA else self.audit_log.stream
        return stream.link_before(seq)

    def _checkpoint(self) -> dict[str, Any] | None:
        """The latest checkpoint, as the audit log records it: its size and root."""
        if self.log is None or self.log.checkpoint is None:
            return None
        return {"size": self.log.tree.size, "root": self.log.tree.root().hex()}

    def _guard(self, nbytes: int) -> None:
        """Refuse a media write that would eat into the reserve kept for closing files."""
        storage = self.devices.storage
        if storage.free_bytes() - nbytes < self._reserve:
            raise OSError(28, "evidence volume full (reserve reached)")
        storage.guard(nbytes)

    def audit(self, event: str, **fields: Any) -> None:
        try:
            self._audit_durably(event, **fields)
        except OSError as e:
            self._fault(f"audit log write failed: {e}")

    def _audit_durably(self, event: str, **fields: Any) -> None:
        """Audit an event; it is durable when this returns, OSError if it is not."""
        clock = self.devices.clock
        self.audit_log.log(
            event,
            wall=clock.wall(),
            mono_us=round(clock.monotonic() * 1e6),
            media=self._media_head(),
            **fields,
        )

    def _poll_custody(self) -> None:
        """What offload left for the daemon: cosigned checkpoints to audit, segments to free."""
        try:
            self.custody.poll(self._audit_durably)
        except Exception as e:  # recording goes on, whatever the state directory holds
            self._fault(f"custody: {e!r}")

    def _fault(self, what: str) -> None:
        log.error("%s", what)
        self.counters.faults = [*self.counters.faults[-9:], what]

    def _gnss_status(self) -> dict[str, Any]:
        """The receiver's fix (or none) and how old the newest fix is, in device seconds."""
        gnss = self.devices.gnss
        if gnss is None:
            return {"gnss": "no receiver"}
        last = gnss.last_fix
        state = last.mode if gnss.has_fix and last is not None else "no fix"
        out: dict[str, Any] = {
            "gnss": f"fault: {gnss.fault}" if gnss.fault is not None else state,
            "gnss_fix_age_s": None,
        }
        if last is not None:
            out["gnss_fix_age_s"] = round(self.devices.clock.monotonic() - last.received, 1)
            out["gnss_lat"], out["gnss_lon"] = round(last.lat, 6), round(last.lon, 6)
        return out

    def _microphone_status(self) -> dict[str, Any]:
        mic = self.devices.microphone
        if mic is None:
            return {"microphone": "no microphone"}
        timing = mic.timing
        if mic.fault is not None:
            state = f"fault: {mic.fault}"
        elif not mic.is_running:
            state = "stopped"
        else:
            state = "muted" if mic.muted else "active"
        return {
            "microphone": state,
            "audio_packets": self.counters.audio_packets,
            "audio_overruns": mic.overruns,
            "audio_drift_ppm": round(timing.drift_ppm, 1) if timing else None,
        }

    def _check_microphone(self) -> None:
        """Audit a microphone fault (with the alarm), its end, and samples it lost."""
        mic = self.devices.microphone
        if mic is None:
            return
        fault = mic.fault
        if fault is not None and "microphone" not in self._warned:
            self.audit("fault", what="microphone", error=str(fault))
            self._microphone_fault(str(fault))
        elif fault is None and "microphone" in self._warned:
            self._warned.discard("microphone")
            self.audit("fault", what="microphone resumed")
        if mic.overruns != self._overruns:
            lost, self._overruns = mic.overruns - self._overruns, mic.overruns
            self.audit("fault", what="microphone overrun", count=lost)
            self._fault(f"microphone: {lost} overrun(s), samples lost")

    def _microphone_fault(self, what: str) -> None:
        self._warned.add("microphone")
        self._fault(f"microphone: {what}; recording goes on without sound")
        self._indicate("led", "warning", True)
        self._indicate("beep", "alarm")

    def _apply_fixes(self, until: float) -> None:
        while self._fixes and self._fixes[0].received <= until:
            self._place_fix(self._fixes.popleft())

    def _place_fix(self, fix: Fix) -> None:
        """One fix a device second into the ring and the recording; learn the time from it
        if the clock was never set."""
        clock = self.devices.clock
        if not clock.is_set:
            try:
                self.set_clock(fix.time + (clock.monotonic() - fix.received), "gnss", by="gnss")
            except Exception as e:  # no CAP_SYS_TIME, say: recording goes on
                if "gnss_clock" not in self._warned:
                    self._warned.add("gnss_clock")
                    self._fault(f"cannot set the clock from GNSS: {e}")
        second = int(fix.received)
        if second == self._fix_second:
            return
        self._fix_second = second
        sample = Frame(STREAM_SENSOR, round(fix.received * 1e6), False, fix_sample(fix))
        self.fix_samples += 1
        self.ring.push_sample(sample)
        if self.writer is not None:
            self.writer.sample(sample)

    def _apply_events(self, until: float) -> None:
        while self._events and self._events[0].t <= until:
            ev = self._events.popleft()
            self._do(self.machine.handle(ev))

    def _do(self, actions: list[Action]) -> None:
        for a in actions:
            match a:
                case Start():
                    self._start(a, **(self._resume if a.trigger == "resume" else {}))
                case Stop():
                    self._stop(a)
                case PostRecord():
                    self.audit("post_record", recording_id=self._rid(), seconds=a.until - a.t)
                    self._indicate("beep", "short")
                case Rollover():
                    self._rollover(a)
                case Marker():
                    if self.writer is not None:
                        self.writer.mark(round(a.t * 1e6), {"marker": True})
                    self.audit("marker", recording_id=self._rid())
                    self._indicate("haptic", "short")
                case Mute():
                    self._mute(a.on)
                case Stealth():
                    self.audit("stealth_on" if a.on else "stealth_off")
                    self._stealth(a.on)
                case Remind():
                    self._indicate("haptic", "double")
                    self._indicate("beep", "short")
                case Refused():
                    self.audit(
                        "fault", what="recording refused", trigger=a.trigger, reason=a.reason
                    )
                    self._indicate("beep", "alarm")
                case Feedback():
                    self._indicate("haptic", "short")

    def _mute(self, on: bool) -> None:
        """Digital silence from the microphone (the track goes on), the mute LED, the audit."""
        mic = self.devices.microphone
        if mic is not None:
            mic.set_muted(on)
        self.audit("mute" if on else "unmute", recording_id=self._rid())
        self._indicate("led", "mute", on)
        self._indicate("haptic", "short")

    def _rid(self) -> str | None:
        return self.writer.recording_id if self.writer else None

    def _start(self, a: Start, pre_roll: bool = True, **extra: Any) -> None:
        rec = self.config["recording"]
        self.writer = RecordingWriter(
            self.media,
            trigger=a.trigger,
            trigger_us=round(a.t * 1e6),
            record_interval_s=rec["record_interval_s"],
            segment_s=rec["segment_s"],
            meta=self._segment_meta,
            clock=self.devices.clock,
            audit=self.audit,
        )
        self.counters.recordings += 1
        if a.trigger != "rollover" and not rec["pre_event_audio"]:
            self.writer.audio_from_us = round(a.t * 1e6)  # the policy: no sound before it
        pre = self.ring.snapshot() if pre_roll else []
        samples = self.ring.samples() if pre_roll else []
        if not rec["pre_event_audio"]:  # the policy holds even for what the buffer has
            samples = [s for s in samples if s.stream != STREAM_AUDIO]
        failed: WriteFailed | None = None
        try:
            # The seconds before the press first, in one write and one sync; then the audit.
            self.writer.add_pre_roll(pre, samples)
        except WriteFailed as e:
            failed = e
        self.audit(  # logged once the pre-roll is durable: trigger_us says when it came
            "record_start",
            trigger=a.trigger,
            trigger_us=round(a.t * 1e6),
            recording_id=self.writer.recording_id,
            pre_roll_s=round((a.t * 1e6 - pre[0].timestamp_us) / 1e6, 3) if pre else 0.0,
            **extra,
        )
        self._indicate("led", "recording", True)
        self._indicate("haptic", "long")
        self._indicate("beep", "short")
        if failed is not None:
            self._write_failed(failed, a.t)

    def _stop(self, a: Stop) -> None:
        w, self.writer = self.writer, None
        self._rollover_due = False
        if w is not None:
            try:
                w.close(a.reason)
            except WriteFailed as e:
                self._fault(f"closing the recording failed: {e}")
            self.counters.segments += len(w.segments)
            self.audit(
                "record_stop",
                reason=a.reason,
                recording_id=w.recording_id,
                frames=w.frames,
                segments=w.segments,
                undecodable=w.undecodable,
            )
        self._indicate("led", "recording", False)
        if a.reason != "storage_full":
            self._indicate("haptic", "double")
            self._indicate("beep", "double")

    def _rollover(self, a: Rollover) -> None:
        """Max length reached: at the next keyframe, close this recording and go straight on in
        a new one, so that both decode on their own and no frame falls between them."""
        self._rollover_due = self.writer is not None

    def _write_failed(self, e: WriteFailed, t: float) -> None:
        self.counters.write_failures += 1
        self._fault(f"{e.what}: {e}")
        if e.reason == "storage_full":
            self.audit("storage_full", free_bytes=self.devices.storage.free_bytes())
            self._do(self.machine.storage_is_full(t))
        else:
            self.audit("fault", what=e.what, error=str(e.error))
            self._do(self.machine.write_fault(t))
        self.writer = None
        self._indicate("led", "warning", True)
        self._indicate("beep", "alarm")
        self._indicate("haptic", "alarm")

    def _check_health(self, now: float) -> None:
        self._next_check = now + _CHECK_EVERY_S
        d, cfg = self.devices, self.config
        try:
            free, total = d.storage.free_bytes(), d.storage.total_bytes()
            low = total > 0 and free * 100 / total < cfg["storage"]["low_space_percent"]
            if low and "storage_low" not in self._warned:
                self._warned.add("storage_low")
                self.audit("storage_low", free_bytes=free, total_bytes=total)
                self._indicate("led", "warning", True)
            if self.machine.storage_full and free - self._reserve > 64 * 1024 * 1024:
                self.machine.storage_has_room()
            pct = d.battery.percent
            if pct < cfg["battery"]["low_percent"] and "battery_low" not in self._warned:
                self._warned.add("battery_low")
                self.audit("battery_low", percent=round(pct, 1))
                self._indicate("led", "warning", True)
                self._indicate("haptic", "triple")
            offset = d.clock.wall() - d.clock.monotonic()
            if abs(offset - self._wall_offset) > _CLOCK_JUMP_S:
                self.audit(
                    "clock_set",
                    by="external",
                    jump_s=round(offset - self._wall_offset, 3),
                    source=d.clock.source,
                )
                self._wall_offset = offset
            gnss_fault = d.gnss.fault if d.gnss is not None else None
            if gnss_fault is not None and "gnss" not in self._warned:
                self._warned.add("gnss")
                self.audit("fault", what="gnss", error=str(gnss_fault))
                self._fault(f"gnss: {gnss_fault}")
            elif gnss_fault is None and "gnss" in self._warned:
                self._warned.discard("gnss")
                self.audit("fault", what="gnss resumed")
            if d.camera.fault is not None and "camera" not in self._warned:
                self._warned.add("camera")
                self.audit("fault", what="camera", error=str(d.camera.fault))
                self._fault(f"camera: {d.camera.fault}")
        except Exception as e:
            self._fault(f"health check failed: {e!r}")
        self._poll_custody()

    def _indicate(self, kind: str, what: str, on: bool = True) -> None:
        ind = self.devices.indicators
        try:
            if kind == "led":
                ind.set_led(what, on)
            elif kind == "haptic":
                ind.haptic(what)
            else:
                ind.beep(what)
        except Exception as e:
            self._fault(f"indicator {kind} {what}: {e!r}")

    def _stealth(self, on: bool) -> None:
        try:
            self.devices.indicators.stealth = on
        except Exception as e:
            self._fault(f"indicator stealth: {e!r}")
