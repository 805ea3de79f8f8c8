"""The console's line discipline: what picocom, screen and scripts send, and what noise sends."""

from __future__ import annotations

import random

from hypothesis import assume, example, given
from hypothesis import strategies as st

from recorder.console.protocol import (
    MAX_LINE,
    BadLine,
    Blank,
    Echo,
    Event,
    Line,
    LineDiscipline,
)

CR, LF, ETX = 13, 10, 3


def feed(data: bytes | list[bytes], *, echo: bool = True) -> tuple[list[Event], bytes]:
    """Every event but echo, and all echo joined."""
    d = LineDiscipline(echo=echo)
    events: list[Event] = []
    echoed = b""
    for chunk in [data] if isinstance(data, bytes) else data:
        for ev in d.feed(chunk):
            if isinstance(ev, Echo):
                echoed += ev.data
            else:
                events.append(ev)
    return events, echoed


def lines(data: bytes | list[bytes]) -> list[Event]:
    return feed(data)[0]


def test_picocom_sends_a_bare_cr_and_sees_its_typing_echoed() -> None:
    events, echoed = feed(b"STATUS?\r")
    assert events == [Line("STATUS?")]
    assert echoed == b"STATUS?\r\n"


def test_cr_lf_ends_one_line_even_split_across_reads() -> None:
    assert lines(b"A\r\nB\nC\r") == [Line("A"), Line("B"), Line("C")]
    assert lines([b"A\r", b"\nB\r", b"\n"]) == [Line("A"), Line("B")]
    assert lines(b"A\n\rB\r") == [Line("A"), Blank(), Line("B")]  # LF CR is two line ends


def test_del_and_backspace_erase_the_last_character_and_echo_rub_out() -> None:
    events, echoed = feed(b"STAX\x7fTUS?\r")
    assert events == [Line("STATUS?")]
    assert b"X\b \bTUS?" in echoed
    assert lines(b"AB\x08\x08\x08\x08C\r") == [Line("C")]
    assert feed(b"\x7f\x7f\r")[1] == b"\r\n"  # nothing to erase: nothing echoed


def test_erasing_removes_a_whole_utf8_character() -> None:
    assert lines("officer é".encode() + b"\x7fe\r") == [Line("officer e")]
    assert lines("a€".encode() + b"\x7f\r") == [Line("a")]


def test_a_line_over_256_bytes_is_refused_and_the_next_line_works() -> None:
    events, echoed = feed(b"A" * 300 + b"\rB\r")
    assert isinstance(events[0], BadLine) and "too long" in events[0].reason
    assert events[1] == Line("B")
    assert echoed.count(b"A") == MAX_LINE and b"\x07" in echoed
    assert lines(b"A" * MAX_LINE + b"\r") == [Line("A" * MAX_LINE)]


def test_a_64k_flood_without_a_line_end_keeps_the_buffer_bounded() -> None:
    d = LineDiscipline()
    flood = bytes(random.Random(1).choice(b"abcdefgh") for _ in range(65536))
    for i in range(0, len(flood), 1000):
        list(d.feed(flood[i : i + 1000]))
        assert d.pending <= MAX_LINE
    events = [e for e in d.feed(b"\rSTATUS?\r") if not isinstance(e, Echo)]
    assert isinstance(events[0], BadLine) and events[1] == Line("STATUS?")


def test_noise_is_refused_with_a_reason() -> None:
    assert lines(b"\xff\xfe\r") == [BadLine("line is not UTF-8")]
    assert lines(b"A\x01B\r") == [BadLine("control character 0x01")]
    assert lines(b"\x00\r") == [BadLine("control character 0x00")]
    assert lines("A\u0085B\r".encode()) == [BadLine("unprintable character U+0085")]
    assert lines(b"\x1bxA\r") == [BadLine("unsupported escape sequence")]


def test_cursor_keys_are_ignored_and_tab_is_a_space() -> None:
    assert lines(b"STA\x1b[DTUS?\x1b[A\x1bOB\r") == [Line("STATUS?")]
    assert lines(b"LOG?\t5\r") == [Line("LOG? 5")]


def test_ctrl_u_erases_the_line_and_ctrl_c_abandons_it() -> None:
    events, echoed = feed(b"REBOOT\x15STATUS?\r")
    assert events == [Line("STATUS?")]
    assert b"\b \b" * 6 in echoed
    events, echoed = feed(b"\x01junk\x03STATUS?\r")
    assert events == [Blank(), Line("STATUS?")]
    assert b"^C\r\n" in echoed


def test_blank_lines_and_spaces_are_blank() -> None:
    assert lines(b"\r   \r\x1b[A\r") == [Blank(), Blank(), Blank()]
    assert lines(b"  HELP  \r") == [Line("HELP")]


def test_with_echo_off_nothing_is_echoed() -> None:
    events, echoed = feed(b"AB\x7fC\r" + b"x" * 300 + b"\r\x15\x03", echo=False)
    assert echoed == b""
    assert events[0] == Line("AC")


def test_echo_can_change_between_events_of_one_chunk() -> None:
    d = LineDiscipline(echo=True)
    echoed = b""
    for ev in d.feed(b"ECHO OFF\rsecret\r"):
        if isinstance(ev, Line) and ev.text == "ECHO OFF":
            d.echo = False
        if isinstance(ev, Echo):
            echoed += ev.data
    assert echoed == b"ECHO OFF\r\n"


def expected_line_ends(data: bytes) -> int:
    """CR, LF not straight after CR, and Ctrl-C each end exactly one line."""
    n, after_cr = 0, False
    for b in data:
        if b == LF and after_cr:
            after_cr = False
            continue
        after_cr = b == CR
        n += b in (CR, LF, ETX)
    return n


@given(st.lists(st.binary(max_size=700), max_size=12), st.booleans())
def test_any_bytes_give_one_event_per_line_end_and_bounded_memory(
    chunks: list[bytes], echo: bool
) -> None:
    d = LineDiscipline(echo=echo)
    ends = 0
    for chunk in chunks:
        for ev in d.feed(chunk):
            assert d.pending <= MAX_LINE
            if isinstance(ev, Line):
                assert ev.text and ev.text == ev.text.strip(" ") and ev.text.isprintable()
                assert len(ev.text.encode()) <= MAX_LINE
            if isinstance(ev, Echo):
                assert ev.data and (echo or ev.data == b"")
                assert shows_nothing_that_drives_a_terminal(ev.data)
            else:
                ends += 1
        assert d.pending <= MAX_LINE
    assert ends == expected_line_ends(b"".join(chunks))


@given(st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\x7f", b"\x1b", b"[", b"\x03", b"\xc3"])))
def test_line_ends_are_counted_whatever_the_mix(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert sum(not isinstance(e, Echo) for e in lines(data)) == expected_line_ends(data)


DISCIPLINE = "\r\n\b\x07"
"""The only unprintable characters the echo may hold: line ends, rub-outs, the overflow bell."""


def shows_nothing_that_drives_a_terminal(echoed: bytes) -> bool:
    return all(ch.isprintable() or ch in DISCIPLINE for ch in echoed.decode("utf-8"))


def test_echo_escapes_c1_controls_bidi_overrides_and_bytes_that_are_not_utf8() -> None:
    events, echoed = feed("A\u202eB\u2066C\u0085D\u009b2J".encode() + b"\xff\r")
    assert echoed == b"A\\u202eB\\u2066C\\x85D\\x9b2J\\xff\r\n"
    assert events == [BadLine("line is not UTF-8")]  # and the line is refused
    assert lines("A\u202eB\r".encode()) == [BadLine("unprintable character U+202E")]
    _, echoed = feed("é€\U0001f4f7".encode())  # printable characters show as typed
    assert echoed == "é€\U0001f4f7".encode()
    _, echoed = feed(["€".encode()[:1], "€".encode()[1:]])  # split across reads
    assert echoed == "€".encode()


@example("\u202eevil")  # RIGHT-TO-LEFT OVERRIDE
@example("\x9b2J")  # C1 CSI: clears an 8-bit terminal's screen
@example("a\u2066b\u2069c\u200f")  # isolates and a mark
@example("\x1b]0;title\x07")
@given(st.text(max_size=300))
def test_any_text_is_echoed_without_a_character_that_drives_a_terminal(text: str) -> None:
    _, echoed = feed(text.encode() + b"\r")
    assert shows_nothing_that_drives_a_terminal(echoed)


@given(st.text(st.characters(exclude_categories=("Cs",)).filter(str.isprintable), max_size=80))
def test_printable_text_is_echoed_as_typed(text: str) -> None:
    assume(len(text.encode()) <= MAX_LINE)
    assert feed(text.encode() + b"\r")[1] == text.encode() + b"\r\n"


TYPED = st.binary(max_size=120).map(lambda b: bytes(x for x in b if x >= 0x20 and x != 0x7F))


@example("\u202e".encode(), b"\x7f")
@example(b"\xe2\x82", b"\x7f")  # a character begun, never finished: nothing shown or rubbed out
@example(b"\xe2\x82A\xff", b"\x15")
@given(TYPED, st.sampled_from([b"\x7f", b"\x08", b"\x15"]))
def test_rubbing_out_a_line_erases_exactly_the_columns_its_echo_showed(
    typed: bytes, erase: bytes
) -> None:
    assume(len(typed) <= MAX_LINE)
    d = LineDiscipline()
    shown = b"".join(e.data for e in d.feed(typed) if isinstance(e, Echo))
    rubbed = b"".join(e.data for e in d.feed(erase * (len(typed) + 1)) if isinstance(e, Echo))
    assert rubbed == b"\b \b" * len(shown.decode("utf-8"))
    assert d.pending == 0
