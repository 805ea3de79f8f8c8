"""Section 14.1: verifying against cosigned checkpoints, which pin the newest end of the evidence.

A hash chain proves that what a reader holds is consistent, not that nothing was held back from
the end. A checkpoint that left the camera and was cosigned by a witness says how many files the
camera had finished by then, and their tree's root. Every sequence number of either stream is
exactly one leaf (a file closed, found torn, or reserved and never written), so a checkpoint of
size N means that the highest media and audit numbers finished add up to N: files withheld from
the ends of *both* streams show as a shortfall, from the checkpoint alone. With the camera's
listing of its leaves (``tlog.leaves``), checked against the root, the reader names each file the
checkpoint covers: absent is MISSING ("withheld"), different is TAMPERED; a ``freed`` event whose
segment the listing does not put among the files of the checkpoint it names is TAMPERED. Of
several versions of the listing (a bucket keeps each), :func:`choose_listing` takes the longest
the checkpoints agree with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from recorder.evidence.audit import rfc3339
from recorder.evidence.chain import FileCheck, Freed, Line, Report
from recorder.evidence.checkpoint import LEAF_SIZE, Checkpoint, Leaf, device_origin
from recorder.evidence.header import Kind
from recorder.evidence.merkle import CompactRange
from recorder.evidence.note import (
    TIMESTAMPED_ED25519,
    Note,
    NoteError,
    Verifier,
    verify,
    verify_cosignature,
)
from recorder.evidence.reader import Verdict

__all__ = [
    "Pinned",
    "Witness",
    "choose_listing",
    "mismatches",
    "open_checkpoint",
    "parse_listing",
    "pin",
]

_LABEL = {Kind.MEDIA: "segment", Kind.AUDIT: "audit"}
_UNSIGNED = (Verdict.FOREIGN, Verdict.MALFORMED, Verdict.UNREADABLE)


@dataclass(frozen=True)
class Witness:
    """A witness a verifier trusts: its name and Ed25519 key (c2sp.org/tlog-cosignature)."""

    name: str
    public: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> Witness:
        """``name+keyid+base64(0x04 || key)``, the signed-note verifier key a witness prints."""
        v = Verifier.parse(vkey)
        if v.sig_type != TIMESTAMPED_ED25519:
            raise NoteError(
                f"witness key of {v.name}: type 0x{v.sig_type:02x}, not a cosigner's "
                f"(0x{TIMESTAMPED_ED25519:02x})"
            )
        return cls(v.name, v.public)


@dataclass(frozen=True)
class Pinned:
    """A checkpoint signed by the device and cosigned by a trusted witness."""

    checkpoint: Checkpoint
    witness: str
    cosigned_at: int
    """When the witness cosigned it, POSIX seconds on the witness's clock."""

    @property
    def when(self) -> str:
        return rfc3339(self.cosigned_at)


def open_checkpoint(data: bytes, device_pub: Ed25519PublicKey, witnesses: list[Witness]) -> Pinned:
    """Parse and verify a checkpoint note: the device's signature and at least one trusted
    witness's cosignature. Raise NoteError naming what is wrong."""
    if not witnesses:
        raise NoteError("a checkpoint pins evidence only with a witness's cosignature: no witness")
    note = Note.parse(data)
    origin = device_origin(device_pub.public_bytes(Encoding.Raw, PublicFormat.Raw))
    verify(note, origin, device_pub)
    cp = Checkpoint.parse(note.text)
    if cp.origin != origin:
        raise NoteError(f"the checkpoint is of {cp.origin}, not of this device ({origin})")
    found: list[tuple[int, str]] = []
    for w in witnesses:
        try:
            found.append((verify_cosignature(note, w.name, w.public), w.name))
        except NoteError as e:
            if "not cosigned" not in str(e):
                raise
    if not found:
        names = ", ".join(w.name for w in witnesses)
        raise NoteError(f"the checkpoint is not cosigned by a trusted witness ({names})")
    at, name = min(found)
    return Pinned(cp, name, at)


def parse_listing(data: bytes) -> list[Leaf]:
    """The camera's ``tlog.leaves``: 61-byte leaves, one after another."""
    if len(data) % LEAF_SIZE:
        raise ValueError(f"a listing is whole {LEAF_SIZE}-byte leaves: {len(data)} bytes is not")
    return [Leaf.decode(data[i : i + LEAF_SIZE]) for i in range(0, len(data), LEAF_SIZE)]


def pin(report: Report, pinned: list[Pinned], listing: list[Leaf] | None = None) -> Report:
    """The report, with what the checkpoints say about the newest end added as lines.

    The listing names each file of the longest prefix of it that checkpoints' roots vouch for;
    each checkpoint it does not match is a TAMPERED line, and what no matching checkpoint covers
    of the newest is judged by count. A ``freed`` event the listing contradicts is TAMPERED, and
    no longer accounts for its segment."""
    if not pinned:
        return report
    genuine = _genuine(report.checks)
    freed = dict(report.freed)
    newest = max(pinned, key=lambda p: (p.checkpoint.size, -p.cosigned_at))
    added = _forks(pinned)
    covered = 0
    why = "; give the camera's listing (--listing) to name them"
    if listing is not None:
        bad = mismatches(listing, pinned)
        added += [_mismatch_line(p) for p in bad]
        good = sorted(
            (p for p in pinned if p.checkpoint.size <= len(listing) and p not in bad),
            key=lambda p: p.checkpoint.size,
        )
        if good:
            covered = good[-1].checkpoint.size
            known = listing[:covered]
            added += _against_freed(freed, known)
            added += _against_listing(genuine, freed, report.freed, good, known)
        why = (
            "; the listing given does not match it"
            if newest in bad
            else f"; the listing given holds only {len(listing)} leaves"
        )
    if newest.checkpoint.size > covered:
        added += _by_count(_top(genuine, freed), newest, why)
    if not any(ln.kind == "checkpoint" and ln.verdict is Verdict.TAMPERED for ln in added):
        size = newest.checkpoint.size
        added.append(
            Line(
                Verdict.OK,
                "checkpoint",
                str(size),
                "",
                0,
                f"pins the newest end: {size} files, cosigned by {newest.witness} at {newest.when}",
            )
        )
    return Report([*report.lines, *added], report.checks, report.reserved, freed)


def mismatches(listing: list[Leaf], pinned: list[Pinned]) -> list[Pinned]:
    """The checkpoints whose root is not that of the listing's first leaves, by size: only
    those it is long enough for (a shorter, older listing contradicts nothing)."""
    sizes = {p.checkpoint.size for p in pinned if p.checkpoint.size <= len(listing)}
    roots = {}
    tree = CompactRange()
    if 0 in sizes:
        roots[0] = tree.root()
    for leaf in listing[: max(sizes, default=0)]:
        tree.append(leaf.hash())
        if tree.size in sizes:
            roots[tree.size] = tree.root()
    out = [
        p for p in pinned if roots.get(p.checkpoint.size, p.checkpoint.root) != p.checkpoint.root
    ]
    return sorted(out, key=lambda p: p.checkpoint.size)


def choose_listing(
    pinned: list[Pinned], versions: Iterable[tuple[str, Callable[[], bytes | None]]]
) -> tuple[list[Leaf] | None, list[tuple[str, str]]]:
    """Of the versions of the camera's listing a source holds (longest first), the first that
    every checkpoint it is long enough for agrees with; each longer one is returned as not used,
    with why. Anyone who may put objects in the bucket may add a version, so no one version
    decides. If none agrees, the longest that can be read is used, and is TAMPERED by
    :func:`pin`; the shorter versions after the one used are not read."""
    unused: list[tuple[str, str]] = []
    fallback: tuple[str, list[Leaf]] | None = None
    for name, read in versions:
        data = read()
        if data is None:
            unused.append((name, "cannot be read"))
            continue
        try:
            leaves = parse_listing(data)
        except ValueError as e:
            unused.append((name, str(e)))
            continue
        bad = mismatches(leaves, pinned)
        if not bad:
            return leaves, unused
        unused.append((name, f"does not match the checkpoint of {bad[-1].when}"))
        fallback = fallback or (name, leaves)
    if fallback is None:
        return None, unused
    return fallback[1], [u for u in unused if u[0] != fallback[0]]


def _mismatch_line(p: Pinned) -> Line:
    return Line(
        Verdict.TAMPERED,
        "checkpoint",
        str(p.checkpoint.size),
        "",
        0,
        f"the listing given does not match the checkpoint of {p.when}",
    )


def _genuine(checks: list[FileCheck]) -> dict[tuple[Kind, int], FileCheck]:
    out = {}
    for c in checks:
        h = c.outcome.header
        if h is not None and not c.duplicate and c.outcome.verdict not in _UNSIGNED:
            out[h.kind, h.seq] = c
    return out


def _forks(pinned: list[Pinned]) -> list[Line]:
    seen: dict[int, Pinned] = {}
    out = []
    for p in pinned:
        other = seen.setdefault(p.checkpoint.size, p)
        if other.checkpoint.root != p.checkpoint.root:
            out.append(
                Line(
                    Verdict.TAMPERED,
                    "checkpoint",
                    str(p.checkpoint.size),
                    "",
                    0,
                    f"a fork: the device signed two different trees of {p.checkpoint.size} files "
                    f"(cosigned at {other.when} and at {p.when})",
                )
            )
    return out


def _top(genuine: dict[tuple[Kind, int], FileCheck], freed: dict[int, Freed]) -> dict[Kind, int]:
    """The highest number of each stream here, or accounted for by a ``freed`` event."""
    top = {k: max((s for kk, s in genuine if kk is k), default=0) for k in Kind}
    top[Kind.MEDIA] = max(top[Kind.MEDIA], *freed, 0)
    return top


def _by_count(top: dict[Kind, int], newest: Pinned, why: str) -> list[Line]:
    here = top[Kind.MEDIA] + top[Kind.AUDIT]
    short = newest.checkpoint.size - here
    if short <= 0:
        return []
    return [
        Line(
            Verdict.MISSING,
            "checkpoint",
            str(newest.checkpoint.size),
            "",
            0,
            f"withheld: {short} file(s) beyond segment #{top[Kind.MEDIA]} and audit "
            f"#{top[Kind.AUDIT]}, covered by the checkpoint of {newest.when}{why}",
        )
    ]


def _against_freed(freed: dict[int, Freed], known: list[Leaf]) -> list[Line]:
    """Hold each ``freed`` event to the leaves checkpoints vouch for (``known``): its segment
    must be among the leaves of the checkpoint it names, with its records and chain. One that
    is not is TAMPERED, and dropped from ``freed``: it accounts for nothing. An event naming a
    checkpoint larger than ``known`` whose segment is not in ``known`` cannot be judged here."""
    index: dict[int, int] = {}
    for n, leaf in enumerate(known):
        if leaf.kind is Kind.MEDIA:
            index.setdefault(leaf.seq, n)
    out = []
    for seq, f in sorted(freed.items()):
        i = index.get(seq)
        if i is None:
            if f.checkpoint > len(known):
                continue
            why = f"none of the first {max(f.checkpoint, 0)} leaves of the listing is it"
        elif i >= f.checkpoint:
            why = f"it is leaf {i} of the listing, not among the first {max(f.checkpoint, 0)}"
        elif (known[i].records, known[i].chain) != (f.records, f.chain):
            why = f"its leaf in the listing has {known[i].records} records and another chain"
        else:
            continue
        del freed[seq]
        out.append(
            Line(
                Verdict.TAMPERED,
                "segment",
                str(seq),
                "",
                0,
                f"{f.event} says it was freed, covered by the checkpoint of {f.checkpoint} "
                f"files, but {why}",
            )
        )
    return out


def _against_listing(
    genuine: dict[tuple[Kind, int], FileCheck],
    freed: dict[int, Freed],
    claimed: dict[int, Freed],
    pinned: list[Pinned],
    known: list[Leaf],
) -> list[Line]:
    """Each file of ``known`` (the leaves ``pinned``, by size, vouch for): absent is MISSING
    unless a ``freed`` event accounts for it (or was refuted: then it has its line already),
    other than the leaf is TAMPERED."""
    out = []
    for i, leaf in enumerate(known):
        cover = next(p for p in pinned if p.checkpoint.size > i)
        label, c = _LABEL[leaf.kind], genuine.get((leaf.kind, leaf.seq))
        if c is None:
            if leaf.records == 0 and leaf.chain == bytes(32):
                continue  # reserved and never written: there never was a file
            if leaf.kind is Kind.MEDIA and leaf.seq in claimed:
                continue  # accounted for by its freed event, or refuted on a line of its own
            out.append(
                Line(
                    Verdict.MISSING,
                    label,
                    str(leaf.seq),
                    "",
                    0,
                    f"withheld: covered by the checkpoint of {cover.when}",
                )
            )
            continue
        o = c.outcome
        same = (
            o.header is not None
            and o.header.segment_id == leaf.segment_id
            and len(o.chains) > leaf.records
            and o.chains[leaf.records] == leaf.chain
        )
        if not same:
            out.append(
                Line(
                    Verdict.TAMPERED,
                    label,
                    str(leaf.seq),
                    c.name,
                    o.valid,
                    f"contradicts the checkpoint of {cover.when}: it was finished with "
                    f"{leaf.records} records and another chain",
                )
            )
    return out
