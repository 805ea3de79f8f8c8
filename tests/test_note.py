"""C2SP signed notes: interoperable with the Go ecosystem's vectors and a real witness."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import example, given
from hypothesis import strategies as st

from recorder.evidence.note import (
    ED25519,
    TIMESTAMPED_ED25519,
    Note,
    NoteError,
    Verifier,
    cosign,
    note_key_id,
    sign,
    verify,
    verify_cosignature,
)


def vkey(s: str) -> tuple[str, int, bytes, Ed25519PublicKey]:
    """A signed-note verifier key ``name+hash+base64(type || key)``, parsed by the library and
    written back byte for byte."""
    v = Verifier.parse(s)
    assert v.vkey() == s
    return v.name, v.sig_type, v.key_id, v.public


# golang.org/x/mod/sumdb/note's package example: its key pair and the note it signs.
PETER_SKEY = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_NOTE = (
    PETER_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
    "gKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

# A checkpoint of a public CT log (staging), as published with its cosignatures, and the
# verifier keys of the log (type 0x01) and of one witness (type 0x04, tlog-cosignature/v1).
CT_CHECKPOINT = """arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

— arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
— arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
— transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
— remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
"""  # noqa: E501
CT_LOG = (
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
)
REMORA = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def test_the_go_example_note_signs_and_verifies_byte_for_byte() -> None:
    name, sig_type, kid, pub = vkey(PETER_VKEY)
    assert sig_type == ED25519 and note_key_id(name, ED25519, pub) == kid
    key = Ed25519PrivateKey.from_private_bytes(PETER_SKEY[1:])
    assert key.public_key() == pub
    signed = Note(PETER_TEXT).with_signatures(sign(PETER_TEXT, name, pub, key.sign))
    assert signed.encode().decode() == PETER_NOTE
    verify(Note.parse(PETER_NOTE.encode()), name, pub)
    with pytest.raises(NoteError, match="does not verify"):
        verify(Note.parse(PETER_NOTE.replace("cryptography", "cryptographY").encode()), name, pub)


def test_a_real_witness_cosignature_verifies_and_gives_its_time() -> None:
    note = Note.parse(CT_CHECKPOINT.encode())
    name, sig_type, kid, pub = vkey(CT_LOG)
    assert sig_type == ED25519 and note_key_id(name, ED25519, pub) == kid
    verify(note, name, pub)  # the log's Ed25519 line, among lines of other types
    w_name, w_type, w_kid, w_pub = vkey(REMORA)
    assert w_type == TIMESTAMPED_ED25519 and note_key_id(w_name, w_type, w_pub) == w_kid
    assert verify_cosignature(note, w_name, w_pub) == 0x6A122120  # 2026-05-23, its clock
    forged = Note(note.text.replace("1432088532", "1432088533"), note.signatures)
    with pytest.raises(NoteError, match="does not verify"):
        verify_cosignature(forged, w_name, w_pub)
    with pytest.raises(NoteError, match="not cosigned by"):
        verify_cosignature(note, w_name, Ed25519PrivateKey.generate().public_key())


def test_cosign_and_verify_round_trip() -> None:
    key = Ed25519PrivateKey.generate()
    text = "bodycam/device/0011223344556677\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    note = Note(text).with_signatures(cosign(text, "agency.example/witness", key, 1_800_000_000))
    parsed = Note.parse(note.encode())
    assert verify_cosignature(parsed, "agency.example/witness", key.public_key()) == 1_800_000_000


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_a_line_ends_at_a_newline_only_as_in_go(separator: str) -> None:
    """Go's note.Open splits signature lines at "\\n" alone: a signature line holding U+2028
    (or another character Python's splitlines breaks at) is one line there, whose base64 does
    not decode, so the note is malformed. Read as two good lines, it would verify here."""
    name, _, _, pub = vkey(PETER_VKEY)
    line = PETER_NOTE[len(PETER_TEXT) + 1 : -1]
    assert line.startswith("— PeterNeumann ") and "\n" not in line
    verify(Note.parse(f"{PETER_TEXT}\n{line}\n{line}\n".encode()), name, pub)  # two lines
    joined = f"{PETER_TEXT}\n{line}{separator}{line}\n".encode()
    with pytest.raises(NoteError, match="signature of 'PeterNeumann' is not base64"):
        Note.parse(joined)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"text\n", "blank line"),
        (b"text\n\n", "at least one signature line"),
        (b"text\n\n- name AAAAAAA=\n", "em dash"),
        (b"text\x00\n\n\xe2\x80\x94 n AAAAAAA=\n", "control characters"),
        (b"text\xff\n\n", "UTF-8"),
        ("text\n\n— na+me AAAAAAA=\n".encode(), "no '\\+'"),
        ("text\n\n— name !!!!\n".encode(), "not base64"),
        ("text\n\n— name AAAA\n".encode(), "4-byte key ID and a signature"),
        ("text\n\n" + "— n AAAAAAA=\n" * 17, "at most 16"),
    ],
)
def test_malformed_notes_are_refused_with_what_is_wrong(data: bytes | str, problem: str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(NoteError, match=problem):
        Note.parse(raw)


@given(st.binary(max_size=400))
def test_any_bytes_parse_or_are_refused_cleanly(data: bytes) -> None:
    try:
        note = Note.parse(data)
    except NoteError:
        return
    assert Note.parse(note.encode()) == note


@pytest.mark.parametrize(
    ("vkey_text", "problem"),
    [
        ("PeterNeumann+c74f20a3", "name\\+keyid\\+base64"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key ID"),
        ("Peter+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key ID"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T!", "not base64"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10Q=", "32-byte"),
        ("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "signature type"),
        ("x+00000000+BAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "small order"),
        ("a b+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
    ],
)
def test_a_verifier_key_is_refused_with_what_is_wrong(vkey_text: str, problem: str) -> None:
    with pytest.raises(NoteError, match=problem):
        Verifier.parse(vkey_text)


@given(st.text(max_size=120))
@example("a+00000000+\u00e9")  # not ASCII: base64 decoding raises ValueError, not binascii.Error
def test_any_text_is_a_verifier_key_or_refused_cleanly(text: str) -> None:
    try:
        v = Verifier.parse(text)
    except NoteError:
        return
    assert Verifier.parse(v.vkey()) == v
