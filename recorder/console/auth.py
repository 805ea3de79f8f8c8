"""Technician authentication (docs/console.md §6): a one-time challenge signed with Ed25519.

``AUTH?`` issues a :class:`Challenge`: 32 random bytes, valid for one answer and for
:data:`NONCE_TTL_S` seconds of device time. The technician signs :func:`auth_message` with a key
whose public half is installed in ``STATE/technicians/``. The camera and the client build the
signed bytes with this one function.

Failures are counted across every session of the console, since an attacker can simply
reconnect: from the :data:`MAX_FAILURES`-th failure in a row on, each failure locks
authentication for a delay that starts at :data:`LOCKOUT_FIRST_S` and doubles up to
:data:`LOCKOUT_MAX_S`. A success resets the count. The count lives in memory: a restart of the
daemon resets it (a restart needs physical access or an authenticated REBOOT).
"""

from __future__ import annotations

import binascii
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recorder.evidence.keys import fingerprint, raw_public

__all__ = [
    "AUTH_CONTEXT",
    "LOCKOUT_FIRST_S",
    "LOCKOUT_MAX_S",
    "MAX_FAILURES",
    "NONCE_LEN",
    "NONCE_TTL_S",
    "Authenticator",
    "Challenge",
    "Failure",
    "LockedOut",
    "Success",
    "auth_message",
    "lockout_delay",
]

AUTH_CONTEXT = b"bodycam/v1 console auth\x00"
NONCE_LEN = 32
NONCE_TTL_S = 60
"""Whole seconds: AUTH? reports it as the integer ``expires_s``."""
MAX_FAILURES = 5
LOCKOUT_FIRST_S = 30.0
LOCKOUT_MAX_S = 900.0
SIGNATURE_LEN = 64


def auth_message(device_id: str, nonce: bytes) -> bytes:
    """The signed bytes: ``"bodycam/v1 console auth" || 0x00 || device_id || nonce``.

    ``device_id`` is the camera's ASCII id (1-64 bytes); ``nonce`` is always the last 32 bytes,
    so the id needs no length prefix.
    """
    if len(nonce) != NONCE_LEN:
        raise ValueError(f"a nonce is {NONCE_LEN} bytes, got {len(nonce)}")
    return AUTH_CONTEXT + device_id.encode("ascii") + nonce


def lockout_delay(failures: int) -> float:
    """Seconds locked after ``failures`` failures in a row (0 below MAX_FAILURES)."""
    if failures < MAX_FAILURES:
        return 0.0
    doublings = min(failures - MAX_FAILURES, 32)
    return min(LOCKOUT_FIRST_S * float(1 << doublings), LOCKOUT_MAX_S)


@dataclass(frozen=True)
class Challenge:
    nonce: bytes
    issued: float
    """Device monotonic time it was issued."""


@dataclass(frozen=True)
class Success:
    technician: str
    """Fingerprint of the technician key that signed."""


@dataclass(frozen=True)
class Failure:
    reason: str
    failures: int
    lockout_s: float
    """How long authentication is now locked (0: not locked)."""


class LockedOut(Exception):
    def __init__(self, seconds_left: float) -> None:
        super().__init__(f"locked out for {seconds_left:.0f} s more")
        self.seconds_left = seconds_left


class Authenticator:
    """Issues challenges and checks answers; one per console, shared by all its sessions.

    ``now`` is device monotonic time; ``keys`` lists the installed technician public keys (read
    at each answer, so a key added or removed takes effect at once).
    """

    def __init__(
        self,
        now: Callable[[], float],
        keys: Callable[[], Sequence[Ed25519PublicKey]],
    ) -> None:
        self._now = now
        self._keys = keys
        self._lock = threading.Lock()
        self.failures = 0
        self._locked_until = float("-inf")

    def locked_for(self) -> float:
        """Seconds of lockout left (0 when not locked)."""
        with self._lock:
            return max(0.0, self._locked_until - self._now())

    def challenge(self) -> Challenge:
        """A fresh challenge; LockedOut while locked."""
        with self._lock:
            now = self._now()
            if now < self._locked_until:
                raise LockedOut(self._locked_until - now)
            return Challenge(secrets.token_bytes(NONCE_LEN), now)

    def respond(
        self, challenge: Challenge | None, signature_hex: str, device_id: str
    ) -> Success | Failure:
        """Check an answer to ``challenge`` (the session forgets it whatever the outcome).

        LockedOut while locked; such attempts are not counted.
        """
        with self._lock:
            now = self._now()
            if now < self._locked_until:
                raise LockedOut(self._locked_until - now)
            reason = self._check(challenge, signature_hex, device_id, now)
            if isinstance(reason, Success):
                self.failures = 0
                return reason
            self.failures += 1
            delay = lockout_delay(self.failures)
            if delay:
                self._locked_until = now + delay
            return Failure(reason, self.failures, delay)

    def _check(
        self, challenge: Challenge | None, signature_hex: str, device_id: str, now: float
    ) -> Success | str:
        if challenge is None:
            return "no challenge outstanding: send AUTH? first"
        if now - challenge.issued > NONCE_TTL_S:
            return f"challenge expired (valid {NONCE_TTL_S} s)"
        try:
            signature = binascii.unhexlify(signature_hex)
        except (binascii.Error, ValueError):
            return "signature is not hex"
        if len(signature) != SIGNATURE_LEN:
            return f"signature must be {SIGNATURE_LEN} bytes ({2 * SIGNATURE_LEN} hex digits)"
        message = auth_message(device_id, challenge.nonce)
        for key in self._keys():
            try:
                key.verify(signature, message)
            except InvalidSignature:
                continue
            return Success(fingerprint(raw_public(key)))
        return "signature does not verify with any installed technician key"
