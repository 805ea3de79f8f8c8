"""The recording state machine: input events and clock ticks go in, actions come out.

Pure: it takes the time as an argument, does no I/O and holds no reference to a device, so it runs
on a virtual clock in tests. The recorder performs the actions it returns.

::

    BUFFERING ──press / holster draw / external trigger──▶ RECORDING
    RECORDING ──record held for stop_hold_s──▶ POST_RECORD ──post_event_s later──▶ BUFFERING
                                       (or straight to BUFFERING when post_event_s is 0)
    POST_RECORD ──press / draw / trigger──▶ RECORDING (the same recording goes on)
    RECORDING ──max_recording_s──▶ RECORDING (rollover: a new recording, no frame lost)
    any recording state ──storage full / write fault / shutdown──▶ BUFFERING
    (start) ──power was lost while recording──▶ RECORDING (trigger "resume")

Stopping needs a long press, so a bump cannot stop evidence; starting needs only a press.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hal.inputs import InputEvent

__all__ = [
    "Action",
    "Feedback",
    "Marker",
    "Mute",
    "PostRecord",
    "Refused",
    "Remind",
    "Rollover",
    "Rules",
    "Start",
    "State",
    "StateMachine",
    "Stealth",
    "Stop",
]


class State(enum.Enum):
    BUFFERING = "BUFFERING"
    RECORDING = "RECORDING"
    POST_RECORD = "POST_RECORD"


@dataclass(frozen=True)
class Rules:
    stop_hold_s: float = 3.0
    post_event_s: float = 0.0
    reminder_s: float = 120.0
    """0 turns the reminder off."""
    max_recording_s: float = 3600.0
    holster_trigger: bool = True
    external_trigger: bool = True


@dataclass(frozen=True)
class Start:
    t: float
    trigger: str  # button | holster | external | rollover | resume


@dataclass(frozen=True)
class Stop:
    t: float
    reason: str  # button | storage_full | or why the daemon stopped: sigterm, shutdown, ...


@dataclass(frozen=True)
class PostRecord:
    t: float
    until: float


@dataclass(frozen=True)
class Rollover:
    t: float


@dataclass(frozen=True)
class Marker:
    t: float


@dataclass(frozen=True)
class Mute:
    t: float
    on: bool


@dataclass(frozen=True)
class Stealth:
    t: float
    on: bool


@dataclass(frozen=True)
class Remind:
    t: float


@dataclass(frozen=True)
class Refused:
    t: float
    trigger: str
    reason: str


@dataclass(frozen=True)
class Feedback:
    """A press that changes nothing but deserves a haptic answer (e.g. already recording)."""

    t: float
    what: str


Action = (
    Start | Stop | PostRecord | Rollover | Marker | Mute | Stealth | Remind | Refused | Feedback
)

_TRIGGERS = {"record": "button", "holster": "holster", "trigger": "external"}


class StateMachine:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.state = State.BUFFERING
        self.recording_since: float | None = None
        self.muted = False
        self.stealth = False
        self.storage_full = False
        self._held_since: float | None = None
        self._post_until = 0.0
        self._next_reminder = 0.0

    @property
    def is_recording(self) -> bool:
        return self.state is not State.BUFFERING

    def handle(self, event: InputEvent) -> list[Action]:
        """An input edge at ``event.t``; run :meth:`tick` first for anything due before it."""
        out = self.tick(event.t)
        t, name = event.t, event.name
        if name == "record" and not event.pressed:
            self._held_since = None
            return out
        if not event.pressed:
            return out  # holster put back, trigger line released, function button let go
        if name in _TRIGGERS:
            trigger = _TRIGGERS[name]
            enabled = {
                "holster": self.rules.holster_trigger,
                "external": self.rules.external_trigger,
            }.get(trigger, True)
            if not enabled:
                return out
            if self.state is State.RECORDING:
                if name == "record":
                    self._held_since = t  # a long press from here stops
                    out.append(Feedback(t, "recording"))
                return out
            out += self._start(t, trigger)
        elif name == "marker":
            out.append(Marker(t))
        elif name == "mute":
            self.muted = not self.muted
            out.append(Mute(t, self.muted))
        elif name == "stealth":
            self.stealth = not self.stealth
            out.append(Stealth(t, self.stealth))
        return out

    def resume(self, t: float) -> list[Action]:
        """The camera lost power while it was recording and is back: record again at once,
        with its own trigger, ``resume``."""
        return [] if self.is_recording else self._start(t, "resume")

    def _start(self, t: float, trigger: str) -> list[Action]:
        if self.storage_full:
            return [Refused(t, trigger, "storage full")]
        if self.state is State.POST_RECORD:
            self.state = State.RECORDING  # the same recording goes on
            return [Feedback(t, "recording")]
        self.state = State.RECORDING
        self.recording_since = t
        self._next_reminder = t + self.rules.reminder_s
        return [Start(t, trigger)]

    def tick(self, t: float) -> list[Action]:
        """Time has reached ``t``: fire long presses, post-record ends, reminders, rollovers."""
        out: list[Action] = []
        r = self.rules
        if self.state is State.BUFFERING:
            return out
        if self._held_since is not None and t - self._held_since >= r.stop_hold_s:
            self._held_since = None
            if r.post_event_s > 0:
                self.state = State.POST_RECORD
                self._post_until = t + r.post_event_s
                out.append(PostRecord(t, self._post_until))
            else:
                out.append(self._stop(t, "button"))
                return out
        if self.state is State.POST_RECORD and t >= self._post_until:
            out.append(self._stop(t, "button"))
            return out
        assert self.recording_since is not None
        if r.reminder_s > 0 and t >= self._next_reminder:
            self._next_reminder = t + r.reminder_s
            out.append(Remind(t))
        if t - self.recording_since >= r.max_recording_s:
            self.recording_since = t
            out.append(Rollover(t))
        return out

    def _stop(self, t: float, reason: str) -> Stop:
        self.state = State.BUFFERING
        self.recording_since = None
        self._held_since = None
        return Stop(t, reason)

    def storage_is_full(self, t: float) -> list[Action]:
        self.storage_full = True
        return [self._stop(t, "storage_full")] if self.is_recording else []

    def write_fault(self, t: float) -> list[Action]:
        """The evidence could not be written or a segment not opened (EIO, a refused key): the
        recording stops with reason ``fault``; the next trigger tries again."""
        return [self._stop(t, "fault")] if self.is_recording else []

    def storage_has_room(self) -> None:
        self.storage_full = False

    def shutdown(self, t: float, reason: str = "shutdown") -> list[Action]:
        """The daemon is stopping (``reason``: sigterm, sigint, scenario_finished, ...)."""
        return [self._stop(t, reason)] if self.is_recording else []
