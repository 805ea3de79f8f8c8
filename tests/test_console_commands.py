"""Every console command against a fake camera, in text and JSON, and the parser under fuzzing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from recorder.console.commands import (
    COMMANDS,
    Mode,
    Reply,
    parse,
    parse_time,
    render,
    render_error,
)
from recorder.console.device import SETTABLE, DeviceAccess, parse_setting
from recorder.console.errors import BadArgument, Busy, ConsoleError, Forbidden, UnknownCommand
from recorder.console.protocol import printable
from recorder.control import Control
from recorder.evidence.keys import fingerprint, raw_public
from recorder.selftest import check_keys
from tests.simdevice import SimDevice
from tests.test_console_session import Harness


def test_idn_answers_maker_model_serial_firmware() -> None:
    h = Harness()
    assert h.ok("*IDN?") == ["bodycam project,bodycam-pi,BC-FAKE,0.1.0"]
    h.json("MODE JSON")
    assert h.json("*idn?")["data"] == {
        "maker": "bodycam project",
        "model": "bodycam-pi",
        "serial": "BC-FAKE",
        "firmware": "0.1.0",
    }


@pytest.mark.parametrize(
    ("command", "expect"),
    [
        ("VERSION?", "protocol: bodycam-console/1"),
        ("STATUS?", "state: BUFFERING"),
        ("BATTERY?", "percent: 87.5 %"),
        ("STORAGE?", "free_percent: 50 %"),
        ("TIME?", "utc: 2024-06-01T00:00:00.000000Z"),
        ("KEYS?", "agency: 1111 1111 1111 1111"),
        ("SELFTEST", "PASS camera: 15 frame(s) arrived"),
        ("CONFIG?", "recording.pre_event_s: 30.0"),
        ("CONFIG? device.officer_id", 'device.officer_id: ""'),
        ("ECHO?", "echo: false"),
        ("MODE?", "mode: text"),
        ("HELP TIME SET", "TIME SET <RFC3339|EPOCH>  set the wall clock (needs AUTH; audited)"),
        ("help", "QUIT                      end the session (drops AUTH)"),
    ],
)
def test_read_only_commands_answer_ok_in_text(command: str, expect: str) -> None:
    assert expect in Harness().ok(command)


def test_selftest_names_the_device_key_by_the_fingerprint_keys_shows(tmp_path: Path) -> None:
    cam = SimDevice.provision(tmp_path)
    fp = fingerprint(raw_public(cam.device_pub))  # what KEYS? and AUTH show
    assert check_keys(cam.config.state_dir).detail == f"device key {fp}; 1 agency recipient(s)"


def test_help_fits_an_80_column_terminal() -> None:
    h = Harness()
    shown = h.lines("HELP") + [ln for name in COMMANDS for ln in h.lines(f"HELP {name}")]
    assert len(shown) == 2 * len(COMMANDS) + 1 + len(COMMANDS)
    too_wide = [ln for ln in shown if len(ln) > 80]
    assert not too_wide


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in ("REBOOT", "QUIT", "EXIT")])
def test_every_command_answers_one_json_object(command: str) -> None:
    h = Harness()
    h.json("MODE JSON")
    usage = COMMANDS[command].usage.split()
    args = {"ECHO": " OFF", "MODE": " JSON", "AUTH": " 00", "TIME SET": " 1735787045"}
    args["CONFIG SET"] = " device.officer_id A-17"
    reply = h.json(command + args.get(command, ""))
    assert reply["ok"] or reply["code"] in (401, 403), (usage, reply)


def test_commands_are_case_insensitive_and_unknown_ones_are_404() -> None:
    h = Harness()
    assert h.ok("status?")
    assert h.ok("Config?")
    assert h.ok("mode text")
    assert h.err("FROB") == "ERR 404 unknown command FROB; type HELP"
    assert h.err("TIME") == "ERR 422 usage: TIME SET <RFC3339|EPOCH>"
    assert h.err("STATUS? now") == "ERR 422 usage: STATUS?"
    assert h.err("LOG? 0") == "ERR 422 LOG? N: N must be a number from 1 to 500"
    assert h.err("ECHO MAYBE") == "ERR 422 expected ON or OFF, got MAYBE"


def test_log_lists_the_newest_verified_events() -> None:
    h = Harness()
    h.authenticate()
    h.ok("TIME SET 1735787045")
    body = h.ok("LOG? 2")
    assert len(body) == 3 and body[-1] == "audit log: OK (1 file(s), #1 open)"
    assert " clock_set " in body[0] and " console_command " in body[1]
    h.json("MODE JSON")
    data = h.json("LOG?")["data"]
    assert data["audit"]["verdict"] == "OK" and data["events"][0]["event"] == "console_open"


def test_a_failed_selftest_is_err_500_with_every_check() -> None:
    h = Harness()
    h.device.checks.append({"name": "clock", "status": "FAIL", "detail": "never set"})
    body, end = h.reply("SELFTEST")
    assert end == "ERR 500 self-test failed: clock"
    assert "FAIL clock: never set" in body and "PASS camera: 15 frame(s) arrived" in body
    h.json("MODE JSON")
    reply = h.json("SELFTEST")
    assert reply["ok"] is False and reply["code"] == 500 and len(reply["data"]["checks"]) == 3


def test_config_set_takes_only_whitelisted_keys_and_checks_values() -> None:
    h = Harness()
    assert h.err("CONFIG SET device.officer_id A").startswith("ERR 401")
    assert h.authenticate() == "OK"
    assert h.ok("CONFIG SET recording.post_event_s 5") == ["recording.post_event_s: 5.0"]
    assert h.ok('CONFIG SET device.officer_id "Jo Smith"') == ["device.officer_id: Jo Smith"]
    assert h.err("CONFIG SET storage.reserve_mib 1").startswith(
        "ERR 403 storage.reserve_mib cannot be set over the console; allowed: "
    )
    assert h.err("CONFIG SET device.backend sim").startswith("ERR 403")
    assert h.err("CONFIG SET recording.stop_hold_s 0.5") == (
        "ERR 422 recording.stop_hold_s = 0.5: must be 1 to 10 seconds"
    )
    assert h.err("CONFIG SET recording.reminder_s nan").startswith("ERR 422")
    assert h.err("CONFIG SET battery.low_percent 1e3").startswith("ERR 422")
    changes = h.device.events("config_change")
    assert [c["key"] for c in changes] == ["recording.post_event_s", "device.officer_id"]
    results = [c["result"] for c in h.device.events("console_command")]
    assert results == ["OK", "OK", "ERR 403", "ERR 403", "ERR 422", "ERR 422", "ERR 422"]


def test_time_set_takes_rfc3339_with_an_offset_or_epoch_seconds() -> None:
    assert parse_time("2025-01-02T03:04:05Z") == 1735787045.0
    assert parse_time("2025-01-02t04:04:05.5+01:00") == 1735787045.5
    assert parse_time("1735787045") == 1735787045.0
    for bad in ("2025-01-02T03:04:05", "2025-13-02T03:04:05Z", "yesterday", "1e9", "99", "-5"):
        with pytest.raises(BadArgument):
            parse_time(bad)
    with pytest.raises(BadArgument, match="between 2020"):
        parse_time("1999-01-01T00:00:00Z")
    h = Harness()
    h.authenticate()
    assert h.err("TIME SET 2025-01-02T03:04:05").startswith("ERR 422 time must be RFC 3339")
    assert "source: manual" in h.ok("TIME SET 1735787045")


def test_reboot_replies_then_restarts_and_is_audited_first() -> None:
    h = Harness()
    assert h.err("REBOOT").startswith("ERR 401")
    assert h.device.reboots == []
    h.authenticate()
    assert h.ok("REBOOT") == ["the firmware restarts now"]
    assert len(h.device.reboots) == 1 and h.device.reboots[0].startswith("technician ")
    assert h.device.audited[-1][0] == "console_command"


def test_settable_values_convert_to_the_schema_type() -> None:
    assert parse_setting("recording.pre_event_s", "45") == 45.0
    assert parse_setting("storage.low_space_percent", "12.5") == 12.5
    assert parse_setting("device.officer_id", '""') == ""
    with pytest.raises(Forbidden):
        parse_setting("device.state_dir", "/tmp")
    for key in SETTABLE:
        with pytest.raises(BadArgument):
            parse_setting(key, "x" * 65 if key == "device.officer_id" else "twelve")


def test_replies_never_carry_a_control_character() -> None:
    assert printable("a\x1b[2Jb\r\nc\u202e") == "a\\x1b[2Jb\\x0d\\x0ac\\u202e"
    h = Harness()
    h.authenticate()
    h.device.settings["device.officer_id"] = "evil\x1b[2J\r\nOK"
    body = h.ok("CONFIG? device.officer_id")
    assert body == ["device.officer_id: evil\\x1b[2J\\x0d\\x0aOK"]


@example("\u202e", "text")
@example("\x9b2J\x7f", "json")
@given(st.text(max_size=200), st.sampled_from(["text", "json"]))
def test_a_reply_about_any_text_is_printable_lines(text: str, mode: Mode) -> None:
    out = render(Reply({"value": text, "list": [text]}), mode)
    out += render_error(BadArgument(text, lines=[text]), mode)
    shown = out.decode("ascii" if mode == "json" else "utf-8")
    lines = shown.split("\r\n")
    assert lines[-1] == "" and all(ln.isprintable() for ln in lines)
    assert len(lines) == (3 if mode == "json" else 6)


@given(st.text(max_size=300))
def test_the_parser_takes_any_text_and_answers_with_a_command_or_a_console_error(
    text: str,
) -> None:
    try:
        cmd, args = parse(text)
    except (UnknownCommand, BadArgument):
        return
    assert cmd.min_args <= len(args) <= cmd.max_args


@given(st.lists(st.sampled_from([*COMMANDS, "x", "ON", "JSON", "1", "device.officer_id", ""])))
def test_the_parser_takes_any_word_salad(words: list[str]) -> None:
    try:
        parse(" ".join(words))
    except ConsoleError as e:
        assert e.code in (404, 422)


def test_a_recorder_that_does_not_answer_is_503_not_a_hang(tmp_path: Path) -> None:
    access = DeviceAccess(
        Control(),  # nobody runs its requests
        state_dir=tmp_path,
        evidence_dir=tmp_path,
        clock_now=lambda: 0.0,
        reboot=print,
        timeout=0.05,
    )
    with pytest.raises(Busy):
        access.status()
    h = Harness(access)  # type: ignore[arg-type]
    h.device = access  # type: ignore[assignment]
    assert h.err("STATUS?") == "ERR 503 the recorder did not answer in time; try again"
    assert h.ok("VERSION?")  # what needs no recorder still answers
