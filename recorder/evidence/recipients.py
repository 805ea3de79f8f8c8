"""Section 6: wrapping a file key to agency recipients with HPKE, and unwrapping it."""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from recorder.evidence.errors import DecryptError, NoRecipientError
from recorder.evidence.header import Stanza
from recorder.evidence.keys import fingerprint, key_id, raw_public

__all__ = ["WRAPPED_LEN", "unwrap", "wrap"]

WRAPPED_LEN = 80  # enc (32) || AES-256-GCM(K) (32 + 16)
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_INFO = b"bodycam/v1 file key\0"


def _info(segment_id: bytes) -> bytes:
    return _INFO + segment_id


def wrap(file_key: bytes, recipient: X25519PublicKey, segment_id: bytes) -> Stanza:
    wrapped = _SUITE.encrypt(file_key, recipient, info=_info(segment_id))
    return Stanza(key_id(raw_public(recipient)), wrapped)


def unwrap(stanzas: Iterable[Stanza], identity: X25519PrivateKey, segment_id: bytes) -> bytes:
    """Return the file key from the stanza addressed to ``identity``."""
    raw = raw_public(identity.public_key())
    kid = key_id(raw)
    for s in stanzas:
        if s.key_id != kid:
            continue
        try:
            key = _SUITE.decrypt(s.wrapped, identity, info=_info(segment_id))
        except (InvalidTag, ValueError):
            raise DecryptError("the recipient stanza for this agency key does not open") from None
        if len(key) != 32:
            raise DecryptError(f"unwrapped file key is {len(key)} bytes, expected 32")
        return key
    raise NoRecipientError(f"no recipient stanza for agency key {fingerprint(raw)}")
