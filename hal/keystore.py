"""The KeyStore contract (Ed25519 signing with the device key) and FileKeyStore for a PEM file."""

from __future__ import annotations

import hashlib
import os
import stat
from abc import ABC, abstractmethod
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hal.errors import DeviceError

__all__ = ["FileKeyStore", "KeyStore"]


class KeyStore(ABC):
    """Holds the device's Ed25519 signing key and never reveals it.

    ``key_id`` is the first 8 bytes of SHA-256 over the 32-byte raw public key.

    MUST override: :meth:`_sign`, :meth:`_public_key_bytes`.
    """

    def sign(self, data: bytes) -> bytes:
        """A 64-byte Ed25519 signature over ``data``."""
        return self._sign(data)

    @property
    def public_key_bytes(self) -> bytes:
        """The 32-byte raw Ed25519 public key."""
        return self._public_key_bytes()

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self._public_key_bytes()).digest()[:8]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} key_id={self.key_id.hex()}>"

    @abstractmethod
    def _sign(self, data: bytes) -> bytes: ...

    @abstractmethod
    def _public_key_bytes(self) -> bytes: ...


class FileKeyStore(KeyStore):
    """An Ed25519 private key in an unencrypted PKCS#8 PEM file that only its owner can read.

    Raises DeviceError, naming the path, when the file is missing, is readable or writable by
    group or others (naming its mode), or does not hold an Ed25519 key.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        try:
            fd = os.open(self._path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise DeviceError(f"cannot open device key {self._path}: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as f:
            mode = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
            if mode & 0o077:
                raise DeviceError(
                    f"device key {self._path} has mode {mode:04o}, which lets group or others "
                    "access it; it must be 0600 or stricter"
                )
            pem = f.read()
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise DeviceError(
                f"device key {self._path} is not an unencrypted PKCS#8 PEM private key"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise DeviceError(f"device key {self._path} is not an Ed25519 key")
        self._key = key
        self._public = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def path(self) -> Path:
        return self._path

    def _sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def _public_key_bytes(self) -> bytes:
        return self._public
