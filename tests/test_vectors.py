"""Every vector in tests/vectors/ is checked against its expect:, valid-records: and payload:."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from recorder.evidence import EvidenceError, KeyFileError, NoRecipientError
from recorder.evidence.header import Kind
from recorder.evidence.keys import ed25519_public_key
from recorder.evidence.reader import FileReader, Verdict, decrypt_file, read_bytes
from recorder.evidence.records import RecordType

VECTORS = sorted((Path(__file__).parent / "vectors").glob("*.vec"))


def load(path: Path) -> tuple[dict[str, str], bytes]:
    raw = path.read_bytes()
    head, _, blob = raw.partition(b"\n\n")
    fields = dict(line.split(": ", 1) for line in head.decode().splitlines())
    return fields, blob


def test_the_vectors_cover_the_required_scenarios() -> None:
    names = {p.stem for p in VECTORS}
    required = {
        "valid",
        "truncated-at-record",
        "torn-last-record",
        "flipped-header",
        "flipped-record-body",
        "flipped-signature",
        "swapped-records",
        "wrong-device-key",
        "wrong-agency-key",
        "missing-final",
        "two-finals",
        "trailing-garbage",
        "unknown-version",
        "small-order-device-key",
        "deep-json-meta",
        "zero-filled-tail",
        "final-miscounts",
        "unknown-frame-flags",
    }
    assert required <= names


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_vector(path: Path) -> None:
    fields, blob = load(path)
    if fields["expect"] == "KEY REFUSED":  # refused at load, before any byte of the file is read
        with pytest.raises(KeyFileError, match="refused as a device Ed25519 public key"):
            ed25519_public_key(bytes.fromhex(fields["device-pub"]), path.name)
        assert (fields["valid-records"], fields["payload"]) == ("0", "none")
        return
    device = ed25519_public_key(bytes.fromhex(fields["device-pub"]), path.name)
    agency = X25519PrivateKey.from_private_bytes(bytes.fromhex(fields["agency-key"]))
    reader = FileReader(io.BytesIO(blob), device)
    records = list(reader.records())
    assert reader.outcome.verdict == Verdict(fields["expect"]), reader.outcome.reason
    assert reader.outcome.valid == int(fields["valid-records"])
    # The holder of the agency key also sees inside the media records (spec section 13).
    header = reader.outcome.header
    pts: list[bytes] = []
    if header is not None and header.kind is Kind.AUDIT:
        pts = [r.body for r in records if r.type is RecordType.DATA]
        outcome = read_bytes(blob, device, agency)
    else:
        keyed, it = decrypt_file(io.BytesIO(blob), device, agency)
        try:
            pts.extend(it)
        except NoRecipientError:
            pts = []
        except EvidenceError:
            pass  # the records before the one whose contents fail; the verdict says why
        outcome = keyed.outcome
    agency_expect = Verdict(fields.get("agency-expect", fields["expect"]))
    assert outcome.verdict == agency_expect, outcome.reason
    got = hashlib.sha256(b"".join(pts)).hexdigest() if pts else "none"
    assert got == fields["payload"]
