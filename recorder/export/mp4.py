"""Remux recorded H.264 video, and the AAC audio recorded with it, into a standard MP4 file,
without re-encoding.

The camera's video stream (``STREAM_VIDEO``) is H.264 Annex-B, one access unit per frame, with
SPS/PPS repeated in-band on every keyframe. That is exactly what FFmpeg's ``mp4`` muxer accepts
for stream copy, so the encoded bytes go into the file unchanged: only the container around them
is new, which is what an evidence export wants (the picture a court sees is the picture the camera
encoded).

Codec parameters come from the stream itself:

* width/height (and pixel format, for validation) come from decoding the first keyframe with
  FFmpeg's h264 decoder;
* SPS/PPS for the ``avcC`` box come from the first packet written: the output stream is a
  codec-less mux stream (``OutputContainer.add_mux_stream``), so PyAV runs FFmpeg's
  ``extract_extradata`` bitstream filter on that first packet (always our first keyframe, whose
  in-band SPS/PPS this module checks for) before it writes the header, and the mp4 muxer turns
  those Annex-B parameter sets into ``avcC`` and converts every Annex-B packet to the
  length-prefixed form MP4 requires. (Were that step to find nothing, the muxer itself falls back
  to taking them from the first packet.) No encoder is ever opened, so nothing can invent
  parameters the stream does not have.

Timing is exact: the track time base is 1/1,000,000 s, so frame timestamps are the recorded
microsecond ``pts_us`` values, shifted so the first written frame is at 0. Each packet's duration is
the gap to the next frame; the last frame gets the median of the last few gaps.

**Audio** (``STREAM_AUDIO``, spec section 9.2: raw AAC-LC access units, each stamped at its first
sample) goes in as a second track when the caller gives its format (:class:`AudioTrack`, from
the segment headers). Its packets are copied as they are. The recorded ``pts`` are the sync (the
camera counted samples and fitted its microphone's clock to the frames' clock), so each packet's
MP4 time is its recorded ``pts`` less the first video frame's, in samples (time base 1/rate, the
usual audio timescale), rounded: at most half a sample (10 us at 48 kHz) from the recorded time,
and never recomputed by counting packets, so the microphone's drift stays corrected and a gap
stays a gap. A packet lasts until the next (the last, one frame of samples). Audio before the
first video frame is dropped, as is a packet whose time does not follow the one before (the spec
forbids both orders); both are counted. A gap of more than 1.5 frames between two packets
(samples lost) is reported in :attr:`Mp4Result.audio_gaps`. With no audio packet at all the file
is video-only (the mp4 muxer writes no track that has no sample).

The ``esds`` box carries the header's AudioSpecificConfig, byte for byte: PyAV can describe an
audio stream only through an encoder context, and an encoder it opens writes its own
configuration as the stream's extradata when the file's header is written. So this module opens
that context itself (the encoder encodes nothing) and then sets the recorded configuration over
whatever the encoder made, before the first packet is muxed.

Frames are consumed as a stream with one frame of lookahead per track, so an export of many
gigabytes never holds more than a few frames in memory. Video and audio are muxed through
FFmpeg's interleaving queue (``mux_one``), so the file is interleaved by time for progressive
playback; while one track has no packet yet (the audio of a pre-roll kept without sound), that
queue holds at most FFmpeg's ``max_interleave_delta`` (10 s) of the other. The ``moov`` box is
moved to the front (``faststart``). The movie's timescale is 1/1,000,000 s, as the video's:
the audio track's start (an empty edit, when it starts after the video) is measured in it, and
FFmpeg's default of 1/1000 s would move the whole track by up to half a millisecond.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import statistics
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av

from recorder.evidence.media import STREAM_AUDIO, STREAM_VIDEO, Frame
from recorder.export.aac import AudioTrack

__all__ = [
    "DEFAULT_FRAME_DURATION_US",
    "GAP_FRAMES",
    "Mp4Result",
    "RemuxError",
    "remux_to_mp4",
]

# Duration given to the only frame of a one-frame export, which has no neighbour to measure
# against: one frame at 30 fps.
DEFAULT_FRAME_DURATION_US = 33_333

GAP_FRAMES = 1.5
"""More than this many audio frames' time between two packets' starts is a gap: samples lost."""

_TIME_BASE = Fraction(1, 1_000_000)  # pts_us units; the MP4 track timescale becomes 1 MHz
_LAST_DURATION_WINDOW = 31  # the last frame's duration is the median of this many recent gaps
_MUXER_OPTIONS = {
    "movflags": "+faststart",
    # A track that starts after file time 0 (the sound) begins with an empty edit measured in
    # the movie's timescale, 1/1000 s by default: the track would then start up to 0.5 ms from
    # its recorded time. In microseconds, as the video, it is exact to the sample.
    "movie_timescale": "1000000",
}
_EARLY_AUDIO = 4096
"""Audio packets (about 90 s at 48 kHz) held while the first keyframe is sought; older ones
are dropped (they would be before it in any recording the camera writes)."""

_NAL_SPS = 7
_NAL_PPS = 8
_NAL_VCL = range(1, 6)  # coded slice NAL unit types; parameter sets precede them


class RemuxError(ValueError):
    """The frames cannot be remuxed into an MP4 file."""


@dataclass(frozen=True, slots=True)
class Mp4Result:
    """What ``remux_to_mp4`` wrote."""

    path: Path
    frames: int  # video frames written
    keyframes: int  # of which keyframes
    duration_s: float  # video track duration: last pts - first pts + last frame's duration
    width: int
    height: int
    first_pts_us: int  # recorded pts of the first frame written (file time 0)
    last_pts_us: int  # recorded pts of the last frame written
    dropped_before_keyframe: int  # video frames before the first keyframe (undecodable)
    skipped_other_streams: int  # frames of other streams (audio too, when no track was asked)
    audio_packets: int = 0  # audio packets written
    audio_first_pts_us: int | None = None  # recorded pts of the first audio packet written
    audio_last_pts_us: int | None = None
    audio_duration_s: float = 0.0  # audio track: last - first packet time + one frame
    audio_gaps: tuple[tuple[int, int], ...] = ()
    """Recorded (end of the packet before, start of the packet after) of each gap, us."""
    audio_dropped_before_video: int = 0  # audio packets before the first video frame written
    audio_dropped_out_of_order: int = 0  # audio packets whose time did not follow the last


@dataclass(frozen=True, slots=True)
class _VideoInfo:
    width: int
    height: int
    pix_fmt: str


class _AudioOut:
    """The audio track: packets muxed with one of lookahead (a packet lasts until the next)."""

    def __init__(self, container: av.container.OutputContainer, track: AudioTrack, zero: int):
        self._container = container
        self._track = track
        self._zero = zero
        self._time_base = Fraction(1, track.rate)
        self._frame_us = round(track.frame_us)
        self._gap_us = GAP_FRAMES * track.frame_us
        layout = {1: "mono", 2: "stereo"}.get(track.channels)
        if layout is None:
            raise RemuxError(f"{track.channels} audio channels: only mono or stereo")
        stream = container.add_stream("aac", rate=track.rate, layout=layout)
        cc = stream.codec_context
        if track.bitrate:
            cc.bit_rate = track.bitrate
        cc.open()  # opened here so that muxing does not open it and write the encoder's config
        cc.extradata = track.config
        self.stream = stream
        self._pending: tuple[Frame, int] | None = None
        self.written = 0
        self.first: int | None = None
        self.gaps: list[tuple[int, int]] = []
        self.before_video = 0
        self.out_of_order = 0

    def _samples(self, pts_us: int) -> int:
        """The recorded time in samples from file time 0, rounded (never counted); in whole
        numbers, so exact at any length."""
        return (2 * (pts_us - self._zero) * self._track.rate + 1_000_000) // 2_000_000

    def add(self, f: Frame) -> None:
        if f.pts_us < self._zero:
            self.before_video += 1
            return
        at = self._samples(f.pts_us)
        if self._pending is not None:
            last, last_at = self._pending
            if at <= last_at:  # rounding keeps the recorded order, so this is out of order
                self.out_of_order += 1
                return
            end = last.pts_us + self._frame_us
            if f.pts_us - last.pts_us > self._gap_us:
                self.gaps.append((end, f.pts_us))
            self._write(last, last_at, at - last_at)
        self._pending = (f, at)

    def finish(self) -> None:
        if self._pending is not None:
            f, at = self._pending
            self._write(f, at, self._track.frame_samples)

    def _write(self, f: Frame, at: int, duration: int) -> None:
        packet = av.Packet(f.data)
        packet.stream = self.stream
        packet.time_base = self._time_base
        packet.pts = packet.dts = at
        packet.duration = duration
        self._container.mux_one(packet)
        if self.first is None:
            self.first = f.pts_us
        self.written += 1

    @property
    def last(self) -> int | None:
        return self._pending[0].pts_us if self._pending and self.written else None


def remux_to_mp4(
    frames: Iterable[Frame],
    out_path: Path,
    *,
    audio: AudioTrack | None = None,
    creation_time: datetime | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Mp4Result:
    """Write the ``STREAM_VIDEO`` frames of ``frames`` to ``out_path`` as an MP4 file, with the
    ``STREAM_AUDIO`` frames as a second track when ``audio`` gives their format.

    ``frames`` may be any iterable, including a generator over a whole recording; it is read once.
    Video frames before the first keyframe are dropped (they cannot be decoded) and other streams
    are skipped (audio too, without ``audio``); both are counted in the result, as are the audio
    packets dropped (before the first video frame, or out of order). ``creation_time``
    (timezone-aware) becomes the file's ``creation_time``; ``metadata`` adds container tags such
    as ``title`` or ``comment`` (keys the MP4 muxer has no atom for are silently not written, as
    with ``ffmpeg``).

    Raises ``RemuxError`` if there is no keyframe, the first keyframe lacks SPS/PPS or does not
    decode, video timestamps do not increase, the picture size changes mid-stream, or ``audio``
    is a format the muxer refuses. On any error the partly written ``out_path`` is removed. The
    file is written in place; it is finished (moov moved to the front for progressive playback)
    only when this function returns.
    """
    tags = _container_tags(creation_time, metadata)
    skipped = 0
    dropped = 0
    early: collections.deque[Frame] = collections.deque(maxlen=_EARLY_AUDIO)
    early_lost = 0
    audio_out: _AudioOut | None = None

    def split() -> Iterator[Frame]:
        """The video frames; audio goes to its track (held until there is one)."""
        nonlocal skipped, early_lost
        for f in frames:
            if f.stream == STREAM_VIDEO:
                yield f
            elif f.stream == STREAM_AUDIO and audio is not None:
                if audio_out is not None:
                    audio_out.add(f)
                else:
                    early_lost += len(early) == early.maxlen
                    early.append(f)
            else:
                skipped += 1

    stream_iter = split()
    first: Frame | None = None
    for f in stream_iter:
        if f.keyframe:
            first = f
            break
        dropped += 1
    if first is None:
        raise RemuxError(
            f"no keyframe among the video frames ({dropped} non-keyframes): nothing decodable"
        )

    sps = _parameter_sets(first.data, _NAL_SPS)
    if not sps or not _parameter_sets(first.data, _NAL_PPS):
        raise RemuxError(
            f"first keyframe (pts {first.pts_us} us) carries no in-band SPS/PPS; "
            "cannot describe the stream"
        )
    info = _probe_keyframe(first)

    container = av.open(str(out_path), "w", format="mp4", container_options=_MUXER_OPTIONS)
    try:
        container.metadata.update(tags)
        stream = container.add_mux_stream(
            "h264", width=info.width, height=info.height, time_base=_TIME_BASE
        )
        if audio is not None:
            try:
                audio_out = _AudioOut(container, audio, first.pts_us)
            except (av.FFmpegError, ValueError) as e:
                raise RemuxError(f"the audio track ({audio.describe()}) is refused: {e}") from e

        written = 0
        keyframes = 0
        recent: collections.deque[int] = collections.deque(maxlen=_LAST_DURATION_WINDOW)

        def write(f: Frame, duration: int) -> None:
            nonlocal written, keyframes
            packet = av.Packet(f.data)
            packet.stream = stream
            packet.time_base = _TIME_BASE
            # No B-frames: a Frame carries only a presentation time, so decode order must be
            # presentation order (checked below: pts strictly increase).
            packet.pts = packet.dts = f.pts_us - first.pts_us
            packet.duration = duration
            packet.is_keyframe = f.keyframe
            container.mux_one(packet)
            written += 1
            keyframes += f.keyframe

        pending = first
        while early:
            audio_out.add(early.popleft())  # type: ignore[union-attr]  # audio is not None
        for f in stream_iter:
            gap = f.pts_us - pending.pts_us
            if gap <= 0:
                raise RemuxError(
                    f"video pts do not increase: {f.pts_us} us follows {pending.pts_us} us"
                )
            if f.keyframe:
                new_sps = _parameter_sets(f.data, _NAL_SPS)
                if new_sps and new_sps != sps:
                    _check_same_size(f, info)
                    sps = new_sps
            write(pending, gap)
            recent.append(gap)
            pending = f
        last_duration = statistics.median_low(recent) if recent else DEFAULT_FRAME_DURATION_US
        write(pending, last_duration)
        if audio_out is not None:
            audio_out.finish()
        container.close()
    except BaseException:
        with contextlib.suppress(Exception):  # already failing: the first error is what matters
            container.close()
        out_path.unlink(missing_ok=True)
        raise

    result = Mp4Result(
        path=out_path,
        frames=written,
        keyframes=keyframes,
        duration_s=(pending.pts_us - first.pts_us + last_duration) / 1e6,
        width=info.width,
        height=info.height,
        first_pts_us=first.pts_us,
        last_pts_us=pending.pts_us,
        dropped_before_keyframe=dropped,
        skipped_other_streams=skipped,
    )
    if audio_out is None or audio is None:
        return result
    last_audio = audio_out.last
    span = 0.0
    if audio_out.first is not None and last_audio is not None:
        span = (last_audio - audio_out.first) / 1e6 + audio.frame_samples / audio.rate
    return dataclasses.replace(
        result,
        audio_packets=audio_out.written,
        audio_first_pts_us=audio_out.first,
        audio_last_pts_us=last_audio,
        audio_duration_s=span,
        audio_gaps=tuple(audio_out.gaps),
        audio_dropped_before_video=audio_out.before_video + early_lost,
        audio_dropped_out_of_order=audio_out.out_of_order,
    )


def _container_tags(
    creation_time: datetime | None, metadata: Mapping[str, str] | None
) -> dict[str, str]:
    tags = dict(metadata or {})
    if creation_time is not None:
        if creation_time.tzinfo is None or creation_time.utcoffset() is None:
            raise RemuxError("creation_time must be timezone-aware")
        tags["creation_time"] = creation_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return tags


def _parameter_sets(data: bytes, nal_type: int) -> tuple[bytes, ...]:
    """The NAL units of ``nal_type`` that precede the first slice of an Annex-B access unit.

    Stops at the first coded slice, so a keyframe's (large) picture data is never scanned.
    """
    found: list[bytes] = []
    pos = data.find(b"\x00\x00\x01")
    while pos != -1 and pos + 3 < len(data):
        start = pos + 3
        t = data[start] & 0x1F
        if t in _NAL_VCL:
            break
        pos = data.find(b"\x00\x00\x01", start)
        if t == nal_type:
            end = len(data) if pos == -1 else pos
            # A four-byte start code's leading zero (or trailing_zero_8bits) is not payload.
            found.append(data[start:end].rstrip(b"\x00"))
    return tuple(found)


def _probe_keyframe(frame: Frame) -> _VideoInfo:
    """Decode one keyframe on its own to learn the picture geometry."""
    decoder = av.CodecContext.create("h264", "r")
    try:
        pictures = decoder.decode(av.Packet(frame.data))
        pictures += decoder.decode(None)  # drain: a threaded decoder may hold the picture back
    except av.FFmpegError as e:
        raise RemuxError(f"keyframe at pts {frame.pts_us} us does not decode: {e}") from e
    if not pictures:
        raise RemuxError(f"keyframe at pts {frame.pts_us} us decodes to no picture")
    picture = pictures[0]
    return _VideoInfo(picture.width, picture.height, picture.format.name)


def _check_same_size(frame: Frame, info: _VideoInfo) -> None:
    """An MP4 track has one picture format; refuse a stream whose new SPS changes it."""
    new = _probe_keyframe(frame)
    if new != info:
        raise RemuxError(
            f"picture format changes from {info.width}x{info.height} {info.pix_fmt} to "
            f"{new.width}x{new.height} {new.pix_fmt} at pts {frame.pts_us} us; "
            "export the parts to separate files"
        )
