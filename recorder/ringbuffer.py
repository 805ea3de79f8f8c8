"""The pre-event ring buffer: the last N seconds of encoded frames, always from a keyframe.

Bounded by duration, measured on frame timestamps (not by frame count), and by a byte cap. It
keeps whole groups of pictures (a keyframe and the frames that depend on it), so whatever it hands
over is decodable from its first frame. Frames are kept by reference, never copied; each is
appended once and removed once, so the cost per frame is O(1) amortized.

The recorder feeds it every frame, recording or not, so it always holds the last seconds: a
trigger soon after a stop still gets its full pre-roll, overlapping the recording before.

The buffer keeps *at least* ``duration_s`` when it can: the oldest group is dropped only when the
groups after it still cover the duration. It always keeps the group in progress, so even with a
duration of 0 a trigger gets the frames since the last keyframe (up to one keyframe interval).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from hal.camera import EncodedFrame
from recorder.evidence.media import Frame

__all__ = ["RingBuffer"]


@dataclass(slots=True)
class _Group:
    """One group of pictures in the buffer: a keyframe and what follows it."""

    start_us: int
    frames: int = 0
    nbytes: int = 0


class RingBuffer:
    """Holds the newest ``duration_s`` of frames (within ``max_bytes``), from a keyframe."""

    def __init__(self, duration_s: float, max_bytes: int) -> None:
        if duration_s < 0 or max_bytes <= 0:
            raise ValueError("duration_s must be >= 0 and max_bytes > 0")
        self._duration_us = round(duration_s * 1e6)
        self._max_bytes = max_bytes
        self._frames: deque[EncodedFrame] = deque()
        self._groups: deque[_Group] = deque()
        self._nbytes = 0
        self._samples: deque[Frame] = deque()
        self._sample_bytes = 0
        self.discarded = 0
        """Frames that arrived with no keyframe before them to decode from."""

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def nbytes(self) -> int:
        """Bytes held: the frames', and the samples' (audio, fixes) that go with them."""
        return self._nbytes + self._sample_bytes

    @property
    def span_us(self) -> int:
        """Time from the oldest to the newest frame held."""
        return self._frames[-1].timestamp_us - self._frames[0].timestamp_us if self._frames else 0

    @property
    def oldest_us(self) -> int | None:
        return self._frames[0].timestamp_us if self._frames else None

    def resize(self, duration_s: float, max_bytes: int) -> None:
        """Change the bounds (a configuration change); trims at the next push."""
        if duration_s < 0 or max_bytes <= 0:
            raise ValueError("duration_s must be >= 0 and max_bytes > 0")
        self._duration_us = round(duration_s * 1e6)
        self._max_bytes = max_bytes

    def push(self, frame: EncodedFrame) -> None:
        if frame.keyframe:
            self._groups.append(_Group(frame.timestamp_us))
        elif not self._groups:
            self.discarded += 1  # undecodable without its keyframe
            return
        g = self._groups[-1]
        g.frames += 1
        g.nbytes += len(frame.data)
        self._frames.append(frame)
        self._nbytes += len(frame.data)
        self._trim(frame.timestamp_us)

    def _trim(self, newest_us: int) -> None:
        groups = self._groups
        while len(groups) > 1 and (
            newest_us - groups[1].start_us >= self._duration_us or self.nbytes > self._max_bytes
        ):
            self._drop_oldest_group()
        if self.nbytes > self._max_bytes and len(groups) == 1 and groups[0].frames > 1:
            # One group alone exceeds the cap: hold nothing until the next keyframe.
            self._drop_oldest_group()

    def _drop_oldest_group(self) -> None:
        g = self._groups.popleft()
        for _ in range(g.frames):
            self._frames.popleft()
        self._nbytes -= g.nbytes
        self._trim_samples()

    def push_sample(self, sample: Frame) -> None:
        """Keep a sample of another stream (a GNSS fix, an audio packet) for as long as the
        frames of its time are kept; its bytes count towards the cap."""
        self._samples.append(sample)
        self._sample_bytes += len(sample.data)
        if self._frames:  # its bytes may pass the cap: the oldest group goes, as for a frame
            self._trim(self._frames[-1].timestamp_us)
        self._trim_samples()

    def _trim_samples(self) -> None:
        oldest = self.oldest_us
        while self._samples and (oldest is None or self._samples[0].pts_us < oldest):
            self._sample_bytes -= len(self._samples.popleft().data)

    def snapshot(self) -> list[EncodedFrame]:
        """Everything held, oldest first (references: no frame is copied)."""
        return list(self._frames)

    def samples(self) -> list[Frame]:
        """The other streams' samples from the oldest frame held on, in arrival order."""
        self._trim_samples()
        return list(self._samples)
