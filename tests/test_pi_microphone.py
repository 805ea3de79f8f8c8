"""PiMicrophone off a Pi, beyond the contract (tests/test_microphone_contract.py runs that on it):
the formats and channels devices give, devices it refuses, the library's absence or age, the
retry, the device's life across stop, start and close, and timing on a coarse hardware pointer.

Everything runs on tests/fake_alsaaudio.py and a SimClock: no sleeps, no timing assertions.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hal.clock import SystemClock
from hal.errors import DeviceError
from hal.microphone import AudioPacket
from hal.pi.microphone import FORMATS, RETRY_MAX_S, RETRY_S, PiMicrophone, to_mono
from tests.test_microphone_contract import (
    FRAME,
    FRAME_US,
    PI_DEVICE,
    RATE,
    MicSpec,
    Packets,
    PiRig,
    decode,
    steps,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rigs() -> list[PiRig]:
    made: list[PiRig] = []
    yield made
    for rig in made:
        rig.close()


def pi_rig(rigs: list[PiRig], spec: MicSpec | None = None, **card: object) -> PiRig:
    rig = PiRig(spec or MicSpec(), **card)
    rigs.append(rig)
    return rig


def tone_of(frames: list[np.ndarray]) -> tuple[float, float]:
    """(dominant frequency in Hz, RMS) of decoded audio, its first frames (priming) left out."""
    audio = np.concatenate(frames[4:])
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum) * RATE / len(audio)), float(np.sqrt(np.mean(audio**2)))


@pytest.mark.parametrize(
    ("formats", "channels"),
    [
        (("S32_LE",), (2,)),  # an I2S MEMS microphone (24 bits left-justified in 32)
        (("S24_LE",), (2,)),  # 24 bits in the low three bytes, the top one zero
        (("S16_LE",), (1,)),  # a USB microphone
        (("S16_LE", "S24_LE"), (1, 2)),  # one that offers both: S32 is not there, S16 comes
        (("FLOAT_LE",), (2,)),
    ],
)
def test_each_format_and_channel_count_gives_the_left_tone_at_its_level(
    rigs: list[PiRig], formats: tuple[str, ...], channels: tuple[int, ...]
) -> None:
    rig = pi_rig(rigs, formats=formats, channels=channels, tone_hz=1000.0)
    sink = Packets()
    rig.mic.start(sink)
    rig.advance(1.0)
    rig.mic.stop()
    assert rig.mic.fault is None
    frequency, rms = tone_of(decode(rig.mic.format.config, sink.packets))
    # The left channel's 1 kHz at half scale (RMS 0.354), not the right one's 3 kHz at a quarter.
    assert frequency == pytest.approx(1000.0, abs=25.0)
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


@given(
    fmt=st.sampled_from(sorted(FORMATS)),
    channels=st.integers(1, 4),
    data=st.data(),
)
@example(fmt="S24_LE", channels=2, data=None)
def test_samples_are_taken_from_one_channel_at_full_scale(
    fmt: str, channels: int, data: st.DataObject | None
) -> None:
    frames = 8
    dtype, scale = FORMATS[fmt]
    if fmt == "FLOAT_LE":
        values = st.floats(-1.0, 1.0, width=32)
    elif fmt == "S16_LE":
        values = st.integers(-(2**15), 2**15 - 1)
    elif fmt == "S24_LE":
        values = st.integers(-(2**23), 2**23 - 1)
    else:
        values = st.integers(-(2**31), 2**31 - 1)
    if data is None:  # the extremes of 24 bits, with garbage in the ignored top byte
        channel = 0
        samples = np.array([[-(2**23), 2**23 - 1]] * frames, dtype=np.int64)
        top = np.full((frames, channels), 0x5A, dtype=np.int64)
    else:
        channel = data.draw(st.integers(0, channels - 1), label="channel")
        samples = np.array(
            data.draw(st.lists(values, min_size=frames * channels, max_size=frames * channels)),
            dtype=np.float64 if fmt == "FLOAT_LE" else np.int64,
        ).reshape(frames, channels)
        top = np.array(
            data.draw(
                st.lists(
                    st.integers(0, 255), min_size=frames * channels, max_size=frames * channels
                )
            ),
            dtype=np.int64,
        ).reshape(frames, channels)
    if fmt == "S24_LE":  # the device's word: the 24 bits, and whatever it leaves on top
        words = (samples & 0xFFFFFF) | (top << 24)
        raw = words.astype(np.uint32).tobytes()
    else:
        raw = samples.astype(dtype).tobytes()
    got = to_mono(raw, frames, channels, channel, fmt)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, samples[:, channel] / scale, rtol=1e-6, atol=1e-9)
    assert np.all(np.abs(got) <= 1.0)


@pytest.mark.parametrize(
    ("card", "mic", "expect"),
    [
        ({"rates": (44_100,)}, {}, r"gives 44100 Hz, not 48000: use its plughw: name"),
        ({"channels": (1,)}, {"channel": 1}, r"channel 1 asked for, it has 1"),
    ],
)
def test_a_device_it_cannot_take_is_a_fault_naming_it_and_the_way_out(
    rigs: list[PiRig], card: dict[str, object], mic: dict[str, object], expect: str
) -> None:
    rig = pi_rig(rigs, **card)
    rig.mic = PiMicrophone(
        clock=rig.clock, device=PI_DEVICE, alsaaudio_module=rig.alsa.module, **mic
    )  # type: ignore[arg-type]
    sink = Packets()
    rig.mic.start(sink)
    assert isinstance(rig.mic.fault, DeviceError)
    assert str(rig.mic.fault).startswith(f"microphone {PI_DEVICE!r}: ")
    assert re.search(expect, str(rig.mic.fault))
    rig.advance(1.0)
    assert sink.packets == []
    assert all(p.closed for p in rig.alsa.pcms)  # refused, and let go


def test_without_pyalsaaudio_the_microphone_is_faulted_and_nothing_raises(
    rigs: list[PiRig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "alsaaudio", None)  # as where it is not installed
    rig = pi_rig(rigs)
    rig.mic = PiMicrophone(clock=rig.clock, device=PI_DEVICE)
    rig.mic.start(Packets())
    message = str(rig.mic.fault)
    assert message.startswith("backend 'pi': cannot import alsaaudio (pyalsaaudio 0.11 or newer")
    assert "ModuleNotFoundError" in message and rig.mic.is_running
    rig.mic.stop()


def test_a_pyalsaaudio_older_than_0_11_is_named_as_too_old(rigs: list[PiRig]) -> None:
    rig = pi_rig(rigs)
    old = types.ModuleType("alsaaudio")
    old.PCM = type("PCM", (), {"read": lambda self: (0, b"")})  # type: ignore[attr-defined]
    old.__version__ = "0.8.4"  # type: ignore[attr-defined]
    rig.mic = PiMicrophone(clock=rig.clock, device=PI_DEVICE, alsaaudio_module=old)
    rig.mic.start(Packets())
    assert "alsaaudio 0.8.4 is too old (its PCM has no avail()): pyalsaaudio 0.11" in str(
        rig.mic.fault
    )
    rig.mic.stop()


def test_a_missing_device_is_tried_ever_less_often_and_logged_once(
    rigs: list[PiRig], caplog: pytest.LogCaptureFixture
) -> None:
    rig = pi_rig(rigs)
    rig.remove()
    caplog.set_level(logging.DEBUG, logger="hal.pi.microphone")
    rig.mic.start(Packets())
    rig.advance(100.0)
    # At the start, then RETRY_S later, the interval doubling up to RETRY_MAX_S.
    assert RETRY_S == 3.0 and RETRY_MAX_S == 30.0
    assert rig.card.attempts == [0.0, 3.0, 9.0, 21.0, 45.0, 75.0]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        f"microphone {PI_DEVICE!r}: cannot open it: No such device [{PI_DEVICE}]; "
        "trying again in 3 s"
    ]
    rig.mic.stop()
    rig.advance(100.0)
    assert len(rig.card.attempts) == 6  # a stopped microphone tries nothing
    rig.restore()
    rig.mic.start(Packets())  # a start tries at once, and opens
    assert rig.card.attempts[-1] == 200.0 and rig.mic.fault is None
    rig.mic.stop()


def test_a_device_lost_and_gone_a_while_is_tried_again_soon_after_a_start(
    rigs: list[PiRig],
) -> None:
    rig = pi_rig(rigs)
    rig.mic.start(Packets())
    rig.advance(1.0)
    rig.remove()
    rig.advance(200.0)
    rig.mic.stop()
    rig.mic.start(Packets())
    tried = len(rig.card.attempts)
    rig.restore()
    rig.advance(RETRY_S)
    assert len(rig.card.attempts) == tried + 1 and rig.mic.fault is None
    rig.mic.stop()


def test_stop_keeps_the_device_open_and_running_and_a_start_opens_nothing(
    rigs: list[PiRig],
) -> None:
    rig = pi_rig(rigs)
    first, second = Packets(), Packets()
    rig.mic.start(first)
    rig.advance(1.0)
    rig.mic.stop()
    rig.advance(1.0)
    rig.mic.start(second)
    rig.advance(1.0)
    rig.mic.stop()
    assert rig.card.opens == 1
    assert second.stamps[0] > first.stamps[-1] + 0.9e6  # a new stream, a second later
    # The device's clock ran on through the stop: the second stream is stamped where its
    # samples were taken, one capture from the first open.
    samples_in = (second.stamps[1] - rig.captured_us(0)) * RATE / 1e6
    assert samples_in == pytest.approx(2 * RATE, abs=3 * FRAME)


def test_close_during_a_read_lets_the_device_go_when_the_read_returns(
    rigs: list[PiRig],
) -> None:
    rig = pi_rig(rigs)
    rig.mic.start(Packets())
    rig.advance(0.5)
    (pcm,) = rig.alsa.pcms
    rig.mic.close()  # the capture thread waits in a read: it lets go when that returns
    assert not pcm.closed
    rig.alsa.advance(FRAME / RATE)
    assert pcm.closed
    other = PiMicrophone(clock=rig.clock, device=PI_DEVICE, alsaaudio_module=rig.alsa.module)
    other.start(Packets())
    assert other.fault is None  # the device is free again
    other.close()


def test_a_device_another_program_holds_is_a_fault_until_it_lets_go(rigs: list[PiRig]) -> None:
    rig = pi_rig(rigs)
    holder = rig.alsa.module.PCM(type=rig.alsa.module.PCM_CAPTURE, device=PI_DEVICE)
    sink = Packets()
    rig.mic.start(sink)
    assert "Device or resource busy" in str(rig.mic.fault)
    holder.close()
    rig.advance(RETRY_S + 1.0)
    assert rig.mic.fault is None and len(sink.packets) > 10
    rig.mic.stop()


def test_timestamps_hold_on_a_driver_whose_pointer_moves_a_period_at_a_time(
    rigs: list[PiRig],
) -> None:
    """A DMA driver that updates its pointer only at period interrupts: ``avail()`` after a
    read says 0 however late the read came, so only the earliest reads show the truth."""
    rig = pi_rig(rigs, MicSpec(skew_ppm=-80.0), pointer_step=1024, jitter_s=0.006)
    sink = Packets()
    rig.mic.start(sink)
    rig.advance(20.0)
    rig.mic.stop()
    errors = [
        p.timestamp_us - rig.captured_us((i - 1) * FRAME)
        for i, p in enumerate(sink.packets)
        if i >= 1 and i * FRAME_US >= 2e6
    ]
    assert max(abs(e) for e in errors) <= 2000, max(errors, key=abs)


def test_an_overrun_is_logged_and_counted_once(
    rigs: list[PiRig], caplog: pytest.LogCaptureFixture
) -> None:
    rig = pi_rig(rigs)
    rig.mic.start(Packets())
    rig.advance(1.0)
    rig.overrun()
    rig.advance(1.0)
    rig.mic.stop()
    assert rig.mic.overruns == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"microphone {PI_DEVICE!r}: overrun (samples lost)"
    ]


def test_alsaaudio_is_imported_by_hal_pi_microphone_alone_and_only_when_opening() -> None:
    mentions = [
        path.relative_to(ROOT).as_posix()
        for folder in ("hal", "recorder", "sim")
        for path in (ROOT / folder).rglob("*.py")
        if '"alsaaudio"' in path.read_text() or "import alsaaudio" in path.read_text()
    ]
    assert mentions == ["hal/pi/microphone.py"]
    code = "import sys, hal.pi.backend, hal.pi.microphone; print('alsaaudio' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


class WaitingSink(Packets):
    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()

    def put_nowait(self, packet: AudioPacket) -> bool:
        with self._cond:
            self._cond.notify_all()
            return super().put_nowait(packet)

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.packets) >= count, timeout), count


def test_the_real_pyalsaaudio_on_alsas_null_device() -> None:
    """Where pyalsaaudio is installed (a Pi, or a PC with libasound2-dev), the real library:
    the parameters, ``info()``'s keys, ``read()`` and ``avail()`` as the fake has them. ALSA's
    ``null`` device gives whatever its buffer holds, as fast as it is read, so nothing waits on
    real time."""
    clock = SystemClock()
    mic = PiMicrophone(clock=clock, device="null")
    sink = WaitingSink()
    try:
        mic.start(sink)
        sink.wait_for(10)
        mic.stop()
        assert mic.fault is None and mic.overruns == 0
        assert all(step > 0 for step in steps(sink.stamps))
        assert len(decode(mic.format.config, sink.packets[:10])) == 10
        missing = PiMicrophone(clock=clock, device="hw:CARD=NoSuchCard,DEV=0")
        missing.start(Packets())
        assert "No such device [hw:CARD=NoSuchCard,DEV=0]" in str(missing.fault)
        missing.close()
    finally:
        mic.close()
        clock.close()
