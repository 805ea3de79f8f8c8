"""One recording event on disk: frames in, records and segments out.

A recording is one or more media segments sharing a ``recording_id``. Frames are gathered into a
record until it holds ``record_interval_s`` of media (its last frame's own duration counted), then
the record is written and synced at once, so a power cut loses at most that much media plus the
time a frame takes from the sensor to the disk (docs/decisions.md, "The loss bound"). A trigger's
pre-roll is written as all its records in one write and one sync. Segments roll at the first
keyframe after ``segment_s``, so each segment decodes on its own; the frames flow on with no gap
and no duplicate.
"""

from __future__ import annotations

import errno
import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from hal.camera import EncodedFrame
from hal.clock import Clock
from recorder.evidence.audit import rfc3339
from recorder.evidence.media import STREAM_SENSOR, STREAM_VIDEO, Frame, encode_frames
from recorder.evidence.state import EvidenceStream

__all__ = ["RecordingWriter", "WriteFailed", "clock_meta"]

_PRE_ROLL_CHUNK = 8 * 1024 * 1024
"""A trigger's pre-roll is written in writes of about this much, then synced once: 30 s at
8 Mbit/s would otherwise be held three times over (buffer, plaintext, ciphertext) at the press."""

AuditFn = Callable[..., None]
"""``audit(event, **fields)``: log to the audit trail (the recorder supplies the clock)."""


def clock_meta(clock: Clock) -> dict[str, Any]:
    """The clock facts every header carries (spec section 4.1)."""
    return {
        "wall_start": rfc3339(clock.wall()),
        "clock_source": clock.source,
        "clock_set": clock.is_set,
        "mono_start_us": round(clock.monotonic() * 1e6),
    }


def _reason(error: Exception) -> str:
    """What an audit entry calls a failed write: a full volume, or a fault."""
    full = isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
    return "storage_full" if full else "fault"


class WriteFailed(Exception):
    """A record could not be written, or a segment not opened; the recording has been closed as
    well as it could be."""

    def __init__(self, reason: str, error: Exception, what: str = "evidence write failed") -> None:
        super().__init__(f"{reason}: {error}")
        self.reason = reason  # storage_full | fault
        self.error = error
        self.what = what
        """What failed, for the audit log's fault event."""


class RecordingWriter:
    """Writes one recording: call :meth:`add` for every frame, then :meth:`close`."""

    def __init__(
        self,
        stream: EvidenceStream,
        *,
        trigger: str,
        trigger_us: int,
        record_interval_s: float,
        segment_s: float,
        meta: Callable[[], dict[str, Any]],
        clock: Clock,
        audit: AuditFn,
    ) -> None:
        self.recording_id = secrets.token_hex(6)
        self.trigger = trigger
        self.trigger_us = trigger_us
        self._stream = stream
        self._record_us = round(record_interval_s * 1e6)
        self._segment_us = round(segment_s * 1e6)
        self._meta = meta
        self._clock = clock
        self._audit = audit
        self._pending: list[Frame] = []
        self._sealed: list[bytes] = []
        """Records whose media is complete, written together by the next write."""
        self._sealed_bytes = 0
        self._period_us = 0
        """The time between the last two frames: the newest frame's own duration."""
        self._part = 0
        self._seg_start_us = 0
        self._seg_frames = 0
        self._seg_first_us = 0
        self.frames = 0
        self.undecodable = 0
        """Frames offered before the first keyframe, which could not be decoded: not written."""
        self.segments: list[int] = []
        self.first_us: int | None = None
        self.last_us: int | None = None
        self.pre_roll_s = 0.0
        self.audio_from_us = -(2**63)
        """Audio before this (the trigger, when the policy keeps no pre-event audio) is not
        this recording's."""

    @property
    def is_open(self) -> bool:
        return self._stream.current is not None

    def add(self, frame: EncodedFrame) -> None:
        """Take the next live frame (the first must be a keyframe); a record whose media is
        complete is written and synced before this returns."""
        self._place(frame, live=True)
        self._write_sealed()

    def add_pre_roll(self, frames: Sequence[EncodedFrame], samples: Sequence[Frame] = ()) -> None:
        """Take a trigger's pre-event frames, and the sensor samples of their time, and make
        them durable at once: every record of the pre-roll, the last partial one included, in
        one write and one sync. The pre-roll stays in the first segment, so no segment rolls
        inside it. Each sample goes into the record of the frames of its time."""
        pending = iter(samples)
        sample = next(pending, None)
        for frame in frames:
            # As live (Recorder.fix): a sample goes in before the first frame not older than it.
            while sample is not None and sample.pts_us <= frame.timestamp_us and self.is_open:
                self.sample(sample)
                sample = next(pending, None)
            self._place(frame, live=False)
            if self._sealed_bytes >= _PRE_ROLL_CHUNK:
                self._write_sealed(sync=False)  # bounded memory: the buffer is not copied whole
        while sample is not None:  # between the newest buffered frame and the press
            self.sample(sample)
            sample = next(pending, None)
        self._seal()
        self._write_sealed()

    def _place(self, frame: EncodedFrame, live: bool) -> None:
        if not self.is_open:
            if not frame.keyframe:
                self.undecodable += 1  # nothing to decode it from; the recorder avoids this
                return
            if self.first_us is None:
                self.first_us = frame.timestamp_us
                self.pre_roll_s = max(0.0, (self.trigger_us - frame.timestamp_us) / 1e6)
            self._open_segment(frame.timestamp_us)
        elif live and frame.keyframe and self._segment_done(frame.timestamp_us):
            self._close_segment("rollover")
            self._open_segment(frame.timestamp_us)
        if self.last_us is not None and frame.timestamp_us > self.last_us:
            self._period_us = frame.timestamp_us - self.last_us
        self._pending.append(Frame(STREAM_VIDEO, frame.timestamp_us, frame.keyframe, frame.data))
        self.frames += 1
        self._seg_frames += 1
        self.last_us = frame.timestamp_us
        # The record is complete once its last frame is in (the frame's own duration counted),
        # not when the next one arrives: no media waits longer than record_interval_s.
        if self._due(frame.timestamp_us):
            self._seal()

    def _segment_done(self, now_us: int) -> bool:
        return now_us - self._seg_start_us >= self._segment_us

    def _due(self, now_us: int) -> bool:
        """The pending record holds record_interval_s of media, counting the newest frame's own
        duration (one frame period); within half a period, as timestamps jitter and round."""
        return bool(self._pending) and (
            now_us + self._period_us + self._period_us // 2 - self._pending[0].pts_us
            > self._record_us
        )

    def _seal(self) -> None:
        """Make the pending frames one record, to be written by :meth:`_write_sealed`."""
        if self._pending:
            record = encode_frames(self._pending)
            self._sealed.append(record)
            self._sealed_bytes += len(record)
            self._pending = []

    def _write_sealed(self, sync: bool = True) -> None:
        if not self._sealed:
            return
        records, self._sealed, self._sealed_bytes = self._sealed, [], 0
        f = self._stream.current
        assert f is not None
        try:
            f.append_many(records, sync=sync)
        except OSError as e:
            self._fail(e)

    def mark(self, t_us: int, what: dict[str, Any]) -> None:
        """Put a bookmark into the stream (a sensor-stream frame, spec section 9)."""
        data = json.dumps(what, sort_keys=True).encode()
        self.sample(Frame(STREAM_SENSOR, t_us, False, data))

    def sample(self, sample: Frame) -> None:
        """Put a sensor-stream frame (a GNSS fix, a marker) into the record being gathered."""
        if self.is_open:
            self._pending.append(sample)

    def flush_due(self, now_us: int) -> None:
        """Write the pending record if it is due even though no new frame came (camera stall)."""
        if self._due(now_us):
            self.flush()

    def flush(self) -> None:
        """Write the pending frames as one record and sync it."""
        self._seal()
        self._write_sealed()

    def _fail(self, error: OSError) -> None:
        """Close what can be closed after a refused or failed write, then raise WriteFailed,
        whatever else the card does meanwhile: the recorder must hear of it, never crash."""
        f = self._stream.current
        reason = _reason(error)
        self._pending, self._sealed, self._sealed_bytes = [], [], 0  # cannot be written now
        try:
            if f is not None and f.is_open:
                try:
                    self._close_segment(reason)  # the refusal left the file intact: close it
                except OSError:
                    self._stream.fail()
            elif f is not None:
                link = self._stream.fail()
                seq = link.seq if link else None
                records = link.records if link else None
                self._audit("segment_close", seq=seq, records=records, reason=reason, torn=True)
        except WriteFailed:
            raise
        except Exception as e:  # the state could not be saved either: the next start recovers
            self._audit("fault", what="closing after a failed write", error=str(e))
        raise WriteFailed(reason, error) from error

    def _open_segment(self, start_us: int) -> None:
        self._part += 1
        meta = {
            **self._meta(),
            **clock_meta(self._clock),
            "recording_id": self.recording_id,
            "part": self._part,
            "trigger": self.trigger,
            "pre_roll_s": round(self.pre_roll_s, 3) if self._part == 1 else 0.0,
            "record_interval_s": self._record_us / 1e6,
        }
        try:
            f = self._stream.open(meta)
        except Exception as e:  # whatever the cause (I/O, HPKE, state), a fault, never a crash
            raise WriteFailed(_reason(e), e, "segment open failed") from e
        self._seg_start_us = start_us
        self._seg_first_us = start_us
        self._seg_frames = 0
        self.segments.append(f.seq)
        self._audit("segment_open", seq=f.seq, recording_id=self.recording_id, part=self._part)

    def _close_segment(self, reason: str) -> None:
        self.flush()
        f = self._stream.current
        assert f is not None
        last = self.last_us if self.last_us is not None else self._seg_first_us
        summary = {
            "frames": self._seg_frames,
            "first_pts_us": self._seg_first_us,
            "last_pts_us": last,
            "duration_s": round((last - self._seg_first_us) / 1e6, 6),
            "wall_end": rfc3339(self._clock.wall()),
            "reason": reason,
        }
        link = self._stream.close(summary)
        self._audit("segment_close", seq=link.seq, records=link.records, reason=reason)

    def close(self, reason: str) -> None:
        """Write what is pending and close the segment with its FINAL record."""
        if self.is_open:
            try:
                self._close_segment(reason)
            except OSError as e:
                self._fail(e)
