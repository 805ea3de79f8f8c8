"""Soundscape: what the simulated microphone hears, as a function of the simulated world's time.

Three things make the sound, all placed on virtual (true) time, never on a device's clock:

- **Ambient**: quiet noise, so the encoder has something to encode and silence under mute is
  visibly digital (exact zeros), not merely quiet.
- **Claps**: a slate for measuring sync from the exported file alone. Every ``claps_every_s``
  the camera flashes a white square in its picture's top-right corner on one frame, and at that
  frame's own time the microphone hears a click: a 5 ms burst of 1 kHz. In the MP4, the flash
  frame's time and the click's onset should be the same instant; their difference is the A/V
  offset (recorder/export/avsync.py measures it).
- **Speech**: a scenario's ``say`` steps, spoken by espeak-ng (a Debian package) into a WAV,
  resampled to the microphone's rate with PyAV, so a person opening the demo's MP4 hears what
  happened.

Not simulated: room acoustics, distance, wind, clipping, the microphone's frequency response.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import av
import numpy as np

__all__ = ["CLICK_HZ", "CLICK_S", "FLASH_FRACTION", "Soundscape", "speak"]

CLICK_S = 0.005
CLICK_HZ = 1000.0
CLICK_LEVEL = 0.8
FLASH_FRACTION = 8
"""The flash is a white square 1/FLASH_FRACTION of the picture's width, in its top-right corner."""
AMBIENT_LEVEL = 0.003


class Soundscape:
    """The sound of the simulated world; thread-safe (the camera adds claps, the microphone
    renders)."""

    def __init__(
        self, *, rate: int = 48_000, claps_every_s: float | None = None, seed: int = 0
    ) -> None:
        if claps_every_s is not None and not (math.isfinite(claps_every_s) and claps_every_s > 0):
            raise ValueError(f"claps_every_s must be a positive number, got {claps_every_s!r}")
        self.rate = rate
        self.claps_every_s = claps_every_s
        self._lock = threading.Lock()
        self._sounds: list[tuple[float, np.ndarray]] = []
        """(start time, samples at ``rate``), in start order."""
        self._next_clap: float | None = None
        self._rng = np.random.default_rng(seed)
        n = round(CLICK_S * rate)
        self._click = (CLICK_LEVEL * np.sin(2 * np.pi * CLICK_HZ * np.arange(n) / rate)).astype(
            np.float32
        )
        self.claps: list[float] = []
        """The times of every clap so far."""

    def frame(self, t: float) -> bool:
        """A camera frame is exposed at ``t``: True if it is a clap's frame (the first frame at
        or after a clap's instant), whose click then starts at exactly ``t``."""
        if self.claps_every_s is None:
            return False
        with self._lock:
            if self._next_clap is None:
                self._next_clap = (math.floor(t / self.claps_every_s) + 1) * self.claps_every_s
            if t < self._next_clap:
                return False
            while self._next_clap <= t:
                self._next_clap += self.claps_every_s
            self.claps.append(t)
            self._sounds.append((t, self._click))
            return True

    def play(self, t: float, samples: np.ndarray) -> None:
        """Sound ``samples`` (mono float32 at ``rate``) from time ``t`` on."""
        with self._lock:
            self._sounds.append((t, np.asarray(samples, np.float32)))
            self._sounds.sort(key=lambda s: s[0])

    def render(self, t0: float, n: int, rate: float) -> np.ndarray:
        """``n`` samples taken from ``t0`` on at ``rate`` per second (the microphone's own,
        skewed rate): ambient noise plus every sound that falls among them."""
        out = (AMBIENT_LEVEL * self._rng.standard_normal(n)).astype(np.float32)
        t1 = t0 + n / rate
        with self._lock:
            self._sounds = [s for s in self._sounds if s[0] + len(s[1]) / self.rate > t0]
            sounds = [s for s in self._sounds if s[0] < t1]
        times = t0 + np.arange(n) / rate
        for start, samples in sounds:
            # The sample of each sound nearest each capture instant (no interpolation: the
            # sounds are the simulator's own, at the microphone's nominal rate).
            idx = np.rint((times - start) * self.rate).astype(np.int64)
            ok = (idx >= 0) & (idx < len(samples))
            out[ok] += samples[idx[ok]]
        return out


def speak(text: str, rate: int = 48_000) -> np.ndarray:
    """``text`` spoken by espeak-ng, as mono float32 samples at ``rate``.

    Raises RuntimeError naming what is missing when espeak-ng is not installed or fails.
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (Debian: apt install espeak-ng)")
    with tempfile.TemporaryDirectory(prefix="bodycam-speech-") as tmp:
        wav = Path(tmp) / "speech.wav"
        done = subprocess.run(
            [exe, "-w", str(wav), "--", text], capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0 or not wav.exists():
            raise RuntimeError(f"espeak-ng failed: {done.stderr.strip()[:200]}")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        parts: list[np.ndarray] = []
        with av.open(str(wav)) as container:
            for frame in container.decode(audio=0):
                parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
