"""A console session on a fake camera: replies, modes, echo, session audit, and fuzzed streams.

``Harness`` (used by the other console tests too) runs one Session over an in-memory line.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from recorder.console.auth import Authenticator, auth_message
from recorder.console.fake import FakeDevice
from recorder.console.protocol import BadLine, Line, LineDiscipline
from recorder.console.session import IDLE_TIMEOUT_S, PROMPT, Session


def technician_key(label: str = "technician") -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


class Harness:
    """One session on a FakeDevice that trusts ``technician_key()``; echo off unless asked."""

    def __init__(
        self,
        device: FakeDevice | None = None,
        auth: Authenticator | None = None,
        *,
        echo: bool = False,
    ) -> None:
        self.key = technician_key()
        self.device = device or FakeDevice(technicians=[self.key.public_key()])
        self.auth = auth or Authenticator(self.device.now, self.device.technician_keys)
        self.out = bytearray()
        self.session = Session(self.device, self.auth, self.out.extend, via="test")
        self.session.echo = echo

    def raw(self, data: bytes) -> str:
        self.out.clear()
        self.session.receive(data)
        return self.out.decode("utf-8", "replace")

    def lines(self, line: str) -> list[str]:
        """What one command printed, without prompts and without the echo of the command."""
        echo = self.session.echo
        text = self.raw(line.encode() + b"\r").replace(PROMPT.decode(), "")
        got = [ln for ln in text.split("\r\n") if ln]
        return got[1:] if echo and got[:1] == [line] else got

    def reply(self, line: str) -> tuple[list[str], str]:
        """Body lines (unindented) and the terminal line of one command, in text mode."""
        got = self.lines(line)
        assert got, f"no reply to {line!r}"
        assert got[-1] == "OK" or got[-1].startswith("ERR "), got
        assert all(ln.startswith("  ") for ln in got[:-1]), got
        return [ln[2:] for ln in got[:-1]], got[-1]

    def ok(self, line: str) -> list[str]:
        body, end = self.reply(line)
        assert end == "OK", (line, body, end)
        return body

    def err(self, line: str) -> str:
        body, end = self.reply(line)
        assert end.startswith("ERR "), (line, body, end)
        return end

    def json(self, line: str) -> dict[str, Any]:
        got = self.lines(line)
        assert len(got) == 1, got
        obj = json.loads(got[0])
        assert isinstance(obj, dict)
        return obj

    def sign(self, nonce_hex: str, key: Ed25519PrivateKey | None = None) -> str:
        message = auth_message(self.device.device_id, bytes.fromhex(nonce_hex))
        return (key or self.key).sign(message).hex()

    def nonce(self) -> str:
        body = self.ok("AUTH?")
        return next(ln.split(": ")[1] for ln in body if ln.startswith("nonce: "))

    def authenticate(self, key: Ed25519PrivateKey | None = None) -> str:
        return self.reply(f"AUTH {self.sign(self.nonce(), key)}")[1]


def test_a_technician_with_picocom_gets_a_greeting_a_prompt_and_echo() -> None:
    h = Harness(echo=True)
    h.out.clear()
    h.session.connected()
    assert "bodycam console" in h.out.decode() and h.out.endswith(PROMPT)
    text = h.raw(b"st\x7fTATUS?\r")
    assert text.startswith("st\b \bTATUS?\r\n")
    assert "  state: BUFFERING\r\n" in text and text.endswith("OK\r\n" + PROMPT.decode())
    assert h.raw(b"\r") == "\r\n" + PROMPT.decode()  # a blank line: a fresh prompt, no reply


def test_every_line_gets_exactly_one_reply() -> None:
    h = Harness()
    text = h.raw(b"*IDN?\rBOGUS\r\xff\r\r\rTIME SET 2025-01-01T00:00:00Z\r")
    terminals = [ln for ln in text.split("\r\n") if ln == "OK" or ln.startswith("ERR ")]
    assert terminals == [
        "OK",
        "ERR 404 unknown command BOGUS; type HELP",
        "ERR 400 line is not UTF-8",
        "ERR 401 authentication required: AUTH? then AUTH <signature>",
    ]
    assert h.session.replies == 4


def test_json_mode_answers_one_object_per_line() -> None:
    h = Harness()
    assert h.json("MODE JSON") == {"ok": True, "data": {"mode": "json"}}
    assert h.json("*IDN?")["data"]["serial"] == "BC-FAKE"
    assert h.json("NOPE") == {"ok": False, "code": 404, "error": "unknown command NOPE; type HELP"}
    assert h.json("\x01")["code"] == 400
    assert h.ok("MODE TEXT") == ["mode: text"]  # a mode's reply comes in the new mode
    assert h.ok("ECHO?") == ["echo: false"]


def test_a_session_opens_at_its_first_line_and_quit_closes_it() -> None:
    h = Harness()
    h.session.connected()
    assert h.device.audited == []  # a peer that says nothing is not a session
    h.ok("*IDN?")
    h.json("MODE JSON")
    assert h.json("QUIT")["ok"] is True
    (opened,) = h.device.events("console_open")
    (closed,) = h.device.events("console_close")
    assert closed["session"] == opened["session"] and closed["reason"] == "quit"
    assert closed["lines"] == 3 and closed["authenticated"] is False
    assert h.session.mode == "text" and h.session.echo  # back to the defaults
    h.ok("*IDN?")
    assert len(h.device.events("console_open")) == 2


def test_an_idle_session_closes_after_five_minutes_of_device_time() -> None:
    h = Harness()
    assert h.authenticate() == "OK"
    h.device.advance(IDLE_TIMEOUT_S - 1)
    h.session.tick()
    assert h.session.session_id is not None
    h.device.advance(2)
    h.session.tick()
    assert h.device.events("console_close")[-1]["reason"] == "idle"
    assert h.session.echo  # the defaults again
    h.session.echo = False
    assert h.err("TIME SET 2025-01-01T00:00:00Z").startswith("ERR 401")


def test_a_disconnect_closes_the_session_and_drops_authentication() -> None:
    h = Harness()
    assert h.authenticate() == "OK"
    h.raw(b"half a li")
    h.session.disconnected()
    assert h.device.events("console_close")[-1] == {
        "session": h.device.events("console_open")[-1]["session"],
        "via": "test",
        "reason": "disconnect",
        "lines": 2,
        "authenticated": True,
    }
    assert h.err("REBOOT").startswith("ERR 401")  # and the half line was forgotten


def test_a_busy_recorder_is_503_and_a_broken_handler_500_and_the_session_goes_on() -> None:
    h = Harness()
    h.ok("*IDN?")
    h.device.busy = True
    assert h.err("STATUS?") == "ERR 503 the recorder did not answer in time; try again"
    h.device.busy = False
    h.device.broken = True
    assert h.err("STATUS?") == "ERR 500 device fault: RuntimeError"
    assert h.ok("VERSION?")


def test_audit_failures_do_not_stop_the_console() -> None:
    h = Harness()
    h.device.busy = True  # console_open cannot be audited
    assert h.err("*IDN?").startswith("ERR 503")
    h.device.busy = False
    assert h.ok("VERSION?")


COMMANDS = [
    b"STATUS?\r",
    b"MODE JSON\r",
    b"MODE TEXT\r",
    b"ECHO ON\r",
    b"ECHO OFF\r",
    b"AUTH?\r",
    b"AUTH 00ff\r",
    b"QUIT\r",
    b"LOG? 3\r",
    b"SELFTEST\r",
    b"HELP\r",
    b"CONFIG SET device.officer_id x\r",
    b"TIME SET 2025-01-01T00:00:00Z\r",
    b"\x7f",
    b"\r\n",
    b"\x1b[",
    b"\x15",
    b"\x03",
]


@given(
    st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from(COMMANDS),
            st.floats(min_value=0, max_value=400),
        ),
        max_size=25,
    )
)
def test_any_byte_stream_gets_one_reply_per_line_and_never_raises(
    steps: list[bytes | float],
) -> None:
    h = Harness(echo=True)
    reference = LineDiscipline()
    lines_sent = 0
    for step in steps:
        if isinstance(step, float):
            h.device.advance(step)  # nonces expire, lockouts end, idle sessions close
            h.session.tick()
            continue
        before = len(h.out)
        h.session.receive(step)
        lines_sent += sum(isinstance(e, Line | BadLine) for e in reference.feed(step))
        assert h.session.discipline.pending <= 256
        line_ends = step.count(b"\r") + step.count(b"\n")
        assert len(h.out) - before <= 4 * len(step) + 4096 * (1 + line_ends)
    assert h.session.replies == lines_sent


@given(st.lists(st.binary(max_size=400), max_size=10))
def test_in_json_mode_noise_still_gets_one_json_object_per_line(chunks: list[bytes]) -> None:
    h = Harness()
    h.json("MODE JSON")
    h.out.clear()
    for chunk in chunks:
        h.session.receive(chunk)
    replies = [ln for ln in bytes(h.out).split(b"\r\n") if ln]
    assert len(replies) == h.session.replies - 1
    for ln in replies:
        obj = json.loads(ln)
        assert obj["ok"] in (True, False)
