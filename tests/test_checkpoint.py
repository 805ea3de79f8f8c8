"""Checkpoints (C2SP tlog-checkpoint) of the camera's log, and the leaves of its tree."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder.evidence.checkpoint import Checkpoint, device_origin, leaf_data
from recorder.evidence.header import Kind
from recorder.evidence.note import NoteError
from tests.conftest import fixed


def test_the_origin_names_the_device_key_and_the_text_is_three_lines() -> None:
    origin = device_origin(fixed("device"))
    assert origin.startswith("bodycam/device/") and len(origin) == len("bodycam/device/") + 16
    cp = Checkpoint(origin, 42, fixed("root"))
    lines = cp.text().split("\n")
    assert lines[1] == "42" and len(lines) == 4
    assert Checkpoint.parse(cp.text()) == cp


def test_a_leaf_is_the_identity_and_final_chain_of_a_file() -> None:
    data = leaf_data(Kind.AUDIT, 7, bytes(16), 12, fixed("chain"))
    assert len(data) == 1 + 8 + 16 + 4 + 32 and data[0] == Kind.AUDIT.value
    assert data[-32:] == fixed("chain")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("o\n1\n", "three lines"),
        ("o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "no leading zero"),
        ("o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "no leading zero"),
        ("o\n1\nAAAA\n", "32 bytes"),
        ("o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n", "32 bytes"),  # not canonical
        ("o o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "no spaces"),
        ("o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nextension\n", "three lines"),
    ],
)
def test_a_malformed_checkpoint_is_refused_with_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(NoteError, match=problem):
        Checkpoint.parse(text)


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_cleanly(text: str) -> None:
    try:
        cp = Checkpoint.parse(text)
    except NoteError:
        return
    assert cp.text() == text
