"""The recorded audio's format, from a media header's ``audio`` object (spec section 9.2).

The MP4 describes the recorded stream, not what an encoder would make: its decoder
configuration is the header's ``config`` (the camera encoder's AudioSpecificConfig), byte for
byte. Before it is used it is checked against the header's own ``rate`` and ``channels`` and
against the spec: AAC-LC (object type 2), 1024 samples a frame, mono. Every value comes from
signed evidence and may have any JSON type; what is not what it should be is a
``AudioFormatError`` naming the key, what it holds and what is allowed, never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["AAC_RATES", "AudioFormatError", "AudioTrack"]

AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
"""ISO/IEC 14496-3's samplingFrequencyIndex 0..11."""
_AAC_LC = 2
_ESCAPE_TYPE = 31
_EXPLICIT_RATE = 15
_MISSING = object()
_MAX_CONFIG = 64
"""Bytes: an AudioSpecificConfig is a few bytes; this bounds what is parsed."""


class AudioFormatError(ValueError):
    """A header's ``audio`` object does not describe audio this export can put in an MP4."""


@dataclass(frozen=True, slots=True)
class AudioTrack:
    """What the MP4 muxer needs: the format every packet of the track is in."""

    rate: int
    channels: int
    config: bytes
    """The AudioSpecificConfig, as the header gives it (the MP4's ``esds`` carries it)."""
    bitrate: int | None = None
    frame_samples: int = 1024

    @property
    def frame_us(self) -> float:
        """One packet's length, microseconds."""
        return self.frame_samples * 1e6 / self.rate

    def describe(self) -> str:
        """``AAC-LC 48000 Hz mono, 64 kbit/s, config 1188...``."""
        ch = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
        rate = f", {self.bitrate // 1000} kbit/s" if self.bitrate else ""
        return f"AAC-LC {self.rate} Hz {ch}{rate}, config {self.config.hex()}"

    def to_json(self) -> dict[str, Any]:
        return {
            "codec": "aac-lc",
            "rate": self.rate,
            "channels": self.channels,
            "bitrate": self.bitrate,
            "config": self.config.hex(),
        }

    @classmethod
    def from_meta(cls, audio: Any) -> AudioTrack:
        """The track a header's ``audio`` object describes; ``AudioFormatError`` says what is
        wrong with it."""
        if not isinstance(audio, dict):
            raise AudioFormatError(f"'audio' is {_shown(audio)}, not an object")
        codec = audio.get("codec", _MISSING)
        if codec != "aac-lc":
            raise AudioFormatError(f"audio 'codec' is {_shown(codec)}; only \"aac-lc\" is known")
        rate, channels = audio.get("rate", _MISSING), audio.get("channels", _MISSING)
        if type(rate) is not int or rate not in AAC_RATES:
            raise AudioFormatError(
                f"audio 'rate' is {_shown(rate)}; allowed: one of AAC's rates "
                f"({', '.join(map(str, AAC_RATES))})"
            )
        if type(channels) is not int or channels != 1:
            raise AudioFormatError(f"audio 'channels' is {_shown(channels)}; allowed: 1 (mono)")
        bitrate = audio.get("bitrate", _MISSING)
        if bitrate is _MISSING:
            bitrate = None
        elif bitrate is not None and (type(bitrate) is not int or not 0 < bitrate < 10**7):
            raise AudioFormatError(f"audio 'bitrate' is {_shown(bitrate)}; allowed: bit/s, > 0")
        hexed = audio.get("config", _MISSING)
        try:
            if not isinstance(hexed, str) or len(hexed) > 2 * _MAX_CONFIG:
                raise ValueError
            config = bytes.fromhex(hexed)
        except ValueError:
            raise AudioFormatError(
                f"audio 'config' is {_shown(hexed)}; allowed: the AudioSpecificConfig in hex, "
                f"at most {_MAX_CONFIG} bytes"
            ) from None
        track = cls(rate, channels, config, bitrate)
        track.check_config()
        return track

    def check_config(self) -> None:
        """The AudioSpecificConfig says AAC-LC, this rate and channel count, 1024-sample
        frames: else ``AudioFormatError``."""
        bits = _Bits(self.config)
        try:
            kind = bits.take(5)
            if kind == _ESCAPE_TYPE:
                kind = 32 + bits.take(6)
            index = bits.take(4)
            rate = bits.take(24) if index == _EXPLICIT_RATE else None
            if rate is None and index < len(AAC_RATES):
                rate = AAC_RATES[index]
            channels = bits.take(4)
            short_frames = bits.take(1) if kind == _AAC_LC else 0
        except IndexError:
            raise AudioFormatError(
                f"audio 'config' {self.config.hex() or '(empty)'} is cut short: not an "
                "AudioSpecificConfig"
            ) from None
        said = f"audio 'config' {self.config.hex()} says"
        if kind != _AAC_LC:
            raise AudioFormatError(f"{said} audio object type {kind}; AAC-LC is 2")
        if rate != self.rate:
            raise AudioFormatError(f"{said} {rate or 'a reserved'} Hz, its 'rate' {self.rate}")
        if channels != self.channels:
            raise AudioFormatError(f"{said} {channels} channels, its 'channels' {self.channels}")
        if short_frames:
            raise AudioFormatError(f"{said} 960-sample frames; the spec's are 1024")


class _Bits:
    def __init__(self, data: bytes) -> None:
        self._value = int.from_bytes(data, "big")
        self._left = 8 * len(data)

    def take(self, n: int) -> int:
        if n > self._left:
            raise IndexError
        self._left -= n
        return (self._value >> self._left) & ((1 << n) - 1)


def _shown(value: Any) -> str:
    """A value from evidence, short and printable: JSON, ASCII only, or ``missing``."""
    if value is _MISSING:
        return "missing"
    text = json.dumps(value, ensure_ascii=True, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "..."
