"""The microphone contract, written once and run against every microphone that can be built here.

A maker takes a :class:`MicSpec` and returns a :class:`MicRig`: an unstarted Microphone on a
virtual clock, with the few verbs the checks drive its device with. MIC_MAKERS lists them: the
Pi backend on tests/fake_alsaaudio.py, and the simulator's. Every check runs on virtual time, so
none sleeps, and none measures how long anything took.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import av
import numpy as np
import pytest

from hal.errors import DeviceError
from hal.microphone import AudioPacket, Microphone
from hal.pi.microphone import PERIOD_FRAMES, PERIODS, PiMicrophone
from sim.clock import SimClock
from sim.microphone import SimMicrophone
from tests.fake_alsaaudio import Card, FakeAlsa

RATE = 48_000
FRAME = 1024  # samples per AAC-LC packet
FRAME_US = FRAME * 1e6 / RATE
RECOVER_S = 10.0
"""A device that comes back is in use again within this much virtual time."""
SOUND = 1e-3
"""A backend's device hears something above this (-60 dBFS) when not muted: a quiet room is."""


@dataclass(frozen=True)
class MicSpec:
    bitrate: int = 64_000
    skew_ppm: float = 0.0
    """How much faster than nominal the microphone's crystal runs, in parts per million."""


class MicRig(Protocol):
    """A microphone on a virtual clock and the verbs that drive its device."""

    mic: Microphone

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass; return once every packet due is delivered."""

    def captured_us(self, sample: int) -> float:
        """When sample ``sample`` of the current capture (0: the first the microphone took
        since it started) was captured, on the microphone's clock, in microseconds."""

    def samples_taken(self) -> int:
        """Samples the microphone has taken from its device since the rig was made."""

    def overrun(self) -> None:
        """Make the capture lose samples, as an ALSA overrun does."""

    def remove(self) -> None:
        """The device goes away (missing at the next start, or unplugged while running)."""

    def restore(self) -> None:
        """The device is back."""

    def close(self) -> None:
        """Close the microphone and let whatever it runs on finish."""


# -- the Pi backend on the fake ALSA layer -------------------------------------------------------

PI_DEVICE = "hw:CARD=adau7002,DEV=0"


class PiRig:
    """PiMicrophone on an I2S MEMS microphone as tests/fake_alsaaudio.py models it: S32_LE
    stereo, the hardware pointer in 1 ms steps, reads up to 4 ms late."""

    def __init__(self, spec: MicSpec, **card: object) -> None:
        self.clock = SimClock()
        self.alsa = FakeAlsa(self.clock)
        settings: dict[str, object] = {
            "skew_ppm": spec.skew_ppm,
            "jitter_s": 0.004,
            "pointer_step": 48,
            **card,
        }
        self.card: Card = self.alsa.add(PI_DEVICE, **settings)
        self.mic = PiMicrophone(
            clock=self.clock,
            device=PI_DEVICE,
            bitrate=spec.bitrate,
            alsaaudio_module=self.alsa.module,
        )

    def advance(self, seconds: float) -> None:
        self.alsa.advance(seconds)

    def captured_us(self, sample: int) -> float:
        return self.card.captured_us(sample)

    def samples_taken(self) -> int:
        return self.card.frames_read

    def overrun(self) -> None:
        self.card.stall(2 * PERIODS * PERIOD_FRAMES / RATE)

    def remove(self) -> None:
        self.card.unplug()

    def restore(self) -> None:
        self.card.plug()

    def close(self) -> None:
        self.mic.close()
        self.alsa.advance(0.1)  # a read in progress returns, and the thread closes the device


# -- the simulator's microphone ------------------------------------------------------------------


class SimRig:
    """SimMicrophone on the SimClock's timers: 20 ms periods read up to 4 ms late."""

    def __init__(self, spec: MicSpec) -> None:
        self.clock = SimClock()
        self.mic = SimMicrophone(clock=self.clock, bitrate=spec.bitrate, skew_ppm=spec.skew_ppm)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def captured_us(self, sample: int) -> float:
        return self.mic.captured_at(sample) * 1e6

    def samples_taken(self) -> int:
        return self.mic.samples_taken

    def overrun(self) -> None:
        self.mic.fail("overrun", 0.5)

    def remove(self) -> None:
        self.mic.fail("missing", 1e9)

    def restore(self) -> None:
        self.mic.plug_in()

    def close(self) -> None:
        self.mic.close()


MIC_MAKERS: list[object] = [
    pytest.param(PiRig, id="pi-fake-alsa"),
    pytest.param(SimRig, id="sim"),
]


@pytest.fixture(params=MIC_MAKERS)
def maker(request: pytest.FixtureRequest) -> Iterator[Callable[[MicSpec], MicRig]]:
    made: list[MicRig] = []

    def make(spec: MicSpec = MicSpec()) -> MicRig:
        rig: MicRig = request.param(spec)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.close()


@pytest.fixture
def rig(maker: Callable[[MicSpec], MicRig]) -> MicRig:
    return maker(MicSpec())


class Packets:
    """An AudioSink that keeps everything it is given."""

    def __init__(self) -> None:
        self.packets: list[AudioPacket] = []

    def put_nowait(self, packet: AudioPacket) -> bool:
        self.packets.append(packet)
        return True

    @property
    def stamps(self) -> list[int]:
        return [p.timestamp_us for p in self.packets]


def record(rig: MicRig, seconds: float) -> Packets:
    sink = Packets()
    rig.mic.start(sink)
    rig.advance(seconds)
    rig.mic.stop()
    return sink


def decode(config: bytes, packets: list[AudioPacket]) -> list[np.ndarray]:
    """Each packet decoded alone (one 1024-sample frame each), with ``config`` as extradata."""
    decoder = av.CodecContext.create("aac", "r")
    assert isinstance(decoder, av.AudioCodecContext)
    decoder.extradata = config
    frames = []
    for packet in packets:
        (frame,) = decoder.decode(av.Packet(packet.data))
        assert (frame.sample_rate, frame.layout.nb_channels) == (RATE, 1)
        frames.append(frame.to_ndarray().reshape(-1))
    return frames


def steps(stamps: list[int]) -> list[int]:
    return [b - a for a, b in itertools.pairwise(stamps)]


# -- the checks ---------------------------------------------------------------------------------


def test_the_format_is_aac_lc_48k_mono_and_its_config_is_what_a_decoder_needs(rig: MicRig) -> None:
    fmt = rig.mic.format
    assert (fmt.codec, fmt.sample_rate, fmt.channels, fmt.bitrate) == ("aac-lc", RATE, 1, 64_000)
    # ISO 14496-3 AudioSpecificConfig: object type 2 (AAC LC), frequency index 3 (48 kHz),
    # channel configuration 1 (mono), then 960/1024 (0: 1024), depends-on-core and extension 0.
    bits = int.from_bytes(fmt.config[:2], "big")
    assert (bits >> 11, (bits >> 7) & 0xF, (bits >> 3) & 0xF, bits & 0x7) == (2, 3, 1, 0)
    sink = record(rig, 1.0)
    frames = decode(fmt.config, sink.packets)
    assert all(len(f) == FRAME for f in frames)
    assert all(p.samples == FRAME for p in sink.packets)
    assert np.abs(np.concatenate(frames[2:])).max() > SOUND  # sound, not digital silence


def test_packets_come_one_frame_apart_with_strictly_increasing_timestamps(rig: MicRig) -> None:
    stamps = record(rig, 3.0).stamps
    assert len(stamps) >= 3.0 * RATE / FRAME - 3
    # Slewed by at most 0.5 % of a block towards the fit: never a jump, never backwards.
    assert all(FRAME_US * 0.99 <= step <= FRAME_US * 1.01 for step in steps(stamps))


def test_timestamps_track_the_capture_within_2ms_with_a_50ppm_fast_crystal(
    maker: Callable[[MicSpec], MicRig],
) -> None:
    rig = maker(MicSpec(skew_ppm=50.0))
    sink = Packets()
    rig.mic.start(sink)
    rig.advance(60.0)
    # Packet 0 is the encoder's priming, stamped a frame before sample 0; packet i >= 1 starts
    # at sample (i - 1) * 1024 of the capture.
    errors = [p.timestamp_us - rig.captured_us((i - 1) * FRAME) for i, p in enumerate(sink.packets)]
    late = [e for i, e in enumerate(errors) if i >= 1 and i * FRAME_US >= 2e6]
    timing = rig.mic.timing
    rig.mic.stop()
    assert len(sink.packets) >= 60.0 * RATE / FRAME - 3
    assert max(abs(e) for e in late) <= 2000, max(late, key=abs)
    assert timing is not None and timing.drift_ppm == pytest.approx(50.0, abs=10.0)


def test_mute_encodes_digital_silence_and_the_packets_go_on(rig: MicRig) -> None:
    sink = Packets()
    rig.mic.start(sink)
    rig.advance(1.0)
    muted_at = rig.captured_us(0) + 1e6  # about now: the capture began when the mic started
    rig.mic.set_muted(True)
    assert rig.mic.muted
    rig.advance(2.0)
    rig.mic.set_muted(False)
    rig.advance(1.0)
    rig.mic.stop()
    frames = decode(rig.mic.format.config, sink.packets)
    stamps = sink.stamps
    # The decoder's overlap-add carries a frame of sound into the first muted one, and blocks
    # read after a switch hold samples captured up to a block before it: 100 ms either side.
    quiet = [
        f for f, t in zip(frames, stamps, strict=True) if muted_at + 1e5 <= t <= muted_at + 1.9e6
    ]
    before = [f for f, t in zip(frames, stamps, strict=True) if t <= muted_at - 1e5]
    after = [f for f, t in zip(frames, stamps, strict=True) if t >= muted_at + 2.1e6]
    assert len(quiet) >= 1.8e6 / FRAME_US - 2
    assert all(not f.any() for f in quiet), "muted packets decode to exactly zero"
    assert np.abs(np.concatenate(before[2:])).max() > SOUND
    assert np.abs(np.concatenate(after)).max() > SOUND
    assert all(FRAME_US * 0.99 <= step <= FRAME_US * 1.01 for step in steps(stamps))


def test_no_packet_reaches_a_sink_after_stop_returns(rig: MicRig) -> None:
    old = Packets()
    rig.mic.start(old)
    rig.advance(1.0)
    rig.mic.stop()
    kept = len(old.packets)
    assert kept > 0
    rig.advance(1.0)
    assert len(old.packets) == kept
    new = record(rig, 1.0)
    assert len(old.packets) == kept
    assert new.packets and new.stamps[0] > old.stamps[-1]
    assert all(step > 0 for step in steps(new.stamps))


def test_stop_delivers_every_whole_frame_taken_before_it(rig: MicRig) -> None:
    sink = Packets()
    rig.mic.start(sink)
    rig.advance(1.5)
    taken = rig.samples_taken()
    rig.mic.stop()
    # The priming packet, then one per whole frame: the encoder's held packets are flushed.
    assert len(sink.packets) >= 1 + taken // FRAME


def test_start_twice_is_an_error_and_stop_and_close_twice_are_safe(rig: MicRig) -> None:
    sink = Packets()
    rig.mic.start(sink)
    with pytest.raises(DeviceError, match="already running"):
        rig.mic.start(sink)
    rig.advance(0.5)
    rig.mic.stop()
    rig.mic.stop()
    assert not rig.mic.is_running
    rig.mic.close()
    rig.mic.close()
    with pytest.raises(DeviceError, match="closed"):
        rig.mic.start(sink)


def test_a_missing_device_is_a_fault_not_an_exception_and_a_later_start_recovers(
    rig: MicRig,
) -> None:
    rig.remove()
    sink = Packets()
    rig.mic.start(sink)  # never raises: video must go on
    assert isinstance(rig.mic.fault, DeviceError)
    rig.advance(1.0)
    assert sink.packets == [] and rig.mic.fault is not None
    rig.mic.stop()
    rig.restore()
    later = record(rig, 1.0)
    assert rig.mic.fault is None
    assert len(later.packets) >= 1.0 * RATE / FRAME - 3


def test_a_device_lost_while_running_is_a_fault_and_capture_resumes_when_it_is_back(
    rig: MicRig,
) -> None:
    sink = Packets()
    rig.mic.start(sink)
    rig.advance(1.0)
    rig.remove()
    rig.advance(1.0)
    assert isinstance(rig.mic.fault, DeviceError)
    lost = len(sink.packets)
    rig.advance(2.0)
    assert len(sink.packets) == lost
    rig.restore()
    rig.advance(RECOVER_S)
    assert rig.mic.fault is None
    assert rig.mic.is_running
    assert len(sink.packets) > lost + 10
    gaps = steps(sink.stamps)
    assert all(step > 0 for step in gaps)
    assert max(gaps) >= 2e6  # the time without a device shows as a gap
    rig.mic.stop()


def test_an_overrun_is_counted_and_shows_as_a_gap_in_increasing_timestamps(rig: MicRig) -> None:
    sink = Packets()
    rig.mic.start(sink)
    rig.advance(2.0)
    before = len(sink.packets)
    rig.overrun()
    rig.advance(2.0)
    rig.mic.stop()
    assert rig.mic.overruns == 1
    assert rig.mic.fault is None
    gaps = steps(sink.stamps)
    assert all(step > 0 for step in gaps)
    big = [i for i, step in enumerate(gaps) if step > FRAME_US * 1.5]
    assert len(big) == 1 and big[0] >= before - 3, gaps[big[0]] if big else None
    assert gaps[big[0]] >= FRAME_US + 50_000  # samples lost, not closed up
    assert len(sink.packets) - big[0] >= 1.5 * RATE / FRAME  # and capture went on


def test_the_base_class_lets_stop_flush_and_delivers_nothing_after() -> None:
    """Microphone._stopped keeps the sink for what _stop flushes, and only for that."""

    class Flushing(Microphone):
        format = None  # type: ignore[assignment]
        timing = None  # type: ignore[assignment]

        def _start(self) -> None:
            return None

        def _stop(self) -> None:
            self._deliver(AudioPacket(b"last", 1, FRAME))

    mic = Flushing()
    sink = Packets()
    mic.start(sink)
    assert mic._deliver(AudioPacket(b"one", 0, FRAME))
    mic.stop()
    assert not mic._deliver(AudioPacket(b"late", 2, FRAME))
    assert [p.data for p in sink.packets] == [b"one", b"last"]
    assert mic.packets_delivered == 2
