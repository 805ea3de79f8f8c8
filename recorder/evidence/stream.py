"""Section 5: the payload key, STREAM nonces and associated data of record encryption."""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from recorder.evidence.errors import DecryptError
from recorder.evidence.header import Suite
from recorder.evidence.records import RecordType

__all__ = ["TAG_LEN", "PayloadCipher", "aad", "nonce", "payload_key"]

TAG_LEN = 16
_PAYLOAD_INFO = b"bodycam/v1 payload"
_AAD_TAIL = struct.Struct(">IB")


def payload_key(file_key: bytes, segment_id: bytes) -> bytes:
    """``HKDF-SHA256(ikm = K, salt = segment_id, info = "bodycam/v1 payload", L = 32)``."""
    return HKDF(hashes.SHA256(), 32, salt=segment_id, info=_PAYLOAD_INFO).derive(file_key)


def nonce(index: int, final: bool) -> bytes:
    """``i as u88 || final flag``: age's STREAM nonce."""
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def aad(header_hash: bytes, index: int, rtype: int) -> bytes:
    """``header_hash || u32(i) || u8(type)``: binds each record to its file, place and type."""
    return header_hash + _AAD_TAIL.pack(index, rtype)


class PayloadCipher:
    """Seals and opens the records of one media file (suites 1 and 2)."""

    def __init__(self, suite: Suite, file_key: bytes, segment_id: bytes, header_hash: bytes):
        key = payload_key(file_key, segment_id)
        if suite is Suite.AES_256_GCM:
            self._aead: AESGCM | ChaCha20Poly1305 = AESGCM(key)
        elif suite is Suite.CHACHA20_POLY1305:
            self._aead = ChaCha20Poly1305(key)
        else:
            raise ValueError(f"suite {suite.name} does not encrypt")
        self._header_hash = header_hash

    def seal(self, index: int, rtype: RecordType, plaintext: bytes) -> bytes:
        n = nonce(index, rtype is RecordType.FINAL)
        return self._aead.encrypt(n, plaintext, aad(self._header_hash, index, rtype))

    def open(self, index: int, rtype: RecordType, ciphertext: bytes) -> bytes:
        n = nonce(index, rtype is RecordType.FINAL)
        try:
            return self._aead.decrypt(n, ciphertext, aad(self._header_hash, index, rtype))
        except InvalidTag:
            raise DecryptError(f"record {index}: payload authentication failed") from None
