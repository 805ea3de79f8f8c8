"""Configuration: a TOML file checked against one schema, which also feeds docs/configuration.md.

Every key has a type, a default and a range. :func:`load` reports *every* bad key at once, each
naming the key, the value it got and what is allowed, so an integrator fixes a file in one pass.
Unknown sections and keys are errors too: a misspelt key must not silently fall back to a default.
"""

from __future__ import annotations

import json
import re
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hal.backend import DEFAULT_PINS

__all__ = ["SCHEMA", "Config", "ConfigError", "Key", "load", "parse"]


class ConfigError(ValueError):
    """The configuration is unreadable or has values outside what is allowed."""

    def __init__(self, problems: list[str], source: str = "config") -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True)
class Key:
    default: Any
    kind: type | tuple[type, ...]
    allowed: str
    check: Callable[[Any], bool] = lambda v: True
    doc: str = ""


def _range(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda v: lo <= v <= hi


_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


def _url_ok(v: str) -> bool:
    """An http:// or https:// URL whose host and port a client can use."""
    if not _URL.match(v):
        return False
    try:
        parts = urllib.parse.urlsplit(v)
        parts.port  # noqa: B018 (raises ValueError for a port that is not one)
        return bool(parts.hostname)
    except ValueError:
        return False


def _witness_vkey_ok(v: str) -> bool:
    if v == "":
        return True
    from recorder.evidence.note import TIMESTAMPED_ED25519, NoteError, Verifier

    try:
        return Verifier.parse(v).sig_type == TIMESTAMPED_ED25519
    except (NoteError, ValueError):
        return False


GPSD_SOCKET = "/run/bodycam-gpsd/gpsd.sock"
"""systemd/bodycam-gpsd.socket's ListenStream=: the daemon, with no network, reaches gpsd there."""
_SUN_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes on Linux, with the terminating NUL


def _gpsd_host_ok(v: str) -> bool:
    if any(c.isspace() or c == "\0" for c in v):
        return False
    if v.startswith("/"):
        return len(v.encode("utf-8", "surrogatepass")) <= _SUN_PATH_MAX and not v.endswith("/")
    return 1 <= len(v) <= 253


REGION = re.compile(r"(?![0-9]+$)[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")
"""An S3 region name (``fullmatch``): what botocore accepts (a host label, not all digits),
lower case, at most 32."""
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


_MiB = 1024 * 1024

SCHEMA: dict[str, dict[str, Key]] = {
    "device": {
        "id": Key(
            "BC-0000",
            str,
            "1-64 of A-Z a-z 0-9 . _ -",
            lambda v: bool(_ID.match(v)),
            "The camera's serial or asset id, written into every header.",
        ),
        "officer_id": Key(
            "",
            str,
            "0-64 characters",
            lambda v: len(v) <= 64,
            "Who wears the camera; written into media headers.",
        ),
        "backend": Key(
            "pi",
            str,
            "sim or pi",
            lambda v: v in ("sim", "pi"),
            "Which hardware backend to load. Never falls back to another; "
            "`bodycam sim` always uses sim.",
        ),
        "state_dir": Key(
            "/var/lib/bodycam/state",
            str,
            "a path",
            lambda v: bool(v),
            "Device key, agency recipients and stream sequence numbers.",
        ),
        "evidence_dir": Key(
            "/var/lib/bodycam/evidence",
            str,
            "a path",
            lambda v: bool(v),
            "Where segments and audit logs are written.",
        ),
    },
    "video": {
        "width": Key(
            1920,
            int,
            "an even number from 160 to 3840",
            lambda v: 160 <= v <= 3840 and v % 2 == 0,
            "Picture width in pixels.",
        ),
        "height": Key(
            1080,
            int,
            "an even number from 120 to 2160",
            lambda v: 120 <= v <= 2160 and v % 2 == 0,
            "Picture height in pixels.",
        ),
        "fps": Key(30, int, "1 to 60", _range(1, 60), "Frames per second."),
        "bitrate": Key(
            8_000_000,
            int,
            "100000 to 50000000 bit/s",
            _range(100_000, 50_000_000),
            "H.264 target bitrate.",
        ),
        "keyframe_interval_s": Key(
            1.0,
            (int, float),
            "0.25 to 10 seconds",
            _range(0.25, 10),
            "A keyframe (with SPS/PPS) starts every this many seconds.",
        ),
    },
    "recording": {
        "pre_event_s": Key(
            30.0,
            (int, float),
            "0 to 120 seconds",
            _range(0, 120),
            "Seconds kept before a trigger (at least this, from a keyframe).",
        ),
        "pre_event_max_mib": Key(
            256, int, "1 to 2048 MiB", _range(1, 2048), "Memory cap of the pre-event buffer."
        ),
        "pre_event_audio": Key(
            False,
            bool,
            "true or false",
            doc="Keep the audio in the pre-event buffer too, so a trigger's pre-roll has sound. "
            "false (as Axon and Axis ship): the pre-roll is silent and the audio starts at the "
            "trigger; the microphone's sound before it is never kept.",
        ),
        "post_event_s": Key(
            0.0, (int, float), "0 to 600 seconds", _range(0, 600), "Seconds recorded after a stop."
        ),
        "stop_hold_s": Key(
            3.0,
            (int, float),
            "1 to 10 seconds",
            _range(1, 10),
            "How long the record button must be held to stop.",
        ),
        "reminder_s": Key(
            120.0,
            (int, float),
            "0 (off) or 10 to 3600 seconds",
            lambda v: v == 0 or 10 <= v <= 3600,
            "A haptic and beep reminder every this many seconds of recording.",
        ),
        "segment_s": Key(
            60.0,
            (int, float),
            "10 to 600 seconds",
            _range(10, 600),
            "Segments roll at the first keyframe after this long.",
        ),
        "max_recording_s": Key(
            3600.0,
            (int, float),
            "60 to 86400 seconds",
            _range(60, 86400),
            "A recording this long rolls over to a new one, losing no frame.",
        ),
        "record_interval_s": Key(
            1.0,
            (int, float),
            "0.2 to 5 seconds",
            _range(0.2, 5),
            "Media per record: the most a power cut can lose.",
        ),
        "suite": Key(
            "aes-256-gcm",
            str,
            "aes-256-gcm or chacha20-poly1305",
            lambda v: v in ("aes-256-gcm", "chacha20-poly1305"),
            "Record encryption; ChaCha20 is faster on a Pi 4 (no AES instructions).",
        ),
        "holster_trigger": Key(
            True, bool, "true or false", doc="Drawing from the holster starts recording."
        ),
        "external_trigger": Key(
            True, bool, "true or false", doc="The external trigger line starts recording."
        ),
        "resume_after_power_loss": Key(
            True,
            bool,
            "true or false",
            doc="A camera that lost power while recording records again as soon as it is back.",
        ),
        "queue_s": Key(
            5.0,
            (int, float),
            "1 to 30 seconds",
            _range(1, 30),
            "Frames the camera may run ahead of the writer before frames drop.",
        ),
    },
    "storage": {
        "low_space_percent": Key(
            10,
            (int, float),
            "1 to 50",
            _range(1, 50),
            "Below this much free space: warning LED and audit event.",
        ),
        "reserve_mib": Key(
            16,
            int,
            "1 to 1024 MiB",
            _range(1, 1024),
            "Kept free so a segment and the audit log can always close.",
        ),
    },
    "battery": {
        "low_percent": Key(
            15,
            (int, float),
            "1 to 50",
            _range(1, 50),
            "Below this: warning LED, haptic and audit event.",
        ),
    },
    "audio": {
        "enabled": Key(
            True,
            bool,
            "true or false",
            doc="Record sound (AAC-LC, 48 kHz mono) with the pictures. false: no microphone "
            "(STATUS? says so).",
        ),
        "device": Key(
            "default",
            str,
            "an ALSA PCM name of 1-100 printable characters, such as default, hw:CARD=sndrpii2s,0 "
            "or plughw:1,0",
            lambda v: 1 <= len(v) <= 100 and v.isprintable() and not v.isspace(),
            "The ALSA capture device, by its card's name, not its number (`arecord -l`): "
            "`plughw:CARD=adau7002,DEV=0` for the I2S microphone of install-pi.md 5b (the "
            "package's bodycam.toml names it), `plughw:CARD=<name>,DEV=0` for a USB one; "
            "`plughw:` converts a format or rate the daemon does not take, `hw:` must give "
            "48 kHz. `default` on a Pi OS Lite card is HDMI, which has no capture. Pi only.",
        ),
        "bitrate": Key(
            64_000,
            int,
            "64000 to 96000 bit/s",
            _range(64_000, 96_000),
            "The AAC encoder's target bitrate.",
        ),
    },
    "gnss": {
        "enabled": Key(
            True,
            bool,
            "true or false",
            doc="Read fixes from gpsd: positions in the evidence, and the time for a clock "
            "never set. false: no receiver (STATUS? says so).",
        ),
        "gpsd_host": Key(
            GPSD_SOCKET,
            str,
            "the absolute path of a Unix socket (at most 107 bytes), or a host name or address "
            "(1-253 characters); no spaces",
            _gpsd_host_ok,
            "Where gpsd listens (it owns the receiver's UART). A path: a Unix socket, the "
            "package's proxy to gpsd (bodycam-gpsd.socket); a host: TCP, with `gpsd_port`. "
            "Pi only.",
        ),
        "gpsd_port": Key(
            2947,
            int,
            "1 to 65535",
            _range(1, 65535),
            "gpsd's TCP port, when `gpsd_host` is a host. Pi only.",
        ),
    },
    "sim": {
        "speed": Key(
            "max",
            str,
            "max or realtime",
            lambda v: v in ("max", "realtime"),
            "max: as fast as the machine allows; realtime: paced to the wall clock.",
        ),
        "storage_capacity_mib": Key(
            0,
            int,
            "0 (the real volume) or 1 to 1048576 MiB",
            _range(0, 1 << 20),
            "Simulated evidence volume size.",
        ),
        "clock_never_set": Key(
            False, bool, "true or false", doc="Start the simulated clock as never set."
        ),
        "scenario": Key(
            "",
            str,
            'a path, or "" for none',
            lambda v: len(v) < 4096,
            "A scenario `bodycam run` plays on the sim backend (to check the service under "
            "systemd); `bodycam sim --scenario` overrides it.",
        ),
    },
    "console": {
        "pty": Key(
            False,
            bool,
            "true or false",
            doc="Serve the technician console on a new pty and print its path (the simulator).",
        ),
        "socket": Key(
            "/run/bodycam/console.sock",
            str,
            'a path, or "" for none',
            lambda v: len(v) < 100,
            "Unix socket the console bridge (bodycam-console@TTY) connects to.",
        ),
    },
    "offload": {
        "endpoint": Key(
            "",
            str,
            'an http:// or https:// URL, or "" for AWS S3',
            lambda v: v == "" or _url_ok(v),
            "The S3 store evidence is offloaded to (Ceph RGW, MinIO, AWS).",
        ),
        "region": Key(
            "us-east-1",
            str,
            "1-32 of a-z 0-9 -, not starting or ending with -, not all digits",
            lambda v: bool(REGION.fullmatch(v)),
            "The S3 region requests are signed for.",
        ),
        "bucket": Key(
            "",
            str,
            'an S3 bucket name (3-63 of a-z 0-9 . -), or "" (offload not set up)',
            lambda v: v == "" or bool(_BUCKET.fullmatch(v)),
            "The bucket, made with Object Lock enabled; offload refuses one without.",
        ),
        "retention_days": Key(
            0,
            int,
            "1 to 36500 days, or 0 (not set: offload refuses to run)",
            _range(0, 36500),
            "COMPLIANCE retention of every object: nobody can delete it or shorten it before.",
        ),
        "credentials_file": Key(
            "",
            str,
            'a path, or "" for AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment',
            lambda v: "\0" not in v,
            "AWS shared credentials file ([default]), mode 0600; never the keys themselves.",
        ),
        "limit_mbps": Key(
            0.0,
            (int, float),
            "0 (no cap) or 0.1 to 100000 Mbit/s",
            lambda v: v == 0 or 0.1 <= v <= 100_000,
            "Bandwidth cap of the upload; `bodycam offload --limit-mbps` overrides it.",
        ),
        "part_mib": Key(
            8,
            int,
            "5 to 512 MiB",
            _range(5, 512),
            "Files larger than this go in parts of this size, resumed after a cut.",
        ),
        "witness_url": Key(
            "",
            str,
            'an http:// or https:// URL, or "" (no witness)',
            lambda v: v == "" or _url_ok(v),
            "The agency witness each offload asks to cosign the camera's latest checkpoint.",
        ),
        "witness_vkey": Key(
            "",
            str,
            'a witness\'s note verifier key (bodycam witness vkey), or ""',
            _witness_vkey_ok,
            "The witness's public key: its cosignature is checked, and audited with its time.",
        ),
        "free_space": Key(
            False,
            bool,
            "true or false (true needs witness_url and witness_vkey)",
            doc="Delete a local file once its upload is confirmed and a cosigned checkpoint "
            "covers it; the daemon audits each deletion first.",
        ),
    },
    "pins": {
        name: Key(
            pin,
            int,
            "a BCM GPIO number from 0 to 27",
            _range(0, 27),
            f"GPIO for {name.replace('_', ' ')}; no two functions may share a pin.",
        )
        for name, pin in DEFAULT_PINS.items()
    },
}


def _type_ok(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return kind is bool or (isinstance(kind, tuple) and bool in kind)
    return isinstance(value, kind)


@dataclass(frozen=True)
class Config:
    """A checked configuration: ``config["recording"]["pre_event_s"]`` or ``config.get(...)``."""

    values: Mapping[str, Mapping[str, Any]]
    source: str = "defaults"

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self.values[section]

    def get(self, dotted: str) -> Any:
        section, key = dotted.split(".", 1)
        return self.values[section][key]

    @property
    def state_dir(self) -> Path:
        return Path(self["device"]["state_dir"])

    @property
    def evidence_dir(self) -> Path:
        return Path(self["device"]["evidence_dir"])

    def to_toml(self) -> str:
        """The whole configuration as TOML (every key, defaults included)."""
        lines = []
        for section, values in self.values.items():
            lines.append(f"[{section}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
            lines.append("")
        return "\n".join(lines)

    def replace(self, changes: Mapping[str, Any]) -> Config:
        """A new Config with dotted keys changed; every change is checked as in a file."""
        raw: dict[str, dict[str, Any]] = {s: dict(v) for s, v in self.values.items()}
        for dotted, value in changes.items():
            section, _, key = dotted.partition(".")
            raw.setdefault(section, {})[key] = value
        return parse(raw, self.source)


def parse(raw: Mapping[str, Any], source: str = "config") -> Config:
    problems: list[str] = []
    values: dict[str, dict[str, Any]] = {}
    for section in raw:
        if section not in SCHEMA:
            problems.append(f"unknown section [{section}]; allowed: {', '.join(SCHEMA)}")
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        if not isinstance(given, Mapping):
            problems.append(f"[{section}] must be a table")
            given = {}
        for key in given:
            if key not in keys:
                problems.append(
                    f"unknown key {section}.{key}; allowed in [{section}]: {', '.join(keys)}"
                )
        out: dict[str, Any] = {}
        for key, spec in keys.items():
            value = given.get(key, spec.default)
            if not _type_ok(value, spec.kind) or not spec.check(value):
                problems.append(f"{section}.{key} = {value!r}: must be {spec.allowed}")
                value = spec.default
            out[key] = float(value) if spec.kind == (int, float) else value
        values[section] = out
    o = values["offload"]
    if bool(o["witness_url"]) != bool(o["witness_vkey"]):
        problems.append("offload.witness_url and witness_vkey: both are set, or neither")
    if o["free_space"] and not o["witness_vkey"]:
        problems.append(
            "offload.free_space = true: must be false without a witness (offload.witness_url "
            "and witness_vkey), since only a cosigned checkpoint may free a file"
        )
    pins = list(values["pins"].values())
    if len(set(pins)) != len(pins):
        problems.append(f"pins: two functions share one pin ({values['pins']})")
    if problems:
        raise ConfigError(problems, source)
    return Config(values, source)


def load(path: Path) -> Config:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(["no such file"], str(path)) from None
    except OSError as e:
        raise ConfigError([f"cannot read: {e.strerror}"], str(path)) from None
    except UnicodeDecodeError as e:
        raise ConfigError([f"not UTF-8 at byte {e.start}"], str(path)) from None
    except ValueError as e:  # a NUL or an unencodable character in the name
        raise ConfigError([f"not a usable file name: {e}"], repr(str(path))) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"not valid TOML: {e}"], str(path)) from None
    return parse(raw, str(path))


def defaults() -> Config:
    return parse({}, "defaults")
