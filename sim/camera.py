"""SimCamera: the synthetic scene, encoded to H.264 on the camera's own thread, driving time.

The camera thread is the simulator's heartbeat. For frame n after a start it first advances the
SimClock to ``t0 + n/fps`` (so scenario steps due by then fire first, on this thread), then
renders, encodes and delivers the frame stamped with that time. Once started, the thread keeps
ticking virtual time while the camera is stopped or stalled too (in steps of IDLE_STEP), so a
scenario plays to its end after the recorder stops the camera. Before the first start virtual
time does not move on its own.

Speed "realtime" paces ticks to the host's monotonic clock. Speed "max" runs as fast as the CPU
allows, with two simulator-only exceptions: idle time runs IDLE_SPEEDUP times faster than real
time, not infinitely fast, and frames wait (on a condition, re-checking every few milliseconds)
while ``sink.backlog()`` exceeds ``max_backlog``, because the simulator must never drop frames
merely for lack of CPU. In "realtime" a slow consumer loses frames, as on the Pi.

Not simulated: sensor timing jitter, dropped sensor frames other than :meth:`stall`, encoder
rate-control quirks of the Pi's hardware encoder, camera-module faults.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from hal.camera import Camera, EncodedFrame, FrameSink
from sim.clock import SimClock
from sim.encoder import H264Encoder
from sim.scene import Scene
from sim.sound import Soundscape

__all__ = ["IDLE_SPEEDUP", "IDLE_STEP", "MAX_BACKLOG", "SimCamera"]

log = logging.getLogger(__name__)

IDLE_STEP = 0.1  # virtual seconds per tick while no frames are made
IDLE_SPEEDUP = 200.0  # speed "max": idle virtual time runs this many times faster than real time
MAX_BACKLOG = 8  # speed "max": frames wait while the sink holds more than this many
_BACKLOG_POLL = 0.002  # real seconds between looks at the sink's backlog
_MAX_CATCH_UP = 0.25  # "realtime": real seconds of lag made up by running fast, the rest skipped


class SimCamera(Camera):
    """A software camera with the test verb :meth:`stall` and a ``history`` of what it did."""

    def __init__(
        self,
        *,
        clock: SimClock,
        width: int,
        height: int,
        fps: int,
        bitrate: int,
        keyframe_interval_s: float,
        device_id: str,
        speed: str = "max",
        max_backlog: int = MAX_BACKLOG,
        sound: Soundscape | None = None,
    ) -> None:
        super().__init__(width=width, height=height, fps=fps)
        if speed not in ("max", "realtime"):
            raise ValueError(f"speed must be 'max' or 'realtime', got {speed!r}")
        self._clock = clock
        self._scene = Scene(width, height, device_id)
        self._bitrate = bitrate
        self._gop = max(1, round(fps * keyframe_interval_s))
        self._speed = speed
        self._max_backlog = max_backlog
        self._sound = sound
        """The microphone's world: a clap's frame flashes (sim.sound)."""
        self._cond = threading.Condition(self._state_lock)
        self._thread: threading.Thread | None = None
        self._closing = False
        self._generation = 0  # bumped by every start and stop; a tick checks it is still current
        self._sink: FrameSink | None = None
        self._encoder: H264Encoder | None = None
        self._t0 = 0.0  # virtual time of frame 0 since the last start (or catch-up)
        self._n = 0
        self._last_ts = -1
        self._stall_until = -math.inf
        self._real_ref = 0.0  # pacing: real time at which virtual time _virt_ref was reached
        self._virt_ref = 0.0
        self.history: list[tuple[float, str, object]] = []

    @property
    def keyframe_interval_frames(self) -> int:
        return self._gop

    # -- test verbs ---------------------------------------------------------------------------

    def stall(self, seconds: float) -> None:
        """Deliver no frames for the next ``seconds`` of virtual time; time keeps moving."""
        if seconds < 0:
            raise ValueError(f"stall seconds must be >= 0, got {seconds}")
        with self._cond:
            now = self._clock.monotonic()
            self._stall_until = max(self._stall_until, now + seconds)
            self.history.append((now, "stall", seconds))
            self._cond.notify_all()

    # -- Camera hooks -------------------------------------------------------------------------

    def _start(self, sink: FrameSink) -> None:
        self._encoder = H264Encoder(
            width=self.width, height=self.height, fps=self.fps, bitrate=self._bitrate, gop=self._gop
        )
        self._sink = sink
        self._generation += 1
        self._t0, self._n = self._clock.monotonic(), 0
        self._real_ref, self._virt_ref = time.monotonic(), self._t0
        self.history.append((self._t0, "start", None))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sim-camera", daemon=True)
            self._thread.start()
        self._cond.notify_all()

    def _stop(self) -> None:
        self._generation += 1
        if self._encoder is not None:
            self._encoder.close()
        self._encoder, self._sink = None, None
        self.history.append((self._clock.monotonic(), "stop", self.frames_delivered))
        self._cond.notify_all()

    def _close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # -- the camera thread --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while self._tick():
                pass
        except BaseException as exc:
            log.exception("simulated camera thread failed")
            self.history.append((self._clock.monotonic(), "fault", repr(exc)))
            self._set_fault(exc)

    def _tick(self) -> bool:
        """One frame, or one idle step of virtual time; False once the camera is closing."""
        with self._cond:
            if self._closing:
                return False
            now = self._clock.monotonic()
            if self._running and self._sink is not None and now >= self._stall_until:
                generation = self._generation
                target = self._t0 + self._n / self.fps
                if target < now:  # time moved on without frames (a stall, or a test advanced it)
                    self._t0, self._n, target = now, 0, now
                if not self._pace_frame(target, generation):
                    return not self._closing
            else:
                generation = -1
                target = now + IDLE_STEP
                if self._running:
                    target = min(target, max(self._stall_until, now))
                rate = 1.0 if self._speed == "realtime" else IDLE_SPEEDUP
                if not self._wait_real(target, rate, self._generation):
                    return not self._closing
        self._advance(target)
        if generation < 0:
            return True
        with self._cond:
            if self._generation != generation or self._closing or self._sink is None:
                return not self._closing
            if self._clock.monotonic() < self._stall_until:  # a stall began at this very time
                return True
            self._produce(self._sink, target)
            self._n += 1
        return True

    def _pace_frame(self, target: float, generation: int) -> bool:
        """Wait until frame time ``target`` may be made; False if a start/stop/close intervened."""
        if self._speed == "realtime":
            return self._wait_real(target, 1.0, generation)
        while self._sink is not None and self._sink.backlog() > self._max_backlog:
            self._cond.wait(_BACKLOG_POLL)
            if self._generation != generation or self._closing:
                return False
        self._real_ref, self._virt_ref = time.monotonic(), target
        return True

    def _wait_real(self, target: float, rate: float, generation: int) -> bool:
        """Wait until virtual ``target`` is due at ``rate`` x real time; False if interrupted."""
        deadline = self._real_ref + min(max(0.0, target - self._virt_ref) / rate, 1.0)
        while (remaining := deadline - time.monotonic()) > 0:
            self._cond.wait(remaining)
            if self._generation != generation or self._closing:
                return False
        self._real_ref = max(deadline, time.monotonic() - _MAX_CATCH_UP)
        self._virt_ref = target
        return True

    def _advance(self, target: float) -> None:
        """Advance the clock; a failing scheduled action is logged, not fatal to the camera."""
        while True:
            try:
                self._clock.advance_to(target)
                return
            except Exception as exc:
                log.exception("a scheduled action failed at t=%.3f", self._clock.monotonic())
                self.history.append((self._clock.monotonic(), "action_failed", repr(exc)))

    def _produce(self, sink: FrameSink, t: float) -> None:
        assert self._encoder is not None
        counter = self.frames_delivered
        flash = self._sound is not None and self._sound.frame(t)
        i420 = self._scene.render(t, self._clock.wall(), counter, flash)
        ts = max(int(t * 1e6), self._last_ts + 1)
        self._last_ts = ts
        for _, data, keyframe in self._encoder.encode(i420):
            self._deliver(sink, EncodedFrame(data, keyframe, ts))
