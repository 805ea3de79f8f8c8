"""Bench the evidence path: the writer against the crypto floor, and verify against SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from recorder.bench.common import cpu_median, wall_median
from recorder.evidence.chain import verify_dir
from recorder.evidence.header import Kind, Link
from recorder.evidence.keys import Ed25519Signer
from recorder.evidence.media import Frame, encode_frames
from recorder.evidence.writer import EvidenceFile


def bench_evidence(frames: list[Frame], fps: int, seconds: int) -> list[tuple[str, str]]:
    """Return (figure, value) rows."""
    per_record = [frames[i : i + fps] for i in range(0, len(frames), fps)]  # 1 s records
    total = sum(len(f.data) for f in frames)
    device = Ed25519PrivateKey.generate()
    agency = X25519PrivateKey.generate()
    signer = Ed25519Signer(device)
    key = AESGCM(os.urandom(32))
    nonce = bytes(12)
    plaintexts = [encode_frames(r) for r in per_record]

    def crypto_floor() -> None:
        for pt in plaintexts:
            hashlib.sha256(key.encrypt(nonce, pt, None)).digest()

    with tempfile.TemporaryDirectory(prefix="bodycam-bench-") as tmp:
        d = Path(tmp)
        runs = iter(range(1000))

        def plain_append() -> None:
            path = d / f"plain{next(runs)}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            for r in per_record:
                os.writev(fd, [fr.data for fr in r])
                os.fdatasync(fd)  # as durable as the writer: one sync per record
            os.close(fd)
            path.unlink()

        def writer(keep: bool = False) -> None:
            path = d / f"segment-{next(runs) + 1:08d}.bcam"
            f = EvidenceFile.create(
                path,
                kind=Kind.MEDIA,
                seq=1,
                prev=Link.none(),
                signer=signer,
                meta={},
                recipients=(agency.public_key(),),
            )
            for r in per_record:
                f.append(encode_frames(r))  # framing is part of the recorder path
            f.close({"frames": len(frames)})
            if not keep:
                path.unlink()

        floor, _ = cpu_median(crypto_floor)
        plain_user, plain_sys = cpu_median(plain_append)
        write_user, write_sys = cpu_median(writer)

        verify_d = d / "verify"
        verify_d.mkdir()
        writer(keep=True)
        seg = next(d.glob("segment-*.bcam"))
        seg = seg.rename(verify_d / seg.name)
        size = seg.stat().st_size

        def sha() -> None:
            h = hashlib.sha256()
            with seg.open("rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)

        def verify() -> None:
            report = verify_dir(verify_d, device.public_key())
            assert report.exit_code == 0, report.lines

        def verify_keyed() -> None:  # what export runs first: contents checked too
            report = verify_dir(verify_d, device.public_key(), identity=agency)
            assert report.exit_code == 0, report.lines

        zeros_d = d / "zeros"
        zeros_d.mkdir()
        padded = zeros_d / "segment-00000001.bcam"
        EvidenceFile.create(
            padded,
            kind=Kind.MEDIA,
            seq=1,
            prev=Link.none(),
            signer=signer,
            meta={},
            recipients=(agency.public_key(),),
        ).abandon()
        os.chmod(padded, 0o640)
        os.truncate(padded, 1 << 30)  # sparse: a header, then 1 GiB of zeros costing no disk

        def verify_zeros() -> None:
            report = verify_dir(zeros_d, device.public_key())
            assert report.exit_code == 1, report.lines

        t_sha = wall_median(sha)
        t_verify = wall_median(verify)
        t_keyed = wall_median(verify_keyed)
        t_zeros = wall_median(verify_zeros)

    def ms(cpu: float) -> str:
        return f"{cpu / seconds * 1e3:.2f} ms"

    return [
        ("video", f"{total / seconds * 8 / 1e6:.2f} Mbit/s for {seconds} s, in 1 s records"),
        ("crypto floor: SHA-256 + AES-256-GCM, user CPU per s of video", ms(floor)),
        ("writer: frame, encrypt, chain, sign, write; user CPU per s", ms(write_user)),
        ("  writer / crypto floor", f"{write_user / floor:.2f}x  (goal <= 2.0x)"),
        ("plain append, user CPU per s", ms(plain_user)),
        ("kernel CPU per s: plain append + fdatasync per record", ms(plain_sys)),
        ("kernel CPU per s: writer (same bytes, same syncs)", ms(write_sys)),
        (
            "  all in: writer / (crypto floor + durable plain append)",
            f"{(write_user + write_sys) / (floor + plain_user + plain_sys):.2f}x",
        ),
        ("sha256 throughput", f"{size / t_sha / 2**20:.0f} MiB/s"),
        ("verify throughput", f"{size / t_verify / 2**20:.0f} MiB/s"),
        ("verify / sha256", f"{t_sha / t_verify:.2f}x  (goal >= 0.7x)"),
        ("verify --agency-key (export's check) / sha256", f"{t_sha / t_keyed:.2f}x"),
        ("verify: a header, then 1 GiB of zeros", f"{t_zeros * 1e3:.2f} ms (stops at record 0)"),
    ]
