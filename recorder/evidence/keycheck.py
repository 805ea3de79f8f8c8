"""Section 2.1: which raw public keys are refused, and why.

Ed25519. ``cryptography`` (OpenSSL) takes any 32 bytes as a public key and checks a signature
with the cofactorless equation ``[S]B = R + [k]A``. With ``A`` of small order (the identity, for
instance) the pair ``R = identity, S = 0`` satisfies it for every message, so anyone can "sign"
as such a "device". OpenSSL offers no way to ask a point's order, so :func:`ed25519_problem`
decodes the point as RFC 8032 section 5.1.3 does, and multiplies it with the complete addition
law of RFC 8032 section 5.1.4 (extended coordinates). It refuses a non-canonical encoding
(``y >= p``, or ``x = 0`` with the sign bit set), bytes that are no point of the curve, a point of
small order (``[8]A`` is the identity), and a point outside the prime-order subgroup (``[L]A`` is
not the identity: a small-order component added to a key). A key made by any Ed25519 key
generator is ``[a]B`` and passes. Speed does not matter: a key is checked once, when loaded.

X25519. A recipient of small order (all zeros, the points of order 2, 4 and 8 and their other
spellings) makes every Diffie-Hellman result all zeros, and HPKE's encapsulation refuses it
(RFC 9180 section 7.1.4), so the camera could not encrypt a single segment.
:func:`x25519_problem` refuses non-canonical encodings (top bit set, ``u >= p``) and then makes one
trial X25519 exchange with a fresh ephemeral key, the Diffie-Hellman step of that encapsulation:
X25519 scalars are multiples of 8, so the result is all zeros, and OpenSSL raises, exactly when
the point is of small order, on the curve or on its twist.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

__all__ = ["L", "P", "ed25519_problem", "x25519_problem"]

P = 2**255 - 19
"""The field prime of Curve25519 and edwards25519."""
L = 2**252 + 27742317777372353535851937790883648493
"""The order of the prime-order subgroup that Ed25519 keys live in."""
_D = -121665 * pow(121666, P - 2, P) % P
_SQRT_M1 = pow(2, (P - 1) // 4, P)

_Point = tuple[int, int, int, int]
"""Extended coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, x*y = T/Z."""
_IDENTITY: _Point = (0, 1, 1, 0)


def _add(p: _Point, q: _Point) -> _Point:
    """RFC 8032 section 5.1.4; complete (valid for doubling and the identity too)."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * _D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % P, g * h % P, f * g % P, e * h % P


def _times(k: int, p: _Point) -> _Point:
    out = _IDENTITY
    while k:
        if k & 1:
            out = _add(out, p)
        p = _add(p, p)
        k >>= 1
    return out


def _is_identity(p: _Point) -> bool:
    x, y, z, _ = p
    return x % P == 0 and (y - z) % P == 0


def _decode(raw: bytes) -> _Point | str:
    """The point ``raw`` encodes (RFC 8032 section 5.1.3), or why it encodes none."""
    n = int.from_bytes(raw, "little")
    y, sign = n & ((1 << 255) - 1), n >> 255
    if y >= P:
        return "not canonical (y is not below p)"
    u, v = (y * y - 1) % P, (_D * y * y + 1) % P
    x2 = u * pow(v, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * _SQRT_M1 % P
    if (x * x - x2) % P:
        return "not a point on the Ed25519 curve"
    if x == 0 and sign:
        return "not canonical (x is 0 but its sign bit is set)"
    if x & 1 != sign:
        x = P - x
    return x, y, 1, x * y % P


def ed25519_problem(raw: bytes) -> str | None:
    """Why ``raw`` is refused as an Ed25519 public key, or None when it is a proper key."""
    if len(raw) != 32:
        return f"{len(raw)} bytes, not 32"
    point = _decode(raw)
    if isinstance(point, str):
        return point
    if _is_identity(_times(8, point)):
        order = next(k for k in (1, 2, 4, 8) if _is_identity(_times(k, point)))
        what = "the identity point" if order == 1 else f"a point of order {order}"
        return f"{what}: a key of small order accepts forged signatures"
    if not _is_identity(_times(L, point)):
        return "not in the prime-order subgroup (it has a small-order component)"
    return None


def x25519_problem(raw: bytes) -> str | None:
    """Why ``raw`` is refused as an X25519 recipient key, or None when it is a proper key."""
    if len(raw) != 32:
        return f"{len(raw)} bytes, not 32"
    n = int.from_bytes(raw, "little")
    if n >> 255:
        return "not canonical (the top bit is set)"
    if n >= P:
        return "not canonical (u is not below p)"
    try:
        X25519PrivateKey.generate().exchange(X25519PublicKey.from_public_bytes(raw))
    except ValueError:
        return "a point of small order: HPKE cannot encrypt to it"
    return None
