"""Technician authentication: challenge, answer, replay, expiry, lockout; all audited."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recorder.console.auth import (
    AUTH_CONTEXT,
    LOCKOUT_FIRST_S,
    LOCKOUT_MAX_S,
    MAX_FAILURES,
    NONCE_TTL_S,
    Authenticator,
    auth_message,
    lockout_delay,
)
from recorder.evidence.keys import fingerprint, raw_public
from tests.test_console_session import Harness, technician_key

TIME_SET = "TIME SET 2025-01-02T03:04:05Z"


def test_the_signed_message_is_the_context_the_device_id_and_the_nonce() -> None:
    nonce = bytes(range(32))
    assert AUTH_CONTEXT == b"bodycam/v1 console auth\x00"
    assert auth_message("BC-0001", nonce) == b"bodycam/v1 console auth\x00BC-0001" + nonce
    with pytest.raises(ValueError):
        auth_message("BC-0001", b"short")


def test_a_technician_key_unlocks_privileged_commands_for_the_session() -> None:
    h = Harness()
    assert h.err(TIME_SET) == "ERR 401 authentication required: AUTH? then AUTH <signature>"
    assert h.authenticate() == "OK"
    assert h.ok(TIME_SET)[-1] == "utc: 2025-01-02T03:04:05.000000Z"
    fp = fingerprint(raw_public(h.key.public_key()))
    (ok,) = h.device.events("console_auth")
    assert ok["result"] == "ok" and ok["technician"] == fp
    (cmd,) = h.device.events("console_command")
    assert cmd["command"] == "TIME SET" and cmd["args"] == ["2025-01-02T03:04:05Z"]
    assert cmd["by"] == fp and cmd["result"] == "OK"
    assert h.device.events("clock_set")[0]["by"] == f"technician {fp}"
    assert h.ok("QUIT") == []
    h.session.echo = False
    assert h.err(TIME_SET).startswith("ERR 401")  # QUIT ended it


def test_a_challenge_says_how_long_it_is_valid_in_whole_seconds() -> None:
    h = Harness()
    assert "expires_s: 60" in h.ok("AUTH?")
    h.json("MODE JSON")
    data = h.json("AUTH?")["data"]
    assert data["expires_s"] == 60 and isinstance(data["expires_s"], int)


def test_no_signature_or_nonce_is_ever_audited() -> None:
    h = Harness()
    nonce = h.nonce()
    signature = h.sign(nonce)
    h.reply(f"AUTH {signature}")
    h.reply(f"AUTH {signature}")
    text = repr(h.device.audited)
    assert signature not in text and nonce not in text


def test_a_key_that_is_not_installed_fails() -> None:
    h = Harness()
    stranger = technician_key("someone else")
    assert h.authenticate(stranger) == (
        "ERR 401 authentication failed: signature does not verify with any installed technician key"
    )
    (failed,) = h.device.events("console_auth")
    assert failed["result"] == "failed" and failed["failures"] == 1
    assert h.err(TIME_SET).startswith("ERR 401")


def test_a_nonce_answers_once() -> None:
    h = Harness()
    nonce = h.nonce()
    signature = h.sign(nonce)
    assert h.reply(f"AUTH {signature}")[1] == "OK"
    h.ok("QUIT")
    h.session.echo = False
    assert h.err(f"AUTH {signature}") == (
        "ERR 401 authentication failed: no challenge outstanding: send AUTH? first"
    )
    h.nonce()  # a fresh challenge does not revive the old answer
    assert h.err(f"AUTH {signature}").startswith("ERR 401 authentication failed: signature")


def test_a_replayed_answer_fails_in_another_session_too() -> None:
    first = Harness()
    signature = first.sign(first.nonce())
    assert first.reply(f"AUTH {signature}")[1] == "OK"
    second = Harness(first.device, first.auth)
    assert second.err(f"AUTH {signature}").startswith("ERR 401")
    second.nonce()
    assert second.err(f"AUTH {signature}").startswith("ERR 401")


def test_a_nonce_expires_after_60_s_of_device_time() -> None:
    h = Harness()
    nonce = h.nonce()
    h.device.advance(NONCE_TTL_S + 0.001)
    assert h.err(f"AUTH {h.sign(nonce)}") == (
        "ERR 401 authentication failed: challenge expired (valid 60 s)"
    )
    nonce = h.nonce()
    h.device.advance(NONCE_TTL_S - 1)
    assert h.reply(f"AUTH {h.sign(nonce)}")[1] == "OK"


def test_malformed_answers_fail_and_count() -> None:
    h = Harness()
    h.nonce()
    assert h.err("AUTH xyz") == "ERR 401 authentication failed: signature is not hex"
    h.nonce()
    assert h.err("AUTH abcd").endswith("(128 hex digits)")
    assert h.err("AUTH").startswith("ERR 422 usage")
    assert h.auth.failures == 2


def test_five_failures_lock_out_every_session_for_a_growing_delay() -> None:
    h = Harness()
    stranger = technician_key("attacker")
    for _ in range(MAX_FAILURES - 1):
        assert h.authenticate(stranger).startswith("ERR 401")
    assert h.authenticate(stranger) == (
        "ERR 403 signature does not verify with any installed technician key; 5 failures: "
        "authentication locked out; try again in 30 s"
    )
    # Reconnecting does not help, the right key does not help, and the attempts are not audited.
    other = Harness(h.device, h.auth)
    audited = len(h.device.audited)
    assert other.err("AUTH?") == "ERR 403 authentication locked out; try again in 30 s"
    assert other.err("AUTH " + "00" * 64) == "ERR 403 authentication locked out; try again in 30 s"
    assert len(h.device.audited) == audited + 1  # only the second session's console_open
    assert h.ok("STATUS?")  # reading stays possible while locked
    h.device.advance(LOCKOUT_FIRST_S - 1)
    assert h.err("AUTH?").endswith("try again in 1 s")
    h.device.advance(1)
    # Still failing after the lockout: locked again at once, for twice as long.
    assert h.authenticate(stranger).endswith("try again in 60 s")
    locks = [e for e in h.device.events("console_auth") if e["result"] == "locked"]
    assert [e["lockout_s"] for e in locks] == [30.0, 60.0]
    assert [e["failures"] for e in h.device.events("console_auth")] == [1, 2, 3, 4, 5, 6]
    h.device.advance(60)
    assert h.authenticate() == "OK"  # the right key, once unlocked, resets the count
    assert h.auth.failures == 0


def test_the_lockout_doubles_up_to_fifteen_minutes() -> None:
    delays = [lockout_delay(n) for n in range(1, 12)]
    assert delays == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900]
    assert lockout_delay(10**6) == LOCKOUT_MAX_S


def test_without_technician_keys_auth_is_refused_plainly() -> None:
    h = Harness()
    h.device.technicians.clear()
    assert h.err("AUTH?") == "ERR 403 no technician key is installed on this camera"
    assert h.auth.failures == 0


def test_any_of_several_installed_keys_works() -> None:
    h = Harness()
    second = Ed25519PrivateKey.generate()
    h.device.technicians.append(second.public_key())
    assert h.authenticate(second) == "OK"


def test_the_authenticator_alone_checks_the_exact_bytes() -> None:
    now = [0.0]
    key = technician_key()
    auth = Authenticator(lambda: now[0], lambda: [key.public_key()])
    ch = auth.challenge()
    good = key.sign(auth_message("BC-1", ch.nonce)).hex()
    wrong_device = key.sign(auth_message("BC-2", ch.nonce)).hex()
    assert type(auth.respond(ch, wrong_device, "BC-1")).__name__ == "Failure"
    assert type(auth.respond(ch, good, "BC-1")).__name__ == "Success"
