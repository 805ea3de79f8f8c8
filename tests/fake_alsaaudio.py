"""A stand-in for pyalsaaudio's ``alsaaudio`` (0.11) on a virtual clock, to run hal.pi off a Pi.

``FakeAlsa(clock)`` is one machine's capture devices on a :class:`sim.clock.SimClock`;
``FakeAlsa.module`` is what ``import alsaaudio`` would give, and :meth:`FakeAlsa.add` plugs in a
device (a :class:`Card`) under an ALSA PCM name. Written from pyalsaaudio's documentation
(doc/libalsaaudio.rst) and its 0.11 source, where the documentation is silent:

- ``PCM(type=, mode=, rate=, channels=, format=, periodsize=, periods=, device=)`` opens a
  device by name and never refuses a parameter: as ``snd_pcm_hw_params_set_*_near`` does, it
  takes the nearest the device has, and ``info()`` tells what it took (``format``,
  ``format_name``, ``channels``, ``rate``, ``period_size``, ``periods``, ``buffer_size``,
  ``state``...). A device that is not there, or that another PCM holds, is ``ALSAAudioError``
  with ALSA's message and the name in brackets (``"No such device [hw:1]"``).
- ``read()`` (PCM_NORMAL) starts a prepared stream, blocks until a whole period is in the
  buffer and returns ``(frames, bytes)``, interleaved in the PCM's format. A buffer that
  overflowed before the read came (an overrun) gives ``(-EPIPE, b"")``, and the PCM is prepared
  again, as 0.11 does: the next read starts a new capture. After ``drop()`` (state SETUP) a
  read prepares and starts it. A device unplugged under a read makes it raise ``ALSAAudioError``
  ("No such device", ALSA's ENODEV), at once.
- ``avail()`` is what the hardware pointer shows captured and not yet read; a negative errno
  (-EPIPE after an overrun, -ENODEV when unplugged), as 0.11 returns it, never raised.

Time is the clock's: a device captures at its rate times ``1 + skew_ppm / 1e6`` from the moment
a read starts it, and its hardware pointer moves in steps of ``pointer_step`` frames (a USB
microphone's is 1 ms, a period-interrupt driver's a whole period). A read that had to wait
returns late by a random ``0..jitter_s`` (seeded), as a thread woken by the scheduler does; a
:meth:`Card.stall` holds the reader up once (an overrun on cue). :meth:`FakeAlsa.advance` moves
the clock in steps from one wake-up (or timer) to the next and returns only when every reader is
waiting for data again, so no test sleeps and every run is the same.

Samples: the left channel (channel 0) is a ``tone_hz`` sine at half scale, the right one a tone
three times as high at a quarter of it; the tone is a function of the true time, so it runs on
across restarts, as sound does. S32_LE holds 24 bits left-justified (an I2S MEMS microphone's
data), S24_LE 24 bits in the low three bytes with the top byte zero.

Not simulated: playback, mixers, PCM_NONBLOCK and poll descriptors, htimestamp, plug and dsnoop
conversions (a device gives only its own formats, channels and rates), suspend, cards by index.
"""

from __future__ import annotations

import errno
import math
import random
import threading
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.clock import SimClock

__all__ = ["Card", "FakeAlsa"]

SETTLE_TIMEOUT_S = 20.0
"""Real seconds :meth:`FakeAlsa.advance` waits for the readers before it calls it a hang."""

# ALSA's own numbers (alsa/pcm.h), which pyalsaaudio exports as they are.
PCM_PLAYBACK, PCM_CAPTURE = 0, 1
PCM_NORMAL, PCM_NONBLOCK, PCM_ASYNC = 0, 1, 2
STATES = ("OPEN", "SETUP", "PREPARED", "RUNNING", "XRUN", "DRAINING", "PAUSED", "SUSPENDED",
          "DISCONNECTED")  # fmt: skip
OPEN, SETUP, PREPARED, RUNNING, XRUN, DRAINING, PAUSED, SUSPENDED, DISCONNECTED = range(9)
FORMATS = {
    "S8": 0, "U8": 1, "S16_LE": 2, "S16_BE": 3, "U16_LE": 4, "U16_BE": 5, "S24_LE": 6,
    "S24_BE": 7, "U24_LE": 8, "U24_BE": 9, "S32_LE": 10, "S32_BE": 11, "U32_LE": 12,
    "U32_BE": 13, "FLOAT_LE": 14, "FLOAT_BE": 15, "FLOAT64_LE": 16, "FLOAT64_BE": 17,
    "MU_LAW": 20, "A_LAW": 21, "IMA_ADPCM": 22, "MPEG": 23, "GSM": 24, "S24_3LE": 32,
    "S24_3BE": 33, "U24_3LE": 34, "U24_3BE": 35,
}  # fmt: skip
FORMAT_NAMES = {number: name for name, number in FORMATS.items()}
# How the fake writes the formats it can produce: (numpy dtype, full scale of its values).
_WRITERS: dict[str, tuple[str, float]] = {
    "S16_LE": ("<i2", 2.0**15),
    "S24_LE": ("<i4", 2.0**23),
    "S32_LE": ("<i4", 2.0**23),  # then shifted left by 8: 24 bits, left-justified
    "FLOAT_LE": ("<f4", 1.0),
}


class ALSAAudioError(Exception):
    """pyalsaaudio's one exception."""


def _error(code: int, device: str) -> ALSAAudioError:
    return ALSAAudioError(f"{_strerror(code)} [{device}]")


def _strerror(code: int) -> str:
    return {errno.ENODEV: "No such device", errno.EBUSY: "Device or resource busy"}.get(
        code, f"error {code}"
    )


@dataclass
class Card:
    """One capture device, as its driver describes it, and the verbs a test drives it with."""

    name: str
    formats: tuple[str, ...] = ("S32_LE",)
    channels: tuple[int, ...] = (2,)
    rates: tuple[int, ...] = (48_000,)
    skew_ppm: float = 0.0
    """How much faster than its nominal rate the device's crystal runs."""
    jitter_s: float = 0.0
    """A read that waited returns late by up to this much (uniform, seeded)."""
    pointer_step: int = 1
    """Frames the hardware pointer moves at a time (48 = a USB microphone's millisecond)."""
    tone_hz: float = 1000.0
    seed: int = 0
    present: bool = True
    frames_read: int = 0
    """Frames every read has returned since the card was made."""
    opens: int = 0
    """Successful opens."""
    attempts: list[float] = field(default_factory=list)
    """When opens were tried, whether the device was there or not (a test can see retries)."""
    _world: FakeAlsa | None = field(default=None, repr=False)
    _stall_s: float = field(default=0.0, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in _WRITERS]
        if unknown:
            raise ValueError(f"the fake writes {', '.join(_WRITERS)}, not {unknown}")
        self._rng.seed(self.seed)

    @property
    def rate_hz(self) -> float:
        """The true rate of the device's clock (nominal 48 kHz x (1 + skew))."""
        return self.rates[0] * (1 + self.skew_ppm * 1e-6)

    def unplug(self) -> None:
        """The device goes away: open PCMs are disconnected, a read waiting raises."""
        with self._w.cond:
            self.present = False
            for pcm in self._w.pcms:
                if pcm.card is self and not pcm.closed:
                    pcm.status = DISCONNECTED
            self._w.cond.notify_all()

    def plug(self) -> None:
        """The device is back (new opens succeed; disconnected PCMs stay so)."""
        with self._w.cond:
            self.present = True
            self._w.cond.notify_all()

    def stall(self, seconds: float) -> None:
        """Hold the reader up once: its next wake-up comes ``seconds`` late (longer than the
        buffer, and it is an overrun)."""
        with self._w.cond:
            for pcm in self._w.pcms:
                if pcm.card is self and pcm.waiting:
                    pcm.wake += seconds
                    return
            self._stall_s += seconds

    def captured_us(self, frame: int) -> float:
        """When frame ``frame`` of the open PCM's current capture was taken, on the clock (us)."""
        with self._w.cond:
            (pcm,) = [p for p in self._w.pcms if p.card is self and not p.closed]
            assert pcm.t0 is not None, "the capture has not started"
            return (pcm.t0 + frame / self.rate_hz) * 1e6

    @property
    def _w(self) -> FakeAlsa:
        assert self._world is not None, "the card is not plugged into a FakeAlsa"
        return self._world


class _Pcm:
    def __init__(
        self,
        world: FakeAlsa,
        type: int = PCM_PLAYBACK,
        mode: int = PCM_NORMAL,
        device: str = "default",
        cardindex: int = -1,
        rate: int = 44100,
        channels: int = 2,
        format: int = FORMATS["S16_LE"],
        periodsize: int = 32,
        periods: int = 4,
    ) -> None:
        if type != PCM_CAPTURE:
            raise NotImplementedError("the fake has capture devices only")
        if mode != PCM_NORMAL:
            raise NotImplementedError("the fake reads in PCM_NORMAL (blocking) mode only")
        self.world = world
        self.device = device
        self.closed = False
        with world.cond:
            card = world.cards.get(device)
            if card is not None:
                card.attempts.append(world.clock.monotonic())
            if card is None or not card.present:
                raise _error(errno.ENODEV, device)
            if any(p.card is card and not p.closed for p in world.pcms):
                raise _error(errno.EBUSY, device)
            self.card = card
            name = FORMAT_NAMES.get(format)
            self.format = FORMATS[name if name in card.formats else card.formats[0]]
            self.channels = min(card.channels, key=lambda c: (abs(c - channels), c))
            self.rate = min(card.rates, key=lambda r: (abs(r - rate), r))
            self.periodsize = min(max(periodsize, 32), 8192)
            self.periods = min(max(periods, 2), 64)
            self.status = PREPARED
            self.t0: float | None = None  # when the current capture started
            self.consumed = 0  # frames read in the current capture
            self.waiting = False  # a reader waits in read() for its period
            self.in_read = False
            self.raised = False  # a read raised on the disconnected device
            self.wake = 0.0
            card.opens += 1
            world.pcms.append(self)
            world.cond.notify_all()

    # -- the documented API -------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        self._check()
        name = FORMAT_NAMES[self.format]
        return {
            "name": self.device,
            "card_no": 0,
            "device_no": 0,
            "subdevice_no": 0,
            "state": STATES[self.status],
            "access_type": "RW_INTERLEAVED",
            " (call value) type": PCM_CAPTURE,
            " (call value) type_name": "CAPTURE",
            " (call value) mode": PCM_NORMAL,
            " (call value) mode_name": "NORMAL",
            "format": self.format,
            "format_name": name,
            "format_description": name,
            "channels": self.channels,
            "rate": self.rate,
            "period_time": round(self.periodsize * 1e6 / self.rate),
            "period_size": self.periodsize,
            "buffer_time": round(self.buffer_size * 1e6 / self.rate),
            "buffer_size": self.buffer_size,
            "periods": self.periods,  # the documentation says get_periods; 0.11 says periods
            "rate_numden": (self.rate, 1),
            "physical_bits": 16 if name == "S16_LE" else 32,
        }

    def state(self) -> int:
        self._check()
        return self.status

    def cardname(self) -> str:
        return self.device

    def read(self) -> tuple[int, bytes]:
        self._check()
        w = self.world
        with w.cond:
            self.in_read = True
            try:
                return self._read()
            finally:
                self.in_read = False
                self.waiting = False
                w.cond.notify_all()

    def avail(self) -> int:
        self._check()
        with self.world.cond:
            if self.status == DISCONNECTED:
                return -errno.ENODEV
            if self.status != RUNNING:
                return 0
            avail = self._visible(self.world.clock.monotonic()) - self.consumed
            return -errno.EPIPE if avail > self.buffer_size else avail

    def drop(self) -> int:
        self._check()
        with self.world.cond:
            if self.status == DISCONNECTED:
                raise _error(errno.ENODEV, self.device)
            self.status = SETUP
            self.world.cond.notify_all()
            return 0

    def close(self) -> None:
        with self.world.cond:
            if not self.closed:
                self.closed = True
                self.world.cond.notify_all()

    # -- the model ----------------------------------------------------------------------------

    @property
    def buffer_size(self) -> int:
        return self.periodsize * self.periods

    def _check(self) -> None:
        if self.closed:
            raise ALSAAudioError("PCM device is closed")

    def _visible(self, t: float) -> int:
        """Frames the hardware pointer shows captured by ``t`` in the current capture."""
        assert self.t0 is not None
        captured = math.floor((t - self.t0) * self.card.rate_hz + 1e-6)
        step = self.card.pointer_step
        return captured // step * step

    def _ready_at(self, frames: int) -> float:
        """When the pointer first shows ``frames`` captured."""
        assert self.t0 is not None
        step = self.card.pointer_step
        return self.t0 + -(-frames // step) * step / self.card.rate_hz

    def _read(self) -> tuple[int, bytes]:
        w, card = self.world, self.card
        if self.status == DISCONNECTED:
            self.raised = True
            raise _error(errno.ENODEV, self.device)
        if self.status == SETUP:
            self.status = PREPARED
        if self.status == PREPARED:
            self.status, self.t0, self.consumed = RUNNING, w.clock.monotonic(), 0
        need = self.consumed + self.periodsize
        ready = self._ready_at(need)
        if w.clock.monotonic() < ready:
            self.wake = ready + card._rng.uniform(0.0, card.jitter_s) + card._stall_s
            card._stall_s = 0.0
            self.waiting = True
            w.cond.notify_all()
            w.cond.wait_for(
                lambda: (
                    self.closed
                    or self.status != RUNNING
                    or w.clock.monotonic() >= self.wake - 1e-12
                )
            )
            self.waiting = False
        if self.closed:
            raise ALSAAudioError("PCM device is closed")
        if self.status == DISCONNECTED:
            self.raised = True
            raise _error(errno.ENODEV, self.device)
        now = w.clock.monotonic()
        if self._visible(now) - self.consumed > self.buffer_size:
            self.status = PREPARED  # 0.11 prepares the PCM again before it returns -EPIPE
            return -errno.EPIPE, b""
        data = self._samples(self.consumed, self.periodsize)
        self.consumed += self.periodsize
        card.frames_read += self.periodsize
        return self.periodsize, data

    def _samples(self, first: int, frames: int) -> bytes:
        assert self.t0 is not None
        t = self.t0 + (first + np.arange(frames)) / self.card.rate_hz
        tone = 2 * np.pi * self.card.tone_hz * t
        columns = [0.5 * np.sin(tone), 0.25 * np.sin(3 * tone)][: self.channels]
        columns += [np.zeros(frames)] * (self.channels - len(columns))
        values = np.stack(columns, axis=1)
        name = FORMAT_NAMES[self.format]
        dtype, scale = _WRITERS[name]
        if name == "FLOAT_LE":
            return values.astype(dtype).tobytes()
        ints = np.round(values * (scale - 1)).astype(np.int64)
        if name == "S32_LE":
            ints = ints << 8
        elif name == "S24_LE":
            ints = ints & 0xFFFFFF  # the low three bytes; the top byte is left zero
        return ints.astype(np.uint32 if name == "S24_LE" else dtype).astype(dtype).tobytes()

    def quiet(self, now: float) -> bool:
        """Nothing will happen on this PCM until the clock moves (or someone calls it)."""
        if self.closed:
            return True
        if self.status == DISCONNECTED:
            return not self.in_read and not self.raised
        if self.status in (RUNNING, PREPARED):
            return self.waiting and now < self.wake - 1e-12
        return not self.in_read


class FakeAlsa:
    """One machine's capture devices on a virtual clock, and the module that reaches them."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.cond = threading.Condition()
        self.cards: dict[str, Card] = {}
        self.pcms: list[_Pcm] = []
        self.module = self._make_module()

    def add(self, name: str, **kw: Any) -> Card:
        """Plug a device in under the PCM name ``name`` (Card's fields as keywords)."""
        card = Card(name, **kw)
        card._world = self
        with self.cond:
            self.cards[name] = card
        return card

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass, each reader woken at its own moment and each
        timer fired at its own; return once every reader waits for data again."""
        target = self.clock.monotonic() + seconds
        while True:
            self.settle()
            now = self.clock.monotonic()
            event = self._next_event()
            if event is None or event > target:
                if now >= target:
                    return
                event = target
            self.clock.advance_to(max(event, now))
            with self.cond:
                self.cond.notify_all()

    def settle(self) -> None:
        """Wait (in real time, bounded) until every PCM is quiet at the present moment."""
        with self.cond:
            if not self.cond.wait_for(self._quiet, SETTLE_TIMEOUT_S):
                busy = [
                    (p.device, STATES[p.status], p.in_read, p.waiting)
                    for p in self.pcms
                    if not p.quiet(self.clock.monotonic())
                ]
                raise AssertionError(f"the ALSA readers did not settle: {busy}")

    def _quiet(self) -> bool:
        now = self.clock.monotonic()
        return all(p.quiet(now) for p in self.pcms)

    def _next_event(self) -> float | None:
        """The earliest moment something happens by itself: a reader's wake-up or a timer."""
        with self.cond:
            events = [p.wake for p in self.pcms if not p.closed and p.waiting]
        timer = self.clock.next_timer()
        return min(events + ([timer] if timer is not None else []), default=None)

    def _make_module(self) -> types.ModuleType:
        world = self
        module = types.ModuleType("alsaaudio")

        class PCM(_Pcm):
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(world, *args, **kw)

        module.PCM = PCM  # type: ignore[attr-defined]
        module.ALSAAudioError = ALSAAudioError  # type: ignore[attr-defined]
        for name, value in (("PCM_PLAYBACK", PCM_PLAYBACK), ("PCM_CAPTURE", PCM_CAPTURE),
                            ("PCM_NORMAL", PCM_NORMAL), ("PCM_NONBLOCK", PCM_NONBLOCK),
                            ("PCM_ASYNC", PCM_ASYNC)):  # fmt: skip
            setattr(module, name, value)
        for name, number in FORMATS.items():
            setattr(module, f"PCM_FORMAT_{name}", number)
        for number, name in enumerate(STATES):
            setattr(module, f"PCM_STATE_{name}", number)
        module.pcms = lambda pcmtype=PCM_PLAYBACK: (  # type: ignore[attr-defined]
            sorted(c.name for c in world.cards.values() if c.present)
            if pcmtype == PCM_CAPTURE
            else []
        )
        module.asoundlib_version = lambda: "1.2.8"  # type: ignore[attr-defined]
        return module
