#!/usr/bin/env python3
"""Generate the evidence-format test vectors in this directory (spec section 13).

Run from the project root: ``.venv/bin/python tests/vectors/generate.py [NAME ...]``; with names,
only those vectors are written and the others are left as they are.

Randomness is fixed: keys, segment ids and file keys come from SHA-256 of fixed labels, and
Ed25519 signatures are deterministic. The one exception is HPKE's ephemeral key, which OpenSSL
draws and ``cryptography`` does not let a caller fix, so the 80 wrapped-key bytes of each media
header differ from one generation to the next. The verdicts and payload hashes never do.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from hal.gnss import Fix
from recorder.evidence.header import (
    Header,
    Kind,
    Link,
    Suite,
    header_hash,
    header_prefix,
    header_signed,
)
from recorder.evidence.keys import Ed25519Signer, key_id, raw_public
from recorder.evidence.media import Frame, encode_frames
from recorder.evidence.recipients import wrap
from recorder.evidence.records import RECORD_HEAD, RecordType, next_chain, record_signed
from recorder.evidence.sensor import fix_sample
from recorder.evidence.stream import PayloadCipher
from recorder.evidence.writer import EvidenceFile, Signer
from tests.avclip import click_packets, interleave
from tests.h264 import make_h264_frames

HERE = Path(__file__).resolve().parent


def fixed(label: str) -> bytes:
    return hashlib.sha256(b"bodycam test vector: " + label.encode()).digest()


DEVICE = Ed25519PrivateKey.from_private_bytes(fixed("device key"))
OTHER_DEVICE = Ed25519PrivateKey.from_private_bytes(fixed("another device key"))
AGENCY = X25519PrivateKey.from_private_bytes(fixed("agency key"))
OTHER_AGENCY = X25519PrivateKey.from_private_bytes(fixed("another agency key"))
IDENTITY = bytes([1]) + bytes(31)
"""The Ed25519 encoding of the identity point (y = 1): a public key of order 1."""


class IdentityForger:
    """Signs anything "as" the identity point: ``R = identity, S = 0``. A verifier that takes
    the identity as a device key and checks ``[S]B = R + [k]A`` (OpenSSL does) accepts it."""

    key_id = key_id(IDENTITY)

    def sign(self, data: bytes) -> bytes:
        return IDENTITY + bytes(32)


META = {
    "device_id": "BC-TEST-0001",
    "officer_id": "4711",
    "firmware": "0.1.0",
    "wall_start": "2026-11-28T12:00:00.000000Z",
    "clock_source": "ntp",
    "clock_set": True,
    "mono_start_us": 1_000_000,
    "recording_id": "r-0001",
    "part": 1,
    "trigger": "button",
    "pre_roll_s": 30.0,
    "record_interval_s": 1.0,
}


def plaintexts(n: int) -> list[bytes]:
    """n records of made-up video frames (the format does not look inside them)."""
    out = []
    for r in range(n):
        frames = [
            Frame(0, 1_000_000 + (r * 3 + i) * 33_333, i == 0, fixed(f"frame {r}.{i}") * (i + 1))
            for i in range(3)
        ]
        out.append(encode_frames(frames))
    return out


def plaintexts_with_fixes(n: int) -> list[bytes]:
    """n records of made-up video frames, each with the GNSS fix of its second (section 9.1)."""
    out = []
    for r in range(n):
        frames = [
            Frame(0, 1_000_000 + (r * 3 + i) * 33_333, i == 0, fixed(f"frame {r}.{i}") * (i + 1))
            for i in range(3)
        ]
        fix = Fix(
            time=1_717_200_001.0 + r,
            received=1.05 + r * 0.1,
            mode="3d",
            lat=50.8467 + r * 1e-5,
            lon=4.3524 + r * 1e-5,
            alt_m=58.0,
            eph_m=4.5,
            epv_m=7.0,
            speed_mps=1.4,
            track_deg=49.2,
        )
        frames.insert(2, Frame(2, round(fix.received * 1e6), False, fix_sample(fix)))
        out.append(encode_frames(frames))
    return out


def plaintexts_with_audio() -> tuple[list[bytes], dict[str, object]]:
    """3 records of a real recording, 0.3 s: 3 H.264 frames each (160x120, 30 fps, a keyframe
    first), and among them the AAC-LC packets of a 440 Hz tone made as the camera makes them
    (section 9.2), each after the video frames of its time plus the encoder's delay; and the
    header's ``audio`` object for them. The pre-event sound is kept, so the sound starts with
    the pictures."""
    video = make_h264_frames(9, gop=9, start_pts_us=1_000_000)
    sound, audio = click_packets(0.34, start_us=1_000_000 - 20_000, tone_hz=440)
    sound = [f for f in sound if 1_000_000 <= f.pts_us < 1_300_000]
    audio["pre_event_audio"] = True
    frames = interleave(video, sound)
    records: list[list[Frame]] = []
    for f in frames:
        if f.stream == 0 and (video.index(f) % 3 == 0):
            records.append([])
        records[-1].append(f)
    return [encode_frames(r) for r in records], audio


def build(
    *,
    kind: Kind = Kind.MEDIA,
    suite: Suite = Suite.AES_256_GCM,
    data: list[bytes] | None = None,
    finals: int = 1,
    signer: Signer | None = None,
    meta: dict[str, object] | None = None,
    frames: int = 3,
) -> bytes:
    data = plaintexts(3) if data is None else data
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.bcam"
        f = EvidenceFile.create(
            path,
            kind=kind,
            seq=1,
            prev=Link.none(),
            signer=signer or Ed25519Signer(DEVICE),
            meta=(meta or META)
            if kind is Kind.MEDIA
            else {"device_id": "BC-TEST-0001", "boot_id": "b1"},
            recipients=(AGENCY.public_key(),) if kind is Kind.MEDIA else (),
            suite=suite,
            segment_id=fixed("segment id")[:16],
            file_key=fixed("file key"),
        )
        for pt in data:
            f.append(pt)
        for k in range(finals):
            summary = {"records": len(data) + k + 1, "frames": frames * len(data), "reason": "stop"}
            f._write(RecordType.FINAL, [json.dumps(summary, sort_keys=True).encode()])
        f.abandon()
        return path.read_bytes()


def craft(
    records: list[tuple[int, bytes]],
    *,
    kind: Kind = Kind.MEDIA,
    meta: bytes | None = None,
    seq: int = 1,
    prev: Link | None = None,
    key: Ed25519PrivateKey = DEVICE,
    label: str = "crafted",
) -> bytes:
    """A validly signed file with any meta bytes and records of any type and plaintext: what
    anyone holding the device key can write, the camera's writer notwithstanding.

    ``records`` are ``(type, plaintext)``; media plaintexts are encrypted to AGENCY as usual.
    """
    segment_id = fixed(f"{label} segment id {seq}")[:16]
    file_key = fixed(f"{label} file key {seq}")
    media = kind is Kind.MEDIA
    stanzas = (wrap(file_key, AGENCY.public_key(), segment_id),) if media else ()
    header = Header(
        kind,
        Suite.AES_256_GCM if media else Suite.NONE,
        key_id(raw_public(key.public_key())),
        segment_id,
        seq,
        prev or Link.none(),
        stanzas,
        {},
    )
    body = header.encode_body()
    if meta is not None:  # swap the encoded ``{}`` for the raw bytes given
        body = body[: -len(b"{}") - 4] + len(meta).to_bytes(4, "big") + meta
    prefix = header_prefix(body)
    sig = key.sign(header_signed(prefix))
    chain = header_hash(prefix, sig)
    cipher = PayloadCipher(header.suite, file_key, segment_id, chain) if media else None
    out = [prefix, sig]
    for i, (rtype, plaintext) in enumerate(records):
        known = rtype in set(RecordType)
        # a type no version defines is sealed as DATA (the nonce has no room for it)
        sealed_as = RecordType(rtype) if known else RecordType.DATA
        ct = cipher.seal(i, sealed_as, plaintext) if cipher else plaintext
        chain = next_chain(chain, rtype, i, ct)
        head = RECORD_HEAD.pack(len(ct), rtype, i)
        out += [head, ct, key.sign(record_signed(segment_id, i, rtype, chain))]
    return b"".join(out)


def summary(records: int, **extra: object) -> bytes:
    return json.dumps({"records": records, "frames": 0, "reason": "stop", **extra}).encode()


def deep_json(depth: int) -> bytes:
    """A JSON object nested ``depth`` levels deep."""
    return b'{"a":' * depth + b"1" + b"}" * depth


def record_offsets(blob: bytes) -> list[int]:
    """Byte offsets of each record in a file built by :func:`build`."""
    body_len = int.from_bytes(blob[11:15], "big")
    pos, out = 15 + body_len + 64, []
    while pos < len(blob):
        out.append(pos)
        pos += 9 + int.from_bytes(blob[pos : pos + 4], "big") + 64
    return out


def flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1 :]


def payload(pts: list[bytes]) -> str:
    return hashlib.sha256(b"".join(pts)).hexdigest() if pts else "none"


def vectors() -> dict[str, tuple[dict[str, str], bytes]]:
    valid = build()
    pts = plaintexts(3)
    offs = record_offsets(valid)
    dev = raw_public(DEVICE.public_key()).hex()
    agency = AGENCY.private_bytes_raw().hex()

    def vec(expect: str, valid_records: int, pay: str, comment: str, **kw: str) -> dict[str, str]:
        fields = {
            "expect": expect,
            "valid-records": str(valid_records),
            "payload": pay,
            "device-pub": kw.get("device", dev),
            "agency-key": kw.get("agency", agency),
        }
        if "agency_expect" in kw:
            fields["agency-expect"] = kw["agency_expect"]
        return fields | {"comment": comment}

    bad_flags = encode_frames([Frame(0, 1_000_000, True, b"frame")])
    bad_flags = bad_flags[:1] + b"\x80" + bad_flags[2:]  # a flag bit no version defines

    swapped = valid[: offs[1]] + valid[offs[2] : offs[3]] + valid[offs[1] : offs[2]]
    swapped += valid[offs[3] :]
    audit_events = [
        json.dumps({"n": i, "event": e, "wall": META["wall_start"], "mono_us": i}).encode()
        for i, e in enumerate(["boot", "record_start", "marker", "record_stop"])
    ]
    mutate: dict[str, Callable[[], tuple[dict[str, str], bytes]]] = {
        "valid": lambda: (vec("OK", 4, payload(pts), "a closed segment: 3 DATA, 1 FINAL"), valid),
        "valid-with-fixes": lambda: (
            vec(
                "OK",
                4,
                payload(plaintexts_with_fixes(3)),
                "3 DATA records, each with a GNSS fix (stream 2) among its video frames",
            ),
            build(data=plaintexts_with_fixes(3)),
        ),
        "valid-with-audio": lambda: (
            vec(
                "OK",
                4,
                payload(plaintexts_with_audio()[0]),
                "a real 0.3 s recording: 3 DATA records of H.264 frames (stream 0) with the "
                "AAC-LC packets of their time (stream 1) among them; the header's meta has the "
                "audio object; FINAL counts the video frames",
            ),
            build(
                data=plaintexts_with_audio()[0],
                meta=META | {"audio": plaintexts_with_audio()[1]},
            ),
        ),
        "valid-chacha20": lambda: (
            vec("OK", 4, payload(pts), "the same with ChaCha20-Poly1305 (suite 2)"),
            build(suite=Suite.CHACHA20_POLY1305),
        ),
        "valid-audit": lambda: (
            vec("OK", 5, payload(audit_events), "an audit log: plaintext events, then FINAL"),
            build(kind=Kind.AUDIT, data=audit_events),
        ),
        "truncated-at-record": lambda: (
            vec("INCOMPLETE", 2, payload(pts[:2]), "cut at the boundary after record 1"),
            valid[: offs[2]],
        ),
        "torn-last-record": lambda: (
            vec("INCOMPLETE", 2, payload(pts[:2]), "cut in the middle of record 2"),
            valid[: offs[2] + 100],
        ),
        "torn-header": lambda: (
            vec("INCOMPLETE", 0, "none", "cut inside the header"),
            valid[:40],
        ),
        "flipped-header": lambda: (
            vec("TAMPERED", 0, "none", "one bit flipped in the header's meta"),
            flip(valid, offs[0] - 100),
        ),
        "flipped-record-body": lambda: (
            vec("TAMPERED", 1, payload(pts[:1]), "one bit flipped in record 1's ciphertext"),
            flip(valid, offs[1] + 50),
        ),
        "flipped-signature": lambda: (
            vec("TAMPERED", 2, payload(pts[:2]), "one bit flipped in record 2's signature"),
            flip(valid, offs[3] - 10),
        ),
        "swapped-records": lambda: (
            vec("TAMPERED", 1, payload(pts[:1]), "records 1 and 2 swapped"),
            swapped,
        ),
        "wrong-device-key": lambda: (
            vec(
                "FOREIGN",
                0,
                "none",
                "checked against another device's key",
                device=raw_public(OTHER_DEVICE.public_key()).hex(),
            ),
            valid,
        ),
        "wrong-agency-key": lambda: (
            vec(
                "OK",
                4,
                "none",
                "verifies, but the agency key given is not a recipient",
                agency=OTHER_AGENCY.private_bytes_raw().hex(),
            ),
            valid,
        ),
        "missing-final": lambda: (
            vec("INCOMPLETE", 3, payload(pts), "3 DATA records and no FINAL"),
            build(finals=0),
        ),
        "two-finals": lambda: (
            vec("TAMPERED", 4, payload(pts), "a second, validly signed FINAL after the first"),
            build(finals=2),
        ),
        "trailing-garbage": lambda: (
            vec("TAMPERED", 4, payload(pts), "bytes after the FINAL record"),
            valid + b"\x00garbage\xff" * 4,
        ),
        "unknown-version": lambda: (
            vec("MALFORMED", 0, "none", "version line bodycam/v2"),
            b"bodycam/v2\n" + valid[11:],
        ),
        "small-order-device-key": lambda: (
            vec(
                "KEY REFUSED",
                0,
                "none",
                "forged with R = identity, S = 0 for the identity point as device key",
                device=IDENTITY.hex(),
            ),
            build(signer=IdentityForger()),
        ),
        "not-evidence": lambda: (
            vec("MALFORMED", 0, "none", "an MP4 file, not evidence"),
            b"\x00\x00\x00\x20ftypisom" + bytes(100),
        ),
        "deep-json-meta": lambda: (
            vec(
                "MALFORMED",
                0,
                "none",
                "validly signed meta JSON nested 2 700 deep (within the meta length limit)",
            ),
            craft([(RecordType.DATA, pts[0])], meta=deep_json(2700)),
        ),
        "zero-filled-tail": lambda: (
            vec("INCOMPLETE", 2, payload(pts[:2]), "a power cut left zeros after record 1"),
            valid[: offs[2]] + bytes(4096),
        ),
        "zero-filled-then-bytes": lambda: (
            vec(
                "INCOMPLETE",
                2,
                payload(pts[:2]),
                "zeros after record 1, then bytes the reader never reaches: it stops at the "
                "first record that cannot be valid",
            ),
            valid[: offs[2]] + bytes(64) + valid[offs[2] :],
        ),
        "final-miscounts": lambda: (
            vec(
                "OK",
                4,
                payload(pts),
                "a signed FINAL summary claiming 5 records in a file of 4: only the agency key "
                "can read it",
                agency_expect="TAMPERED",
            ),
            craft([*((RecordType.DATA, pt) for pt in pts), (RecordType.FINAL, summary(5))]),
        ),
        "unknown-frame-flags": lambda: (
            vec(
                "OK",
                4,
                payload(pts[:1]),
                "record 1 is validly signed and encrypted, but its frame sets flag 0x80",
                agency_expect="MALFORMED",
            ),
            craft(
                [
                    (RecordType.DATA, pts[0]),
                    (RecordType.DATA, bad_flags),
                    (RecordType.DATA, pts[2]),
                    (RecordType.FINAL, summary(4)),
                ]
            ),
        ),
    }
    return {name: make() for name, make in mutate.items()}


def main(names: list[str]) -> None:
    made = vectors()
    unknown = set(names) - made.keys()
    if unknown:
        raise SystemExit(f"unknown vectors: {', '.join(sorted(unknown))}; known: {', '.join(made)}")
    if not names:
        for old in HERE.glob("*.vec"):
            old.unlink()
    for name, (fields, blob) in made.items():
        if names and name not in names:
            continue
        head = "".join(f"{k}: {v}\n" for k, v in fields.items())
        (HERE / f"{name}.vec").write_bytes(head.encode() + b"\n" + blob)
        print(f"{name}.vec: {fields['expect']}")


if __name__ == "__main__":
    main(sys.argv[1:])
