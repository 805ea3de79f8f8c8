"""Section 14: C2SP signed notes, with Ed25519 signatures and tlog-cosignature/v1 cosignatures.

A note is text a person can read, a blank line, then signature lines::

    bodycam/device/3f2a9c0177d0e4b5
    42
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

    — bodycam/device/3f2a9c0177d0e4b5 Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe...

The bytes an Ed25519 signature covers are exactly the text above the blank line (c2sp.org/
signed-note); a cosignature covers ``cosignature/v1\\ntime <t>\\n`` and that text (c2sp.org/
tlog-cosignature). :func:`signed_text` and :func:`cosigned_message` make them, for signer and
verifier alike. The device key's evidence signatures cover messages that begin with a NUL-
terminated context (spec section 3), which a note, with no control characters, never does.

Errors::

    NoteError (ValueError)   the bytes are not a well-formed note, or no trusted signature verifies

A :class:`Verifier` is a key as the Go ecosystem writes it (a *vkey*, golang.org/x/mod/sumdb/note):
``<name>+<key ID in hex>+base64(<signature type> || <public key>)``. The witness prints its own
that way, and whoever checks its cosignatures is configured with it.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from recorder.evidence.keycheck import ed25519_problem

__all__ = [
    "ED25519",
    "MAX_NOTE",
    "MAX_SIGNATURES",
    "TIMESTAMPED_ED25519",
    "Note",
    "NoteError",
    "NoteSignature",
    "Verifier",
    "check_name",
    "cosign",
    "cosigned_message",
    "note_key_id",
    "sign",
    "signed_text",
    "verify",
    "verify_cosignature",
]

ED25519 = 0x01
"""The signed-note signature type of plain Ed25519 signatures (the camera's checkpoints)."""
TIMESTAMPED_ED25519 = 0x04
"""The signed-note signature type of tlog-cosignature/v1 (the witness's cosignatures)."""
MAX_SIGNATURES = 16
"""A reader accepts at least this many signature lines (c2sp.org/signed-note), and no more."""
MAX_NOTE = 16 * 1024
"""The largest note accepted: a checkpoint and 16 signature lines fit many times over."""
_DASH = "\u2014 "
_TIMESTAMP = struct.Struct(">Q")


class NoteError(ValueError):
    """Not a well-formed signed note, or not signed by the key that was asked for."""


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class Note:
    text: str
    """The signed text, ending in a newline."""
    signatures: tuple[NoteSignature, ...] = ()

    def encode(self) -> bytes:
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()

    def with_signatures(self, *more: NoteSignature) -> Note:
        return Note(self.text, self.signatures + more)

    @classmethod
    def parse(cls, data: bytes) -> Note:
        """Parse (not verify) a signed note; raise NoteError naming what is wrong."""
        if len(data) > MAX_NOTE:
            raise NoteError(f"a note is at most {MAX_NOTE} bytes, not {len(data)}")
        try:
            s = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise NoteError(f"a note is UTF-8: byte {e.start} is not") from None
        bad = next((c for c in s if c < " " and c != "\n"), None)
        if bad is not None:
            raise NoteError(f"a note has no control characters but newline: found {bad!r}")
        split = s.rfind("\n\n")
        if split < 0 or not s.endswith("\n"):
            raise NoteError("a note is text, a blank line, then signature lines, each ending '\\n'")
        # Lines end at "\n" and nowhere else, as in C2SP and Go's note.Open: str.splitlines
        # would also split at U+2028, U+0085 and the like, and so read a line Go refuses as two.
        text, sigs = s[: split + 1], s[split + 2 :]
        lines = sigs[:-1].split("\n") if sigs else []
        if not lines:
            raise NoteError("a note has at least one signature line")
        if len(lines) > MAX_SIGNATURES:
            raise NoteError(f"a note has at most {MAX_SIGNATURES} signature lines")
        return cls(text, tuple(_parse_signature(line) for line in lines))


def _parse_signature(line: str) -> NoteSignature:
    if not line.startswith(_DASH):
        raise NoteError(f"a signature line starts with an em dash and a space: {line[:40]!r}")
    name, sep, b64 = line[len(_DASH) :].partition(" ")
    check_name(name)
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError:  # binascii.Error, or a character that is not ASCII
        raise NoteError(f"signature of {name!r} is not base64") from None
    if not sep or len(raw) < 5:
        raise NoteError(f"signature of {name!r} is a 4-byte key ID and a signature")
    return NoteSignature(name, raw[:4], raw[4:])


def check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"a key name is non-empty, with no spaces and no '+': {name!r}")


def note_key_id(name: str, sig_type: int, public: Ed25519PublicKey) -> bytes:
    """``SHA-256(key name || 0x0A || signature type || public key)[:4]``."""
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + raw).digest()[:4]


def signed_text(text: str) -> bytes:
    """The bytes an Ed25519 note signature covers: the note text, final newline included."""
    if not text.endswith("\n"):
        raise NoteError("note text ends in a newline")
    return text.encode()


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a tlog-cosignature/v1 signs: a header line, a time line, then the note text."""
    if not 0 <= timestamp < 2**63:
        raise NoteError(f"a cosignature timestamp is 0 to 2^63-1, not {timestamp}")
    return b"cosignature/v1\ntime %d\n" % timestamp + signed_text(text)


def sign(
    text: str, name: str, public: Ed25519PublicKey, sign_fn: Callable[[bytes], bytes]
) -> NoteSignature:
    """An Ed25519 note signature of ``text`` by ``name``; ``sign_fn`` signs with the private
    half of ``public`` (the camera's keystore, or a key in memory)."""
    check_name(name)
    return NoteSignature(name, note_key_id(name, ED25519, public), sign_fn(signed_text(text)))


def verify(note: Note, name: str, public: Ed25519PublicKey) -> None:
    """Raise NoteError unless ``note`` carries a valid Ed25519 signature by (name, public).

    Lines from other keys are ignored; a line that names this key but does not verify rejects
    the whole note (c2sp.org/signed-note)."""
    kid = note_key_id(name, ED25519, public)
    mine = [s for s in note.signatures if s.name == name and s.key_id == kid]
    if not mine:
        raise NoteError(f"the note is not signed by {name}")
    for s in mine:
        try:
            public.verify(s.signature, signed_text(note.text))
        except InvalidSignature:
            raise NoteError(f"the signature of {name} does not verify") from None


def cosign(text: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> NoteSignature:
    """A tlog-cosignature/v1 of the checkpoint ``text`` by the witness ``name``."""
    check_name(name)
    sig = key.sign(cosigned_message(text, timestamp))
    kid = note_key_id(name, TIMESTAMPED_ED25519, key.public_key())
    return NoteSignature(name, kid, _TIMESTAMP.pack(timestamp) + sig)


def verify_cosignature(note: Note, name: str, public: Ed25519PublicKey) -> int:
    """Raise NoteError unless ``note`` carries a valid cosignature by (name, public); return
    its timestamp (POSIX seconds, the witness's clock)."""
    kid = note_key_id(name, TIMESTAMPED_ED25519, public)
    mine = [s for s in note.signatures if s.name == name and s.key_id == kid]
    if not mine:
        raise NoteError(f"the note is not cosigned by {name}")
    times = []
    for s in mine:
        if len(s.signature) != _TIMESTAMP.size + 64:
            raise NoteError(f"a cosignature of {name} is 8 + 64 bytes")
        t: int = _TIMESTAMP.unpack(s.signature[:8])[0]
        try:
            public.verify(s.signature[8:], cosigned_message(note.text, t))
        except (InvalidSignature, NoteError):
            raise NoteError(f"the cosignature of {name} does not verify") from None
        times.append(t)
    return max(times)


@dataclass(frozen=True)
class Verifier:
    """A named public key of one signature type: a log's (``ED25519``) or a witness's
    (``TIMESTAMPED_ED25519``)."""

    name: str
    sig_type: int
    public: Ed25519PublicKey

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.sig_type not in (ED25519, TIMESTAMPED_ED25519):
            raise NoteError(
                f"signature type 0x{self.sig_type:02x} is not one this reader knows "
                f"(0x{ED25519:02x} Ed25519, 0x{TIMESTAMPED_ED25519:02x} cosignature/v1)"
            )

    @property
    def key_id(self) -> bytes:
        return note_key_id(self.name, self.sig_type, self.public)

    def vkey(self) -> str:
        raw = self.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        b64 = base64.b64encode(bytes([self.sig_type]) + raw).decode()
        return f"{self.name}+{self.key_id.hex()}+{b64}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Parse a vkey; raise NoteError naming what is wrong. A key of small order, which
        would accept forged signatures, is refused (spec section 2.1)."""
        parts = vkey.strip().split("+", 2)  # base64 has '+' of its own
        if len(parts) != 3:
            raise NoteError(f"a verifier key is name+keyid+base64(type || key): {vkey[:80]!r}")
        name, kid, b64 = parts
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:  # binascii.Error, or a character that is not ASCII
            raise NoteError(f"the key of verifier key {name!r} is not base64") from None
        if len(raw) != 33:
            raise NoteError(f"verifier key {name!r}: a type byte and a 32-byte Ed25519 key")
        problem = ed25519_problem(raw[1:])
        if problem is not None:
            raise NoteError(f"verifier key {name!r} is refused: {problem}")
        v = cls(name, raw[0], Ed25519PublicKey.from_public_bytes(raw[1:]))
        if kid.lower() != v.key_id.hex():  # Go's reader takes either case
            raise NoteError(
                f"verifier key {name!r}: key ID {kid[:16]!r} is not the one its name, type "
                f"and key give ({v.key_id.hex()})"
            )
        return v
