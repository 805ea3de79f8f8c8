"""The camera's Merkle tree: RFC 6962's test vectors, and proofs against a naive recomputation."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from recorder.evidence.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# The inputs and roots of certificate-transparency's reference tests (RFC 6962 trees of 1 to 8
# leaves over these eight inputs).
RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
RFC6962_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def naive_root(hashes: list[bytes]) -> bytes:
    """Hash the levels pairwise, carrying an odd node up: the same tree, built bottom-up."""
    if not hashes:
        return EMPTY_ROOT
    level = hashes
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def test_rfc6962_vectors() -> None:
    assert root([]).hex() == hashlib.sha256(b"").hexdigest()
    hashes = [leaf_hash(d) for d in RFC6962_LEAVES]
    for n, expected in enumerate(RFC6962_ROOTS, start=1):
        assert root(hashes[:n]).hex() == expected
        c = CompactRange()
        for h in hashes[:n]:
            c.append(h)
        assert c.root().hex() == expected


@given(st.integers(0, 300))
def test_the_compact_range_and_the_naive_tree_agree_with_mth(n: int) -> None:
    hashes = leaves(n)
    c = CompactRange()
    for h in hashes:
        c.append(h)
    assert c.root() == root(hashes) == naive_root(hashes)
    assert len(c.hashes) == n.bit_count()  # O(log n) hashes kept
    assert CompactRange(c.size, list(c.hashes)).root() == c.root()  # what the camera persists


@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
@example((1, 0))
@example((7, 6))
def test_every_inclusion_proof_checks_and_a_wrong_one_does_not(case: tuple[int, int]) -> None:
    n, m = case
    hashes = leaves(n)
    proof = inclusion_proof(hashes, m)
    verify_inclusion(hashes[m], m, n, proof, root(hashes))
    other = leaf_hash(b"not in the tree")
    with pytest.raises(ProofError):
        verify_inclusion(other, m, n, proof, root(hashes))
    if proof:
        with pytest.raises(ProofError):
            verify_inclusion(hashes[m], m, n, proof[:-1], root(hashes))
        with pytest.raises(ProofError):
            verify_inclusion(hashes[m], m, n, [*proof, proof[0]], root(hashes))


@given(st.integers(0, 200), st.integers(0, 200))
@example(0, 0)
@example(1, 1)
@example(4, 8)  # a power of two: the old root is the proof's implicit first node
@example(3, 7)
def test_every_consistency_proof_checks_and_a_fork_does_not(a: int, b: int) -> None:
    m, n = sorted((a, b))
    hashes = leaves(n)
    proof = consistency_proof(hashes, m)
    verify_consistency(m, n, proof, root(hashes[:m]), root(hashes))
    if 0 < m < n:
        forked = [*hashes[: m - 1], leaf_hash(b"rewritten"), *hashes[m:]]
        with pytest.raises(ProofError):
            verify_consistency(m, n, proof, root(forked[:m]), root(hashes))
        with pytest.raises(ProofError):
            verify_consistency(m, n, proof, root(hashes[:m]), root(forked))
        with pytest.raises(ProofError):
            verify_consistency(m, n, proof[:-1], root(hashes[:m]), root(hashes))
    if m == n and n > 0:
        with pytest.raises(ProofError, match="two different roots"):
            verify_consistency(m, n, [], root(hashes), leaf_hash(b"other"))


def test_a_compact_range_must_hold_one_hash_per_bit_of_its_size() -> None:
    with pytest.raises(ValueError, match="size 5 holds 2 hashes, not 1"):
        CompactRange(5, [bytes(32)])
