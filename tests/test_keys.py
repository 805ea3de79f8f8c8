"""Key files and the keys they hold: weak public keys refused wherever they are loaded (spec
section 2.1), the key directory made private."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from hypothesis import example, given
from hypothesis import strategies as st

from recorder.cli import main
from recorder.console.auth import Authenticator, Failure
from recorder.console.device import DeviceAccess
from recorder.control import Control
from recorder.evidence import KeyFileError, keycheck
from recorder.evidence.keycheck import P, ed25519_problem, x25519_problem
from recorder.evidence.keys import (
    ed25519_public_key,
    generate,
    load_agency_public,
    load_device_public,
    load_technician_public,
    raw_public,
    write_public_key,
    x25519_public_key,
)
from recorder.evidence.recipients import wrap
from recorder.provisioning import DEVICE_KEY, TECHNICIANS, provision

IDENTITY = bytes([1]) + bytes(31)
FORGERY = IDENTITY + bytes(32)
"""R = identity, S = 0: verifies any message under a small-order key with a cofactorless check."""

# libsodium's blocklists (ed25519_ref10.c, ge25519_has_small_order and has_small_order for
# X25519), the lists "Taming the many EdDSAs" (Chalkias et al., 2020) tests against: each value
# is compared with its top bit cleared, so each stands for two encodings.
ED25519_SMALL_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",  # 0 (order 4)
    "0100000000000000000000000000000000000000000000000000000000000000",  # 1 (order 1)
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p - 1 (order 2)
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p (= 0, order 4)
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p + 1 (= 1, order 1)
]
X25519_SMALL_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",  # 0 (order 4)
    "0100000000000000000000000000000000000000000000000000000000000000",  # 1 (order 1)
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  # order 8
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  # order 8
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p - 1 (order 2)
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p (= 0, order 4)
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p + 1 (= 1, order 1)
]


def both_signs(hexes: list[str]) -> list[bytes]:
    out = []
    for h in hexes:
        raw = bytes.fromhex(h)
        out += [raw, raw[:31] + bytes([raw[31] | 0x80])]
    return out


def short(raw: bytes) -> str:
    return raw.hex()[:4] + raw.hex()[-2:]


def encode(point: tuple[int, int, int, int]) -> bytes:
    """RFC 8032 section 5.1.2, for building test keys."""
    x, y, z, _ = point
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def decode(raw: bytes) -> tuple[int, int, int, int]:
    point = keycheck._decode(raw)
    assert not isinstance(point, str), point
    return point


def honest(seed: bytes) -> bytes:
    return raw_public(Ed25519PrivateKey.from_private_bytes(seed).public_key())


def accepts_the_forgery(raw: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(FORGERY, b"any message at all")
    except (InvalidSignature, ValueError):
        return False
    return True


# --- Ed25519: the check itself ------------------------------------------------------------------


def test_openssl_alone_takes_a_forgery_for_the_identity_key() -> None:
    """Why the check exists: without it this "signature" verifies (section 2 of issue 8)."""
    assert accepts_the_forgery(IDENTITY)


@pytest.mark.parametrize("raw", both_signs(ED25519_SMALL_ORDER), ids=short)
def test_every_small_order_encoding_is_refused(raw: bytes) -> None:
    problem = ed25519_problem(raw)
    assert problem is not None and ("small order" in problem or "not canonical" in problem)
    with pytest.raises(KeyFileError, match=r"^device\.pub: refused as a device Ed25519"):
        ed25519_public_key(raw, "device.pub")


def test_the_small_order_points_are_named_by_their_order() -> None:
    assert ed25519_problem(IDENTITY) == (
        "the identity point: a key of small order accepts forged signatures"
    )
    orders = {ed25519_problem(bytes.fromhex(h)) for h in ED25519_SMALL_ORDER[:5]}
    assert {p.split(":")[0] for p in orders if p} == {
        "the identity point",
        "a point of order 2",
        "a point of order 4",
        "a point of order 8",
    }


@pytest.mark.parametrize("y", range(19))
def test_a_y_of_p_or_more_is_not_canonical(y: int) -> None:
    for sign in (0, 1):
        raw = ((P + y) | sign << 255).to_bytes(32, "little")
        assert ed25519_problem(raw) == "not canonical (y is not below p)"


def test_x_zero_with_the_sign_bit_is_not_canonical() -> None:
    for y in (1, P - 1):  # the two points with x = 0
        raw = (y | 1 << 255).to_bytes(32, "little")
        assert ed25519_problem(raw) == "not canonical (x is 0 but its sign bit is set)"


def test_bytes_that_are_no_point_are_refused() -> None:
    raw = (2).to_bytes(32, "little")  # (y^2 - 1) / (d y^2 + 1) has no square root for y = 2
    assert ed25519_problem(raw) == "not a point on the Ed25519 curve"


@given(st.binary(min_size=32, max_size=32), st.sampled_from(ED25519_SMALL_ORDER[2:4]))
def test_a_key_with_a_small_order_component_is_refused(seed: bytes, torsion: str) -> None:
    mixed = encode(keycheck._add(decode(honest(seed)), decode(bytes.fromhex(torsion))))
    assert ed25519_problem(mixed) == (
        "not in the prime-order subgroup (it has a small-order component)"
    )


@given(st.binary(min_size=32, max_size=32))
def test_every_generated_key_is_accepted(seed: bytes) -> None:
    raw = honest(seed)
    assert raw_public(ed25519_public_key(raw, "k")) == raw


@given(st.binary(min_size=32, max_size=32))
@example(IDENTITY)
@example(bytes.fromhex(ED25519_SMALL_ORDER[2]))
def test_any_32_bytes_are_a_checked_key_or_a_clear_refusal(raw: bytes) -> None:
    try:
        key = ed25519_public_key(raw, "device.pub")
    except KeyFileError as e:
        assert str(e).startswith("device.pub: refused as a device Ed25519 public key: ")
        return
    assert raw_public(key) == raw  # the key is its canonical encoding
    assert not accepts_the_forgery(raw)


# --- X25519 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", both_signs(X25519_SMALL_ORDER), ids=short)
def test_every_low_order_agency_key_is_refused_and_hpke_agrees(raw: bytes) -> None:
    with pytest.raises(KeyFileError, match=r"^agency\.pub: refused as an agency X25519"):
        x25519_public_key(raw, "agency.pub")
    with pytest.raises(ValueError):  # what the camera would have met at its first trigger
        wrap(bytes(32), X25519PublicKey.from_public_bytes(raw), bytes(16))


@given(st.binary(min_size=32, max_size=32))
@example(bytes.fromhex(X25519_SMALL_ORDER[3]))
def test_an_accepted_agency_key_can_always_be_encrypted_to(raw: bytes) -> None:
    problem = x25519_problem(raw)
    key = X25519PublicKey.from_public_bytes(raw)
    if problem is None:
        assert len(wrap(bytes(32), key, bytes(16)).wrapped) == 80
    elif "small order" in problem:
        with pytest.raises(ValueError):
            wrap(bytes(32), key, bytes(16))
    else:
        assert problem.startswith("not canonical")


@given(st.binary(min_size=32, max_size=32))
def test_every_generated_agency_key_is_accepted(seed: bytes) -> None:
    raw = raw_public(X25519PrivateKey.from_private_bytes(seed).public_key())
    assert x25519_problem(raw) is None


# --- wherever a key is loaded ----------------------------------------------------------------


def pem(path: Path, key: Ed25519PublicKey | X25519PublicKey) -> Path:
    write_public_key(path, key)
    return path


def identity_pem(path: Path) -> Path:
    return pem(path, Ed25519PublicKey.from_public_bytes(IDENTITY))


def low_order_agency_pem(path: Path) -> Path:
    return pem(path, X25519PublicKey.from_public_bytes(bytes.fromhex(X25519_SMALL_ORDER[2])))


def test_the_file_loaders_refuse_weak_keys_and_name_the_file(tmp_path: Path) -> None:
    dev = identity_pem(tmp_path / "device.pub")
    with pytest.raises(KeyFileError, match=rf"^{dev}: refused as a device Ed25519.*identity"):
        load_device_public(dev)
    with pytest.raises(KeyFileError, match=rf"^{dev}: refused as a technician Ed25519"):
        load_technician_public(dev)
    agency = low_order_agency_pem(tmp_path / "agency.pub")
    with pytest.raises(KeyFileError, match=rf"^{agency}: refused as an agency X25519.*small order"):
        load_agency_public(agency)


def test_provision_refuses_a_low_order_agency_key_and_writes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    agency = low_order_agency_pem(tmp_path / "agency.pub")
    with pytest.raises(KeyFileError, match=str(agency)):
        provision(state, [agency])
    assert not state.exists()
    code = main(["provision", "--state", str(state), "--agency-pub", str(agency)])
    assert code == 4 and not state.exists()


def test_provision_refuses_a_small_order_technician_key(tmp_path: Path) -> None:
    state = tmp_path / "state"
    agency = generate("agency", tmp_path / "keys").public
    tech = identity_pem(tmp_path / "tech.pub")
    with pytest.raises(KeyFileError, match=rf"{tech}: refused as a technician"):
        provision(state, [agency], [tech])
    assert not (state / DEVICE_KEY).exists()


def test_the_console_does_not_let_a_small_order_technician_key_in(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A key put into STATE/technicians by hand, past provisioning, is skipped and logged."""
    (tmp_path / TECHNICIANS).mkdir()
    identity_pem(tmp_path / TECHNICIANS / "01-x.pub")
    access = DeviceAccess(
        Control(), state_dir=tmp_path, evidence_dir=tmp_path, clock_now=lambda: 0.0, reboot=print
    )
    auth = Authenticator(lambda: 0.0, access.technician_keys)
    result = auth.respond(auth.challenge(), FORGERY.hex(), "BC-TEST")
    assert isinstance(result, Failure)
    assert "refused as a technician Ed25519 public key: the identity point" in caplog.text


def test_verify_refuses_the_small_order_vector_with_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vec = Path(__file__).parent / "vectors" / "small-order-device-key.vec"
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "segment-00000001.bcam").write_bytes(vec.read_bytes().partition(b"\n\n")[2])
    dev = identity_pem(tmp_path / "device.pub")
    code = main(["verify", str(evidence), "--device-pub", str(dev)])
    out, err = capsys.readouterr()
    assert code == 4, out
    assert "OK" not in out
    assert err.startswith(f"bodycam verify: {dev}: refused as a device Ed25519 public key: ")


# --- the key directory ---------------------------------------------------------------------------


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277], ids=oct)
def test_keygen_makes_its_directory_0700_whatever_the_umask(tmp_path: Path, mask: int) -> None:
    out = tmp_path / "new" / "keys"
    with umask(mask):
        assert main(["keygen", "agency", "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "agency.key").stat().st_mode) == 0o600


def test_keygen_leaves_an_existing_directory_alone(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    assert main(["keygen", "technician", "--out", str(tmp_path)]) == 0
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


def test_keygen_into_a_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f").write_text("")
    assert main(["keygen", "device", "--out", str(tmp_path / "f")]) == 4
    assert "exists and is not a directory" in capsys.readouterr().err
