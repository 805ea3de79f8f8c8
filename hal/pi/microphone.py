"""PiMicrophone: ALSA capture through pyalsaaudio, encoded to AAC-LC stamped on the frames' clock.

The one module that imports ``alsaaudio`` (pyalsaaudio 0.11 or newer), lazily, when the device is
opened: the simulator never needs it, and a Pi without it records video with the microphone
faulted. Why pyalsaaudio and not PyAV's ``alsa`` input: docs/decisions.md, "The Pi microphone".

Pipeline, per start::

    ALSA PCM ─read a period─▶ one channel, float32 ─▶ AacCapture.feed(now, delay) ─▶ _deliver
                 (the capture thread, "microphone-alsa", from read to delivery)

- **Opening**: ``PCM(type=PCM_CAPTURE, mode=PCM_NORMAL, device=..., rate=48000, channels=2,
  format=PCM_FORMAT_S32_LE, periodsize=1024, periods=8)``. pyalsaaudio never refuses a
  parameter: ALSA takes the nearest it can, and ``info()`` says what it took. Accepted: 48 kHz,
  any number of channels (``channel`` is kept: 0, the left slot, where an I2S MEMS microphone
  with SEL to GND talks), S32_LE (an I2S microphone's 24 bits in 32-bit slots), S24_LE (24 bits
  in 4 bytes), S16_LE (a USB microphone) or FLOAT_LE. Anything else is a fault that names the
  device and says to use its ``plughw:`` name, with which ALSA converts.
- **Timing**: after each read, ``delay`` is ``avail()`` (the frames captured after the block,
  still in the buffer) and ``now`` is ``Clock.monotonic()``, the clock the camera's frames are
  stamped on; :class:`hal.aac.AacCapture` turns them into sample-counted timestamps
  (:mod:`hal.sampleclock`). ALSA's own ``htimestamp()`` is not used: its clock is
  CLOCK_MONOTONIC or the wall clock, never the backend's ``Clock``.
- **Overrun**: ``read()`` returns ``-EPIPE`` (pyalsaaudio 0.11 has already prepared the PCM
  again, and the next read restarts it). It is counted (:meth:`Microphone._overran`), the
  stream is ended (:meth:`AacCapture.restart`, its last packets delivered) and the next block
  begins a new one with a new fit, so the timestamps show the gap.
- **Faults**: a device that cannot be opened (missing, busy, no 48 kHz, pyalsaaudio missing)
  or that fails in a read (a USB microphone unplugged: ENODEV) becomes :attr:`fault`, naming the
  device; the capture thread lets it go, and while the microphone runs it is opened again by a
  timer on the clock (an open is short): RETRY_S after the failure, then twice as long after
  each further one up to RETRY_MAX_S (alsa-lib writes a line to stderr, the journal, for every
  failed open, so a camera with no microphone does not fill it). When it opens, the fault is
  cleared and a new stream begins. Video never waits for any of it.
- **Stop**: runs under the state lock, so no block is being fed; the encoder's held packets are
  flushed and delivered before it returns. The capture thread reads on and discards what it
  reads (a block read across a stop or a start belongs to no stream), so the device stays open
  and running and a start opens nothing. **Close**: the device is closed at once if the thread
  is not in a read, else by the thread when that read returns (within a period); close never
  waits on it.
"""

from __future__ import annotations

import errno
import importlib
import logging
import threading
from types import ModuleType
from typing import Any

import numpy as np

from hal.aac import RATE, AacCapture
from hal.clock import Clock
from hal.errors import DeviceError
from hal.microphone import AudioFormat, AudioPacket, Microphone
from hal.sampleclock import Timing

__all__ = [
    "FORMATS",
    "MIN_PYALSAAUDIO",
    "PERIODS",
    "PERIOD_FRAMES",
    "RETRY_MAX_S",
    "RETRY_S",
    "PiMicrophone",
    "import_alsaaudio",
    "to_mono",
]

log = logging.getLogger(__name__)

RETRY_S = 3.0
"""Seconds from a failure to the next attempt to open the device (while the microphone runs)."""
RETRY_MAX_S = 30.0
"""The interval doubles from RETRY_S with each failure in a row, up to this."""
PERIOD_FRAMES = 1024
"""Frames per read: one AAC frame, 21.3 ms."""
PERIODS = 8
"""Periods in ALSA's buffer: 170 ms of slack before the capture thread's lateness is an overrun."""
MIN_PYALSAAUDIO = "0.11"
"""``PCM.avail()`` and an overrun returned as ``-EPIPE`` with the PCM prepared again: 0.11."""

# (numpy dtype, full scale) of the sample formats taken, by their ALSA names.
FORMATS: dict[str, tuple[str, float]] = {
    "S32_LE": ("<i4", 2.0**31),
    "S24_LE": ("<i4", 2.0**23),  # 24 bits in the low three bytes of four; the top one ignored
    "S16_LE": ("<i2", 2.0**15),
    "FLOAT_LE": ("<f4", 1.0),
}


def to_mono(raw: bytes, frames: int, channels: int, channel: int, fmt: str) -> np.ndarray:
    """Channel ``channel`` of ``frames`` interleaved frames in the ALSA format ``fmt`` (one of
    FORMATS), as float32 in -1..1."""
    dtype, scale = FORMATS[fmt]
    column = np.frombuffer(raw, dtype, frames * channels).reshape(frames, channels)[:, channel]
    if fmt == "S24_LE":
        column = (column << 8) >> 8  # sign-extend the low 24 bits
    return (column / scale).astype(np.float32)


def import_alsaaudio(module: ModuleType | None = None) -> ModuleType:
    """pyalsaaudio's module (``module`` when given: tests give a fake), checked to be new
    enough; DeviceError naming it, the version needed and the reason."""
    if module is None:
        try:
            module = importlib.import_module("alsaaudio")
        except Exception as exc:
            raise DeviceError(
                f"backend 'pi': cannot import alsaaudio (pyalsaaudio {MIN_PYALSAAUDIO} or newer; "
                f"docs/install-pi.md, the microphone): {type(exc).__name__}: {exc}"
            ) from exc
    if not hasattr(getattr(module, "PCM", None), "avail"):
        raise DeviceError(
            f"backend 'pi': alsaaudio {getattr(module, '__version__', '(version unknown)')} is "
            f"too old (its PCM has no avail()): pyalsaaudio {MIN_PYALSAAUDIO} or newer is needed, "
            f"from PyPI (Debian 12's python3-alsaaudio is 0.8.4)"
        )
    return module


class _Pcm:
    """One open capture PCM and how to turn its periods into mono float32."""

    def __init__(self, alsa: ModuleType, device: str, channel: int) -> None:
        self.device = device
        try:
            self.pcm: Any = alsa.PCM(
                type=alsa.PCM_CAPTURE,
                mode=alsa.PCM_NORMAL,
                device=device,
                rate=RATE,
                channels=2,
                format=alsa.PCM_FORMAT_S32_LE,
                periodsize=PERIOD_FRAMES,
                periods=PERIODS,
            )
        except alsa.ALSAAudioError as exc:
            raise DeviceError(f"microphone {device!r}: cannot open it: {exc}") from exc
        try:
            info = self.pcm.info()
            fmt, self.channels, rate = info["format"], int(info["channels"]), int(info["rate"])
            names = {getattr(alsa, f"PCM_FORMAT_{name}"): name for name in FORMATS}
            if rate != RATE:
                raise DeviceError(
                    f"microphone {device!r}: it gives {rate} Hz, not {RATE}: use its plughw: "
                    f"name, with which ALSA converts"
                )
            if fmt not in names:
                raise DeviceError(
                    f"microphone {device!r}: it gives samples as {info.get('format_name', fmt)}; "
                    f"taken are {', '.join(FORMATS)}: use its plughw: name, with which ALSA "
                    f"converts"
                )
            if not 0 <= channel < self.channels:
                raise DeviceError(
                    f"microphone {device!r}: channel {channel} asked for, it has "
                    f"{self.channels} (0 is the first)"
                )
        except BaseException:
            self.close()
            raise
        self.channel = channel
        self.format = names[fmt]

    def mono(self, data: bytes, frames: int) -> np.ndarray:
        """The kept channel of ``frames`` frames read, as float32 in -1..1."""
        return to_mono(data, frames, self.channels, self.channel, self.format)

    def close(self) -> None:
        try:
            self.pcm.close()
        except Exception:
            log.debug("microphone %r: closing failed", self.device, exc_info=True)


class PiMicrophone(Microphone):
    """An ALSA capture device (``device``: an ALSA PCM name) on a Raspberry Pi.

    ``alsaaudio_module`` replaces ``import alsaaudio`` (tests pass a fake that follows
    pyalsaaudio's documented API). Making one opens nothing: the device is opened at start, and
    a missing one is a fault then, not an error.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        device: str = "default",
        bitrate: int = 64_000,
        channel: int = 0,
        alsaaudio_module: ModuleType | None = None,
    ) -> None:
        super().__init__()
        self._clock = clock
        self._device = device
        self._bitrate = bitrate
        self._channel = channel
        self._alsa = alsaaudio_module
        self._capture = AacCapture(rate=RATE, bitrate=bitrate)
        self._format = self._capture.format
        self._cond = threading.Condition(self._state_lock)
        self._pcm: _Pcm | None = None
        self._run = 0  # bumped by every start and stop: a block read across one is not fed
        self._reading = False  # the capture thread is in a read: it alone may close the PCM
        self._retry_due = False
        self._retry_gen = 0  # bumped by a start: a retry planned before it is forgotten
        self._failures = 0  # failed opens in a row: the retry interval doubles with each
        self._failed = ""  # the last open failure logged, so a retry repeats it quietly
        self._closing = False
        self._thread: threading.Thread | None = None

    @property
    def device(self) -> str:
        return self._device

    @property
    def format(self) -> AudioFormat:
        return self._format

    @property
    def timing(self) -> Timing | None:
        with self._state_lock:
            return self._capture.timing

    # -- Microphone hooks (under the state lock) ----------------------------------------------

    def _start(self) -> None:
        self._run += 1
        self._capture = AacCapture(rate=RATE, bitrate=self._bitrate)
        if self._pcm is None:
            self._failures, self._retry_due = 0, False  # a start tries at once, and then soon
            self._retry_gen += 1
            self._open()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="microphone-alsa", daemon=True)
            self._thread.start()
        self._cond.notify_all()

    def _stop(self) -> None:
        self._run += 1
        self._hand_over(self._capture.flush())
        self._cond.notify_all()

    def _close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            if self._reading:
                return  # the thread closes the PCM when its read returns
            pcm, self._pcm = self._pcm, None
        if pcm is not None:
            pcm.close()

    # -- opening, on start and on the retry timer ---------------------------------------------

    def _open(self) -> None:
        """Open the device (under the state lock); on failure, the fault and a retry."""
        try:
            try:
                alsa = import_alsaaudio(self._alsa)
                self._pcm = _Pcm(alsa, self._device, self._channel)
            except DeviceError:
                raise
            except Exception as exc:  # whatever else the library raises: a fault all the same
                raise DeviceError(
                    f"microphone {self._device!r}: cannot open it: {type(exc).__name__}: {exc}"
                ) from exc
        except DeviceError as exc:
            self._set_fault(exc)
            interval = self._retry()
            if str(exc) != self._failed:
                self._failed = str(exc)
                log.warning("%s; trying again in %.0f s", exc, interval)
            else:
                log.debug("%s; trying again in %.0f s", exc, interval)
            return
        if self._fault is not None:
            log.info("microphone %r: open again", self._device)
        self._failed = ""
        self._failures = 0
        self._fault = None
        self._cond.notify_all()

    def _retry(self) -> float:
        """Plan the next attempt to open the device (one at a time); return how far off it is."""
        interval: float = min(RETRY_MAX_S, RETRY_S * 2.0 ** min(self._failures, 8))
        if self._retry_due:
            return interval
        self._failures += 1
        gen = self._retry_gen
        try:
            self._clock.call_at(self._clock.monotonic() + interval, lambda: self._on_retry(gen))
        except DeviceError:  # the clock is closed: the device is shutting down
            return interval
        self._retry_due = True
        return interval

    def _on_retry(self, gen: int) -> None:
        """The clock's timer: open the device again if it is still wanted and missing."""
        with self._cond:
            if gen != self._retry_gen:
                return
            self._retry_due = False
            if self._running and not self._closing and self._pcm is None:
                self._open()

    # -- the capture thread -------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                pcm = self._wait_for_work()
                if pcm is None:
                    return
                run = self._run
                self._reading = True
            try:
                frames, data = pcm.pcm.read()
                delay = max(0, int(pcm.pcm.avail())) if frames > 0 else 0
                error: Exception | None = None
            except Exception as exc:  # ALSAAudioError: the device is gone (ENODEV), or broke
                frames, data, delay, error = 0, b"", 0, exc
            now_us = self._clock.monotonic() * 1e6
            with self._cond:
                self._reading = False
                if self._closing:
                    self._pcm = None
                    pcm.close()
                    return
                if error is None and run == self._run and self._running:
                    try:
                        self._take(pcm, frames, data, now_us, delay)
                    except Exception as exc:  # never let the thread die: treat it as a loss
                        log.exception("microphone %r: a block could not be taken", self._device)
                        error = exc
                if error is not None:
                    self._lost(pcm, error)

    def _wait_for_work(self) -> _Pcm | None:
        """Under the lock: the PCM to read once there is one, or None when closing. A stopped
        microphone reads on and discards what it reads, so a start opens nothing."""
        while not self._closing:
            if self._pcm is not None:
                return self._pcm
            self._cond.wait()
        return None

    def _take(self, pcm: _Pcm, frames: int, data: bytes, now_us: float, delay: int) -> None:
        if frames == -errno.EPIPE:
            self._overran()
            log.warning("microphone %r: overrun (samples lost)", self._device)
            self._hand_over(self._capture.restart())
        elif frames > 0:
            mono = pcm.mono(data, frames)
            self._hand_over(self._capture.feed(mono, now_us, delay, self.muted))

    def _lost(self, pcm: _Pcm, error: Exception) -> None:
        """A read failed: the device is gone. Fault, end the stream, plan the retry, and let the
        device go last (whoever watches the device sees everything else done by then)."""
        fault = DeviceError(f"microphone {self._device!r}: lost: {error}")
        self._failed = str(fault)
        self._set_fault(fault)
        if self._pcm is pcm:
            self._pcm = None
        if self._running:
            self._hand_over(self._capture.restart())
            log.warning("%s; trying to open it again in %.0f s", fault, self._retry())
        else:
            log.warning("%s", fault)
        pcm.close()

    def _hand_over(self, packets: list[AudioPacket]) -> None:
        for packet in packets:
            self._deliver(packet)
