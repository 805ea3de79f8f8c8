"""Key files: generating, loading and fingerprinting agency (X25519), device, technician and
witness (Ed25519) keys.

Private keys are PKCS#8 PEM files created with mode 0600 in a single ``open(O_CREAT|O_EXCL)``, so
they are never readable by others, not even for a moment, and an existing key is never
overwritten; a directory ``generate`` makes for them is 0700. Public keys are
SubjectPublicKeyInfo PEM. Nothing here prints or logs a private key.

Every public key enters through :func:`ed25519_public_key` (device and technician keys) or
:func:`x25519_public_key` (agency keys), whether from a PEM file or from raw bytes, so verify,
provisioning, the daemon and the console refuse the same weak keys (spec section 2.1,
``keycheck``).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from recorder.evidence.errors import KeyFileError
from recorder.evidence.keycheck import ed25519_problem, x25519_problem

__all__ = [
    "Ed25519Signer",
    "KeyPairPaths",
    "ed25519_public_key",
    "fingerprint",
    "format_key_id",
    "generate",
    "key_id",
    "load_agency_private",
    "load_agency_public",
    "load_device_private",
    "load_device_public",
    "load_technician_private",
    "load_technician_public",
    "load_witness_private",
    "raw_public",
    "write_private_key",
    "write_public_key",
    "x25519_public_key",
]

Role = Literal["agency", "device", "technician", "witness"]
_K = TypeVar("_K")

_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def raw_public(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    """The 32-byte raw form of a public key."""
    return key.public_bytes(*_RAW)


def key_id(raw_pub: bytes) -> bytes:
    """``key_id(pub) = SHA-256(pub)[0:8]`` (spec section 2)."""
    return hashlib.sha256(raw_pub).digest()[:8]


def format_key_id(kid: bytes) -> str:
    """A key id as four groups of four hex digits: ``3f2a 9c01 77d0 e4b5``."""
    h = kid.hex()
    return " ".join(h[i : i + 4] for i in range(0, len(h), 4))


def fingerprint(raw_pub: bytes) -> str:
    """The fingerprint of a raw public key: its formatted key id."""
    return format_key_id(key_id(raw_pub))


class Ed25519Signer:
    """Signs with an Ed25519 private key held in memory (tools and tests; the camera uses hal)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key_bytes = raw_public(private_key.public_key())
        self.key_id = key_id(self.public_key_bytes)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def __repr__(self) -> str:
        return f"Ed25519Signer({fingerprint(self.public_key_bytes)})"


def _create(path: Path, data: bytes, mode: int) -> None:
    """Write a new key file with ``mode`` from its creation on; never replace an existing one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError:
        raise KeyFileError(f"{path}: already exists; refusing to overwrite a key") from None
    except OSError as e:
        raise KeyFileError(f"{path}: cannot create: {e.strerror}") from None
    try:
        os.fchmod(fd, mode)  # the umask can only narrow the mode, but be explicit
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private_key(path: Path, key: Ed25519PrivateKey | X25519PrivateKey) -> None:
    """Create ``path`` with mode 0600 and write the key; refuse to overwrite an existing file."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _create(path, pem, 0o600)


def write_public_key(path: Path, key: Ed25519PublicKey | X25519PublicKey) -> None:
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _create(path, pem, 0o644)


@dataclass(frozen=True)
class KeyPairPaths:
    private: Path
    public: Path
    fingerprint: str


def _make_dir(path: Path) -> None:
    """Create ``path`` with mode 0700 whatever the umask; leave an existing directory as it is."""
    if path.is_dir():
        return
    try:
        path.mkdir(mode=0o700, parents=True)
        os.chmod(path, 0o700)  # a umask such as 0222 would otherwise narrow it further
    except FileExistsError:
        raise KeyFileError(f"{path}: exists and is not a directory") from None
    except OSError as e:
        raise KeyFileError(f"{path}: cannot create the directory: {e.strerror}") from None


def generate(role: Role, out_dir: Path) -> KeyPairPaths:
    """Make ``{role}.key`` (0600) and ``{role}.pub`` in ``out_dir``; return their paths.

    Agency keys are X25519 (segments are encrypted to them); device, technician and witness keys
    are Ed25519 (the device signs evidence, a technician signs console challenges, the agency's
    witness cosigns the device's checkpoints).
    """
    _make_dir(out_dir)
    priv_path, pub_path = out_dir / f"{role}.key", out_dir / f"{role}.pub"
    for p in (priv_path, pub_path):
        if p.exists():
            raise KeyFileError(f"{p}: already exists; refusing to overwrite a key")
    key: Ed25519PrivateKey | X25519PrivateKey = (
        X25519PrivateKey.generate() if role == "agency" else Ed25519PrivateKey.generate()
    )
    write_private_key(priv_path, key)
    write_public_key(pub_path, key.public_key())
    return KeyPairPaths(priv_path, pub_path, fingerprint(raw_public(key.public_key())))


def _systemd_credential(path: Path) -> bool:
    """Whether ``path`` is a credential systemd handed this service (``LoadCredential=``), in a
    ``$CREDENTIALS_DIRECTORY`` that nobody else can enter. systemd 254 and later give such a
    file mode 0440, owned by root, with an ACL for the service's user: its group bits then
    mean the ACL, not a group, and the directory is what keeps others out."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return False
    try:
        d = Path(directory).resolve(strict=True)
        if path.resolve(strict=True).parent != d:
            return False
        return not os.stat(d).st_mode & stat.S_IRWXO and not path.stat().st_mode & stat.S_IRWXO
    except OSError:
        return False


def _read(path: Path, what: str, *, private: bool) -> bytes:
    try:
        st = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such file (expected {what})") from None
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read {what}: {e.strerror}") from None
    if private and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO) and not _systemd_credential(path):
        raise KeyFileError(
            f"{path}: private key is accessible by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {path}"
        )
    if len(data) > 16384:
        raise KeyFileError(f"{path}: {len(data)} bytes is too large to be {what}")
    return data


def _load_private(path: Path, kind: type[_K], what: str) -> _K:
    data = _read(path, what, private=True)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, Exception) as e:
        raise KeyFileError(f"{path}: not a PEM private key ({what} expected)") from e
    if not isinstance(key, kind):
        raise KeyFileError(f"{path}: holds a {type(key).__name__}, expected {what}")
    return key


def _load_public(path: Path, kind: type[_K], what: str) -> _K:
    data = _read(path, what, private=False)
    if b"PRIVATE KEY" in data:
        raise KeyFileError(f"{path}: is a private key; give the public key ({what})")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, Exception) as e:
        raise KeyFileError(f"{path}: not a PEM public key ({what} expected)") from e
    if not isinstance(key, kind):
        raise KeyFileError(f"{path}: holds a {type(key).__name__}, expected {what}")
    return key


_AGENCY_PUB = "an agency X25519 public key"
_DEVICE_PUB = "a device Ed25519 public key"
_TECHNICIAN_PUB = "a technician Ed25519 public key"


def ed25519_public_key(raw: bytes, source: str, what: str = _DEVICE_PUB) -> Ed25519PublicKey:
    """The one door for an Ed25519 public key, a device's or a technician's.

    Refuses (KeyFileError, naming ``source``) a non-canonical encoding and a point of small order
    or outside the prime-order subgroup: OpenSSL would let such a key verify forged signatures.
    """
    problem = ed25519_problem(raw)
    if problem is not None:
        raise KeyFileError(
            f"{source}: refused as {what}: {problem} (allowed: the canonical encoding of a "
            "point of prime order, as every Ed25519 key generator makes; spec section 2.1)"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def x25519_public_key(raw: bytes, source: str, what: str = _AGENCY_PUB) -> X25519PublicKey:
    """The one door for an agency (recipient) public key.

    Refuses (KeyFileError, naming ``source``) a non-canonical encoding and a point of small
    order, to which HPKE cannot encrypt.
    """
    problem = x25519_problem(raw)
    if problem is not None:
        raise KeyFileError(
            f"{source}: refused as {what}: {problem} (allowed: the canonical encoding of a "
            "point not of small order, as every X25519 key generator makes; spec section 2.1)"
        )
    return X25519PublicKey.from_public_bytes(raw)


# mypy rejects abstract classes as type[...] arguments; these key classes are only ever checked
# with isinstance, never instantiated, so the ignore is sound.
def load_agency_private(path: Path) -> X25519PrivateKey:
    return _load_private(path, X25519PrivateKey, "an agency X25519 private key")  # type: ignore[type-abstract]


def load_agency_public(path: Path) -> X25519PublicKey:
    key = _load_public(path, X25519PublicKey, _AGENCY_PUB)  # type: ignore[type-abstract]
    return x25519_public_key(raw_public(key), str(path), _AGENCY_PUB)


def load_device_private(path: Path) -> Ed25519PrivateKey:
    return _load_private(path, Ed25519PrivateKey, "a device Ed25519 private key")  # type: ignore[type-abstract]


def load_device_public(path: Path) -> Ed25519PublicKey:
    key = _load_public(path, Ed25519PublicKey, _DEVICE_PUB)  # type: ignore[type-abstract]
    return ed25519_public_key(raw_public(key), str(path), _DEVICE_PUB)


def load_technician_private(path: Path) -> Ed25519PrivateKey:
    return _load_private(path, Ed25519PrivateKey, "a technician Ed25519 private key")  # type: ignore[type-abstract]


def load_technician_public(path: Path) -> Ed25519PublicKey:
    key = _load_public(path, Ed25519PublicKey, _TECHNICIAN_PUB)  # type: ignore[type-abstract]
    return ed25519_public_key(raw_public(key), str(path), _TECHNICIAN_PUB)


def load_witness_private(path: Path) -> Ed25519PrivateKey:
    return _load_private(path, Ed25519PrivateKey, "a witness Ed25519 private key")  # type: ignore[type-abstract]
