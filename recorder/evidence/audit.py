"""Section 10: audit events, and the audit log that writes them as signed records."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from recorder.evidence.errors import FormatError
from recorder.evidence.jsonobj import loads_object
from recorder.evidence.state import EvidenceStream

__all__ = [
    "ENVELOPE",
    "EVENTS",
    "AuditLog",
    "decode_event",
    "encode_event",
    "media_head",
    "rfc3339",
]

EVENTS = frozenset(
    {
        "boot",
        "shutdown",
        "recovered",
        "record_start",
        "record_stop",
        "post_record",
        "segment_open",
        "segment_close",
        "marker",
        "mute",
        "unmute",
        "stealth_on",
        "stealth_off",
        "config_change",
        "clock_set",
        "storage_low",
        "storage_full",
        "battery_low",
        "fault",
        "console_open",
        "console_close",
        "console_auth",
        "console_command",
        "checkpoint",
        "cosigned",
        "freed",
    }
)


def rfc3339(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    )


_HEX64 = re.compile(r"[0-9a-f]{64}")

ENVELOPE = frozenset({"n", "event", "wall", "mono_us", "media"})
"""The keys every audit event has (section 10); the rest are the event's own fields."""


def encode_event(
    n: int,
    event: str,
    wall: float,
    mono_us: int,
    fields: dict[str, Any],
    media: dict[str, Any] | None = None,
) -> bytes:
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    reserved = ENVELOPE & fields.keys()
    if reserved:
        raise ValueError(f"audit fields {sorted(reserved)} are reserved")
    body = {"n": n, "event": event, "wall": rfc3339(wall), "mono_us": mono_us, **fields}
    if media is not None:
        body["media"] = media
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_REFERENCES = ("seq", "records")
"""Fields a reader acts on (``segment_open``, ``segment_close``, ``recovered``): a whole number,
or null where the camera did not know (a torn segment's close)."""


def _shown(value: Any) -> str:
    return json.dumps(value)[:40]


def decode_event(plaintext: bytes) -> dict[str, Any]:
    """Parse one audit event; raise FormatError naming the field that is wrong.

    A reader prints and compares the fields it checks, so their types are held to section 10:
    ``true`` is not a sequence number, even though Python counts it as an int.
    """
    event = loads_object(plaintext, "audit record")
    if not isinstance(event.get("event"), str):
        raise FormatError("audit record has no 'event' string")
    if not isinstance(event.get("wall"), str):
        raise FormatError(f"'wall' is {_shown(event.get('wall'))}; an RFC 3339 string allowed")
    if type(event.get("n")) is not int or event["n"] < 0:
        raise FormatError(f"'n' is {_shown(event.get('n'))}; a whole number allowed")
    if type(event.get("mono_us")) is not int:
        raise FormatError(f"'mono_us' is {_shown(event.get('mono_us'))}; an integer allowed")
    for key in _REFERENCES:
        value = event.get(key)
        if value is not None and (type(value) is not int or value < 0):
            raise FormatError(f"'{key}' is {_shown(value)}; a whole number or null allowed")
    if event.get("media") is not None:
        media_head(event)
    return event


def media_head(event: dict[str, Any]) -> tuple[int, int, bytes] | None:
    """The media stream's head an event carries (section 10.1): (seq, records, chain), or None
    when it has none; raise FormatError naming what is wrong."""
    head = event.get("media")
    if head is None:
        return None
    if not isinstance(head, dict) or set(head) != {"seq", "records", "chain"}:
        raise FormatError(f"'media' is {_shown(head)}; an object of seq, records and chain allowed")
    seq, records, chain = head["seq"], head["records"], head["chain"]
    if type(seq) is not int or seq < 1 or type(records) is not int or records < 0:
        raise FormatError(f"'media' is {_shown(head)}; seq >= 1 and records >= 0 allowed")
    if not isinstance(chain, str) or not _HEX64.fullmatch(chain):
        raise FormatError(f"'media' chain is {_shown(chain)}; 64 lowercase hex digits allowed")
    return seq, records, bytes.fromhex(chain)


class AuditLog:
    """Appends events to the audit stream, one durable record each.

    The caller passes the clock readings, so this stays free of hidden I/O beyond the stream.
    One audit file spans one daemon run; it is closed at shutdown (or rolled by :meth:`roll`).
    """

    def __init__(self, stream: EvidenceStream, meta: dict[str, Any]) -> None:
        self.stream = stream
        self._meta = meta
        self._n = 0

    @property
    def is_open(self) -> bool:
        return self.stream.current is not None

    @property
    def seq(self) -> int | None:
        return self.stream.current.seq if self.stream.current else None

    def position(self) -> dict[str, int]:
        """Where the next event will stand: ``{"audit_seq": file, "audit_n": event number}``
        (empty before the first event has opened a file). A media header carries it (4.1)."""
        seq = self.seq
        return {} if seq is None else {"audit_seq": seq, "audit_n": self._n}

    def log(
        self,
        event: str,
        *,
        wall: float,
        mono_us: int,
        media: dict[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        """Append one event; it is durable when this returns. Raises OSError if it is not.

        ``media`` is the media stream's head when the event happened (section 10)."""
        if self.stream.current is not None and not self.stream.current.is_open:
            self.stream.fail()  # an earlier write failed: go on in a new, linked file
        f = self.stream.current or self.stream.open(
            dict(self._meta, wall_start=rfc3339(wall), mono_start_us=mono_us)
        )
        f.append(encode_event(self._n, event, wall, mono_us, fields, media))
        self._n += 1

    def close(self, *, wall: float, reason: str) -> None:
        if self.stream.current is not None:
            self.stream.close({"frames": self._n, "wall_end": rfc3339(wall), "reason": reason})
            self._n = 0
