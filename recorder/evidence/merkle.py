"""Section 14: the camera's log, an RFC 6962 Merkle tree over its finished evidence files.

The definitions are RFC 6962 section 2.1 (and RFC 9162 section 2.1 for the proof checks), kept
close to the text: ``MTH`` is :func:`root`, ``PATH`` is :func:`inclusion_proof`, ``PROOF`` is
:func:`consistency_proof`. They take the list of leaf hashes, which the camera can rebuild from
its evidence directory at any time.

The camera itself persists only a :class:`CompactRange`: the roots of the perfect subtrees that
the tree of size ``n`` is made of (one per bit set in ``n``, so O(log n) hashes). Appending a
leaf and computing the root need nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "EMPTY_ROOT",
    "CompactRange",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string."""


class ProofError(ValueError):
    """A proof does not prove what it claims (or is not a proof at all)."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf *hashes*."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(leaves: Sequence[bytes], m: int) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf ``m`` (0-based) in the tree of ``leaves``."""
    n = len(leaves)
    if not 0 <= m < n:
        raise IndexError(f"leaf {m} is not in a tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*inclusion_proof(leaves[:k], m), root(leaves[k:])]
    return [*inclusion_proof(leaves[k:], m - k), root(leaves[:k])]


def consistency_proof(leaves: Sequence[bytes], m: int) -> list[bytes]:
    """PROOF(m, D[n]): proves that the tree of the first ``m`` leaves is a prefix of this one."""
    n = len(leaves)
    if not 0 <= m <= n:
        raise IndexError(f"size {m} is not within a tree of size {n}")
    if m in (0, n):
        return []
    return _subproof(leaves, m, True)


def _subproof(leaves: Sequence[bytes], m: int, whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves[:k], m, whole), root(leaves[k:])]
    return [*_subproof(leaves[k:], m - k, False), root(leaves[:k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """RFC 9162 2.1.3.2: raise ProofError unless ``proof`` puts ``leaf`` at ``index``."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not below the tree size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    if r != expected_root:
        raise ProofError("the inclusion proof does not lead to the root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 2.1.4.2: raise ProofError unless the tree (size1, root1) is a prefix of the
    tree (size2, root2)."""
    if not 0 <= size1 <= size2:
        raise ProofError(f"size {size1} is not within size {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError(f"two different roots for the same size {size1}")
        return
    if size1 == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the tree is deep")
    if fr != root1:
        raise ProofError(f"the consistency proof does not lead to the root of size {size1}")
    if sr != root2:
        raise ProofError(f"the consistency proof does not lead to the root of size {size2}")


@dataclass
class CompactRange:
    """The tree of ``size`` leaves as the roots of its perfect subtrees, largest first.

    ``size``'s binary digits give the subtrees: 13 = 8 + 4 + 1 is three hashes. Appending a
    leaf merges equal-sized subtrees from the right, as binary addition carries.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.hashes) != self.size.bit_count():
            raise ValueError(
                f"a compact range of size {self.size} holds {self.size.bit_count()} hashes, "
                f"not {len(self.hashes)}"
            )
        if any(len(h) != HASH_SIZE for h in self.hashes):
            raise ValueError(f"compact range hashes are {HASH_SIZE} bytes")

    def append(self, leaf: bytes) -> None:
        """Add one leaf *hash*."""
        h, size = leaf, self.size
        while size & 1:
            h = node_hash(self.hashes.pop(), h)
            size >>= 1
        self.hashes.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        r = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            r = node_hash(h, r)
        return r
