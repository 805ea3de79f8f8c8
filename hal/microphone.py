"""The Microphone contract: AAC packets, stamped on the video frames' clock, delivered to a sink.

A microphone backend owns its capture and its encoder, as the camera backend owns its H.264
encoder, so the recorder stays codec-agnostic: it receives :class:`AudioPacket` objects (one AAC
access unit each, with the time of its first sample) and the :class:`AudioFormat` that describes
them. Both backends build their packets with one pipeline, :class:`hal.aac.AacCapture`, which
counts samples against the backend's monotonic clock (:mod:`hal.sampleclock`), so the timing is
the same on the simulator and on the Pi.

Mute is the backend's job too: while muted it encodes digital silence, so the track goes on with
no gap that could look like a cut.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

from hal.device import Device
from hal.sampleclock import Timing

__all__ = ["AudioFormat", "AudioPacket", "AudioSink", "Microphone"]


@dataclass(frozen=True, slots=True)
class AudioPacket:
    """One encoded audio access unit.

    ``data`` is one raw AAC-LC access unit (an ISO 14496-3 raw data block, no ADTS header).
    ``timestamp_us`` is the time, on the backend's ``Clock.monotonic()`` (the camera frames'
    clock) in microseconds, of the first sample the packet decodes to; it increases strictly
    from packet to packet. ``samples`` is how many samples it decodes to (1024 for AAC-LC).
    """

    data: bytes
    timestamp_us: int
    samples: int


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """What a muxer needs to know of a microphone's packets."""

    codec: str
    """``aac-lc``."""
    sample_rate: int
    channels: int
    bitrate: int
    """The encoder's target, bit/s."""
    config: bytes
    """The AudioSpecificConfig (MP4's decoder configuration): the encoder's extradata."""


class AudioSink(Protocol):
    """Where a microphone puts its packets: the consumer's bounded queue."""

    def put_nowait(self, packet: AudioPacket) -> bool:
        """Take ``packet``; False means the queue was full and it was dropped. MUST never block."""
        ...


class Microphone(Device[AudioSink]):
    """A microphone that captures and encodes on its own thread while it runs.

    Contract for every backend:

    - Packets reach the sink through :meth:`_deliver`, from the backend's own thread (or the
      thread that advances a simulated clock); the microphone never blocks on the sink.
    - Timestamps are on the clock the camera stamps its frames with, found by counting samples
      (:class:`hal.aac.AacCapture`), never read from the wall clock; they increase strictly.
    - While :attr:`muted`, every sample is encoded as digital silence: the packets go on.
    - Samples lost in the capture (an ALSA overrun) are counted in :attr:`overruns`, and the
      timestamps after them show the gap: they are never closed up.
    - A device that fails (missing, unplugged) records the error with :meth:`_set_fault` and
      delivers nothing until a :meth:`start` after it is mended; it never raises into the
      caller's thread. No packet is delivered after :meth:`stop` returns. :meth:`stop` and
      :meth:`close` are safe to call twice; a closed microphone cannot be started again.

    MUST override: :attr:`format`, :meth:`_start` (begin capturing), :meth:`_stop` (stop
    capturing, deliver the encoder's last packets, and return once no more can reach the sink)
    and :attr:`timing`.
    MAY override: :meth:`_close` (release the device; called once, after :meth:`_stop`).
    """

    _kind = "microphone"

    def __init__(self) -> None:
        super().__init__()
        self._sink: AudioSink | None = None
        self._muted = False
        self._delivered = 0
        self._overruns = 0

    @property
    @abstractmethod
    def format(self) -> AudioFormat:
        """The format of every packet this microphone delivers."""

    @property
    @abstractmethod
    def timing(self) -> Timing | None:
        """Where the sample clock's fit stands (anchor and drift), None before any sample."""

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, on: bool) -> None:
        """Encode digital silence from the next block captured on (``on``), or sound again."""
        self._muted = bool(on)

    @property
    def packets_delivered(self) -> int:
        return self._delivered

    @property
    def overruns(self) -> int:
        """Times samples were lost in the capture since the microphone was made."""
        return self._overruns

    def _started(self, sink: AudioSink) -> None:
        self._sink = sink
        self._start()

    def _stopped(self) -> None:
        self._stop()  # the backend may still deliver the encoder's last packets meanwhile
        self._sink = None

    def _deliver(self, packet: AudioPacket) -> bool:
        """Hand one packet to the sink (backends call this from their thread, and from
        :meth:`_stop` for the encoder's last packets)."""
        with self._state_lock:
            sink = self._sink
            if sink is None:
                return False
            self._delivered += 1
            return sink.put_nowait(packet)

    def _overran(self) -> None:
        """Count one loss of samples (backends call this)."""
        self._overruns += 1

    @abstractmethod
    def _start(self) -> None: ...

    @abstractmethod
    def _stop(self) -> None: ...
