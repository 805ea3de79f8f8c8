"""The Pi backend off the Pi: PiCamera driving the real picamera2, and every other device.

The camera contract itself runs on PiCamera in tests/test_camera_contract.py. Here: how PiCamera
drives picamera2 (encoder per platform and per start, configuration, timestamps, watermark,
faults), on the real picamera2 from PyPI over the stand-ins of tests/picamera2_off_pi.py (a
simulated imx219 behind a libcamera stand-in, a memfd dma-heap, the Pi 4's V4L2 encoder). On a
Pi those tests give way to the contract on the real camera. GPIO runs on gpiozero's
MockFactory, the fuel gauge on a fake SMBus with known register values, the clock's provenance
on files in a temporary directory.
"""

from __future__ import annotations

import gc
import importlib.util
import itertools
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory

from hal.backend import DEFAULT_PINS, Devices, DeviceSettings
from hal.errors import BackendError, DeviceError, HalError
from hal.pi.backend import PiBackend
from hal.pi.battery import MAX17048_ADDRESS, Max17048Battery
from hal.pi.clock import PiClock
from hal.pi.gpio import open_gpio, open_pin_factory
from hal.pi.microphone import PiMicrophone
from hal.registry import load_backend
from recorder.evidence.keys import generate
from sim.clock import SimClock
from sim.sink import CollectingSink
from tests import picamera2_off_pi
from tests.fake_alsaaudio import FakeAlsa
from tests.test_camera_contract import SPEC, CameraSpec, make_pi_camera, pi_platform, run

off_pi = pytest.mark.skipif(
    not picamera2_off_pi.STUBBED, reason="a real libcamera imports: the contract runs on it"
)


def sensor() -> Any:
    """The simulated imx219 behind the libcamera stand-in."""
    picamera2_off_pi.require()
    from libcamera import _sensor

    return _sensor.SENSOR


# -- camera: how it drives picamera2 ------------------------------------------------------------


@off_pi
@pytest.mark.parametrize(
    ("platform", "expected"), [("vc4", "H264Encoder"), ("pisp", "LibavH264Encoder")]
)
def test_the_platform_picks_the_encoder_and_every_start_gets_a_new_one(
    platform: str, expected: str
) -> None:
    cam = make_pi_camera(SPEC, platform)
    codecs = len(picamera2_off_pi.CODECS)
    try:
        used = []
        for _ in range(2):
            sink = CollectingSink(capacity=3)
            cam.start(sink)
            (encoder,) = cam._picam2.encoders  # picamera2's set of running encoders
            used.append(encoder)
            sink.wait_for(3)
            cam.stop()
            assert not cam._picam2.encoders
        first, second = used
        assert first is not second
        assert type(first).__name__ == type(second).__name__ == expected
        assert (first.iperiod, first.repeat, first.bitrate) == (SPEC.gop, True, SPEC.bitrate)
        # The Pi 4 path went through the V4L2 codec, once per start; the Pi 5 path never did.
        assert len(picamera2_off_pi.CODECS) - codecs == (2 if platform == "vc4" else 0)
    finally:
        cam.close()
    assert not sensor().acquired


@off_pi
@pytest.mark.parametrize("platform", ["vc4", "pisp"])
def test_frame_rate_and_size_reach_the_camera_and_the_encoder(platform: str) -> None:
    spec = CameraSpec(width=176, height=144, fps=15, keyframe_interval_s=1.0)
    cam = make_pi_camera(spec, platform)
    try:
        sink = CollectingSink(capacity=20)
        cam.start(sink)
        (encoder,) = cam._picam2.encoders
        frames = sink.wait_for(20)
        cam.stop()
        # Left unset, picamera2 tells the encoder 30 fps (its H.264 level follows from it).
        assert encoder.framerate == 15
        config = cam._picam2.camera_configuration()
        assert config["main"]["size"] == (176, 144) and config["main"]["format"] == "YUV420"
        assert config["main"]["stride"] == 192, "the ISP pads rows to 64 bytes"
        # 15 fps became FrameDurationLimits (66666, 66666) at the sensor: its timestamps say so.
        steps = {b.timestamp_us - a.timestamp_us for a, b in itertools.pairwise(frames)}
        assert steps <= {66666, 66667}
        assert [i for i, f in enumerate(frames) if f.keyframe] == [0, 15]
    finally:
        cam.close()


@off_pi
def test_timestamps_sit_on_the_monotonic_clock_and_continue_across_restarts() -> None:
    before = time.monotonic() * 1e6
    cam = make_pi_camera(SPEC, "vc4")
    try:
        first = run(cam, 10)
        assert before <= first[0].timestamp_us <= time.monotonic() * 1e6
        second = run(cam, 10)
        # The simulated sensor runs ahead of real time, so the second run had to be moved on:
        # it starts one frame after the last frame handed over (kept by the sink or not).
        assert second[0].keyframe
        assert second[0].timestamp_us - first[-1].timestamp_us >= 1e6 / SPEC.fps - 1
        steps = [b.timestamp_us - a.timestamp_us for a, b in itertools.pairwise(second)]
        assert set(steps) <= {33333, 33334}
    finally:
        cam.close()


@off_pi
def test_a_sensor_clock_far_from_the_monotonic_clock_is_not_trusted() -> None:
    clock = SimClock()  # virtual time near zero, far from the sensor's monotonic ns
    clock.advance(100.0)
    cam = make_pi_camera(SPEC, "vc4", clock=clock)
    try:
        frames = run(cam, 5)
        assert frames[0].timestamp_us == 100_000_000
        assert frames[4].timestamp_us - frames[0].timestamp_us == pytest.approx(4e6 / 30, abs=4)
    finally:
        cam.close()


@off_pi
@pytest.mark.parametrize("platform", ["vc4", "pisp"])
def test_the_watermark_is_burnt_into_the_luma_plane(platform: str) -> None:
    spec = CameraSpec(width=320, height=240)
    cam = make_pi_camera(spec, platform)
    try:
        frames = run(cam, 1)
    finally:
        cam.close()
    decoder = av.CodecContext.create("h264", "r")
    (picture,) = decoder.decode(av.Packet(frames[0].data))
    y = picture.to_ndarray(format="gray")
    caption, elsewhere = y[:14, :200], y[60:, 100:]
    assert np.percentile(caption, 40) < 40, "the dark box behind the text"
    assert caption.max() > 200, "white text on it"
    assert elsewhere.mean() > 80, "the picture below it is untouched"


@off_pi
def test_outputs_never_raise_into_the_encoder_thread_and_the_fault_is_kept() -> None:
    class Exploding(CollectingSink):
        def put_nowait(self, frame: Any) -> bool:
            raise RuntimeError("sink broke")

    cam = make_pi_camera(SPEC, "vc4")
    try:
        cam.start(Exploding())
        deadline = time.monotonic() + 10
        while cam.fault is None and time.monotonic() < deadline:
            time.sleep(0.01)
        cam.stop()
        assert isinstance(cam.fault, RuntimeError)
        assert cam.frames_delivered > 0
    finally:
        cam.close()


@off_pi
def test_no_camera_and_a_refused_size_are_device_errors() -> None:
    from libcamera import _sensor

    with warnings.catch_warnings():
        # A Picamera2 that fails to open never closes the pipe it made first (picamera2 0.3.38);
        # collected here, so that its ResourceWarning is not blamed on a later test.
        warnings.simplefilter("ignore", ResourceWarning)
        with _sensor.unplugged(), pytest.raises(DeviceError, match=r"camera 0: cannot open it"):
            make_pi_camera(SPEC, "vc4")
        gc.collect()
    opened = sensor().acquisitions
    with pytest.raises(DeviceError, match=r"asked for 161x120, the camera gives 160x120"):
        make_pi_camera(CameraSpec(width=161), "vc4")
    assert sensor().acquisitions == opened + 1 and not sensor().acquired, "opened, then released"


# -- GPIO on gpiozero's MockFactory -----------------------------------------------------------


def test_gpio_inputs_and_indicators_use_the_configured_pins() -> None:
    factory = MockFactory()
    pins = {**DEFAULT_PINS, "record": 4, "led_recording": 7}
    clock = SimClock()
    inputs, indicators = open_gpio(clock=clock, pins=pins, pin_factory=factory)
    try:
        events: list[Any] = []
        inputs.subscribe(events.append)
        factory.pin(4).drive_low()
        factory.pin(4).drive_high()
        assert [(e.name, e.pressed) for e in events] == [("record", True), ("record", False)]
        indicators.set_led("recording", True)
        assert factory.pin(7).state
        indicators.set_led("recording", False)
        assert not factory.pin(7).state
    finally:
        inputs.close()
        indicators.close()


def test_a_pin_already_taken_is_a_device_error() -> None:
    factory = MockFactory()
    squatter = LED(DEFAULT_PINS["record"], pin_factory=factory)
    with pytest.raises(DeviceError, match=r"GPIO inputs: GPIOPinInUse"):
        open_gpio(clock=SimClock(), pins=DEFAULT_PINS, pin_factory=factory)
    squatter.close()


@pytest.mark.skipif(importlib.util.find_spec("lgpio") is not None, reason="lgpio is installed here")
def test_without_lgpio_the_pin_factory_is_a_backend_error_naming_it() -> None:
    with pytest.raises(BackendError, match=r"backend 'pi': cannot import lgpio"):
        open_pin_factory()


# -- the MAX17048 fuel gauge ------------------------------------------------------------------


class FakeSMBus:
    """Registers of one I2C device, big-endian words, read as smbus2 reads an I2C block."""

    def __init__(self, registers: dict[int, int], address: int = MAX17048_ADDRESS) -> None:
        self.registers = registers
        self.address = address
        self.fail: OSError | None = None
        self.closed = False

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        if self.fail is not None:
            raise self.fail
        if i2c_addr != self.address:
            raise OSError(121, "Remote I/O error")
        word = self.registers[register]
        return [word >> 8, word & 0xFF][:length]

    def close(self) -> None:
        self.closed = True


def test_the_fuel_gauge_converts_its_registers_exactly() -> None:
    # VCELL 0xCE40 = 52800 LSB * 78.125 uV = 4.125 V; SOC 0x4B80 = 75.5 %;
    # CRATE 0xFFF6 = -10 LSB * 0.208 %/h = -2.08 %/h: 75.5 / 2.08 h left.
    bus = FakeSMBus({0x02: 0xCE40, 0x04: 0x4B80, 0x16: 0xFFF6})
    state = Max17048Battery(smbus=bus).state
    assert state.voltage == pytest.approx(4.125, abs=1e-12)
    assert state.percent == pytest.approx(75.5, abs=1e-12)
    assert not state.charging
    assert state.minutes_left == pytest.approx(75.5 / 2.08 * 60)


def test_a_positive_charge_rate_means_charging_and_no_time_left_estimate() -> None:
    bus = FakeSMBus({0x02: 0xD700, 0x04: 0x6401, 0x16: 0x0019})  # +25 LSB = +5.2 %/h
    state = Max17048Battery(smbus=bus).state
    assert state.charging and state.minutes_left is None
    assert state.percent == 100.0  # 100 + 1/256 %, clamped by the contract
    assert state.voltage == pytest.approx(0xD700 * 78.125e-6)


def test_a_fuel_gauge_read_error_names_bus_address_and_register() -> None:
    bus = FakeSMBus({0x02: 0, 0x04: 0, 0x16: 0})
    bus.fail = OSError(121, "Remote I/O error")
    battery = Max17048Battery(bus=1, smbus=bus)
    with pytest.raises(DeviceError, match=r"I2C bus 1 address 0x36: reading register 0x02"):
        _ = battery.state
    battery.close()
    assert not bus.closed, "a bus that was passed in belongs to the caller"


# -- the clock's provenance -------------------------------------------------------------------

JAN_2026 = 1_767_225_600.0
JAN_1970 = 86_400.0


def make_clock(tmp_path: Path, *, synced: bool, rtc: float | None, wall: float) -> PiClock:
    flag = tmp_path / "timesync" / "synchronized"
    if synced:
        flag.parent.mkdir(parents=True, exist_ok=True)
        flag.touch()
    rtc_dir = tmp_path / "rtc0"
    if rtc is not None:
        rtc_dir.mkdir(exist_ok=True)
        (rtc_dir / "since_epoch").write_text(f"{int(rtc)}\n")
    return PiClock(timesync_flag=flag, rtc=rtc_dir, wall_time=lambda: wall)


@pytest.mark.parametrize(
    ("synced", "rtc", "wall", "source"),
    [
        (True, None, JAN_2026, "ntp"),
        (True, JAN_1970, JAN_2026, "ntp"),
        (False, JAN_2026, JAN_2026, "rtc"),
        (False, JAN_1970, JAN_2026, "none"),  # a Pi 5 RTC without battery; systemd's floor
        (False, None, JAN_2026, "none"),  # fake-hwclock's guess is not a time source
        (False, JAN_2026, JAN_1970, "none"),
    ],
)
def test_the_clock_source_follows_timesyncd_and_the_rtc(
    tmp_path: Path, synced: bool, rtc: float | None, wall: float, source: str
) -> None:
    clock = make_clock(tmp_path, synced=synced, rtc=rtc, wall=wall)
    assert clock.source == source
    assert clock.is_set == (source != "none")
    assert clock.rtc_present == (rtc is not None)


def test_a_clock_set_by_hand_reports_that_source(tmp_path: Path) -> None:
    clock = make_clock(tmp_path, synced=False, rtc=None, wall=JAN_2026)
    clock._set_source = "manual"  # what set_wall records once CAP_SYS_TIME allowed it
    assert clock.source == "manual" and clock.is_set


# -- the backend ------------------------------------------------------------------------------


def pi_settings(tmp_path: Path) -> DeviceSettings:
    state, evidence = tmp_path / "state", tmp_path / "evidence"
    state.mkdir(mode=0o700)
    evidence.mkdir()
    return DeviceSettings(
        device_id="BC-PI",
        width=160,
        height=120,
        fps=30,
        bitrate=200_000,
        keyframe_interval_s=0.5,
        state_dir=state,
        evidence_dir=evidence,
    )


def test_the_registry_loads_the_pi_backend_without_touching_picamera2() -> None:
    backend = load_backend("pi")
    assert isinstance(backend, PiBackend) and backend.name == "pi"


def test_create_without_picamera2_is_a_backend_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # as if it were not installed
    with pytest.raises(BackendError) as caught:
        PiBackend().create(pi_settings(tmp_path))
    message = str(caught.value)
    assert message.startswith("backend 'pi': cannot import picamera2 (ModuleNotFoundError")
    assert isinstance(caught.value.__cause__, ImportError)


@off_pi
def test_picamera2_without_libcamera_is_a_backend_error_naming_libcamera() -> None:
    # A fresh interpreter, without tests/stubs: picamera2 from PyPI on a machine that is no Pi.
    code = (
        "from hal.errors import BackendError\n"
        "from hal.pi.camera import import_picamera2\n"
        "try:\n    import_picamera2()\nexcept BackendError as e:\n    print(e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
        cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    assert result.stdout.strip() == (
        "backend 'pi': cannot import picamera2 (ModuleNotFoundError: No module named 'libcamera')"
    )


@off_pi
def test_create_builds_every_device_off_the_pi(tmp_path: Path) -> None:
    settings = pi_settings(tmp_path)
    generate("device", settings.state_dir)
    bus = FakeSMBus({0x02: 0xCE40, 0x04: 0x4B80, 0x16: 0xFFF6})
    backend = PiBackend(pin_factory=MockFactory(), smbus=bus)
    with pi_platform("vc4"):
        devices = backend.create(settings)
    try:
        assert isinstance(devices, Devices)
        assert devices.battery.percent == pytest.approx(75.5)
        assert (
            devices.storage.total_bytes()
            == os.statvfs(tmp_path).f_blocks * os.statvfs(tmp_path).f_frsize
        )
        assert len(devices.keystore.sign(b"x")) == 64
        assert run(devices.camera, 3)[0].keyframe
        assert not devices.inputs.is_active("record")
    finally:
        devices.close()
        devices.close()
    assert not sensor().acquired


@off_pi
def test_create_on_an_unprovisioned_device_opens_no_hardware(tmp_path: Path) -> None:
    opened = sensor().acquisitions
    backend = PiBackend(pin_factory=MockFactory(), smbus=FakeSMBus({}))
    with pytest.raises(HalError, match=r"device\.key"):
        backend.create(pi_settings(tmp_path))
    assert sensor().acquisitions == opened


@off_pi
def test_a_device_that_fails_to_open_closes_the_ones_before_it(tmp_path: Path) -> None:
    settings = pi_settings(tmp_path)
    generate("device", settings.state_dir)
    opened = sensor().acquisitions
    factory = MockFactory()
    squatter = LED(settings.pins["led_status"], pin_factory=factory)
    with pytest.raises(DeviceError, match="GPIO"):
        PiBackend(pin_factory=factory, smbus=FakeSMBus({})).create(settings)
    squatter.close()
    assert sensor().acquisitions == opened + 1, "the camera was opened"
    assert not sensor().acquired, "and released again"


@off_pi
def test_create_builds_the_microphone_from_the_audio_settings_and_opens_nothing(
    tmp_path: Path,
) -> None:
    settings = pi_settings(tmp_path)
    settings.audio_device, settings.audio_bitrate = "hw:CARD=adau7002,DEV=0", 96_000
    generate("device", settings.state_dir)
    alsa = FakeAlsa(SimClock())  # no device plugged in: a fault at start, never at create
    backend = PiBackend(
        pin_factory=MockFactory(), smbus=FakeSMBus({}), alsaaudio_module=alsa.module
    )
    with pi_platform("vc4"):
        devices = backend.create(settings)
    try:
        mic = devices.microphone
        assert isinstance(mic, PiMicrophone)
        assert (mic.device, mic.format.bitrate) == ("hw:CARD=adau7002,DEV=0", 96_000)
        assert alsa.pcms == [] and mic.fault is None
        mic.start(CollectingSink())
        assert "No such device [hw:CARD=adau7002,DEV=0]" in str(mic.fault)
        assert run(devices.camera, 3)[0].keyframe  # video goes on without it
    finally:
        devices.close()


@off_pi
def test_with_audio_off_there_is_no_microphone(tmp_path: Path) -> None:
    settings = pi_settings(tmp_path)
    settings.audio = False
    generate("device", settings.state_dir)
    backend = PiBackend(pin_factory=MockFactory(), smbus=FakeSMBus({}))
    with pi_platform("vc4"):
        devices = backend.create(settings)
    devices.close()
    assert devices.microphone is None
