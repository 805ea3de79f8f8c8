"""Configuration: every bad value is refused with its key and what is allowed; docs match."""

from __future__ import annotations

import json
import math
import urllib.parse
from pathlib import Path

import pytest
from botocore.utils import validate_region_name
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import example, given
from hypothesis import strategies as st

from recorder.config import SCHEMA, ConfigError, defaults, load, parse
from recorder.evidence.note import TIMESTAMPED_ED25519, Verifier

DOC = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text()


def test_every_key_and_its_default_is_documented() -> None:
    for section, keys in SCHEMA.items():
        assert f"### [{section}]" in DOC
        for key, spec in keys.items():
            row = f"| `{key}` | `{json.dumps(spec.default)}` | {spec.allowed} | {spec.doc} |"
            assert row in DOC, f"{section}.{key}: docs/configuration.md should have {row}"


def test_defaults_are_valid_and_round_trip_through_toml(tmp_path: Path) -> None:
    cfg = defaults()
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    assert load(path).values == cfg.values


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=80),
    st.lists(st.integers(), max_size=3),
)
KEYS = [(s, k) for s, keys in SCHEMA.items() for k in keys]


@given(st.sampled_from(KEYS), VALUES)
@example(("offload", "free_space"), True)  # refused by a rule across keys: named all the same
def test_any_value_is_accepted_or_refused_by_name(key: tuple[str, str], value: object) -> None:
    section, name = key
    if value is None:
        return  # TOML has no null
    try:
        cfg = parse({section: {name: value}})
    except ConfigError as e:
        assert len(e.problems) >= 1
        assert f"{section}.{name} = " in str(e) or "share one pin" in str(e)
        assert "must be" in str(e) or "share one pin" in str(e)
    else:
        got = cfg[section][name]
        assert got == value or (isinstance(value, int) and got == float(value))
        assert not (isinstance(got, float) and math.isnan(got))


def test_unknown_sections_and_keys_are_named_with_what_is_allowed() -> None:
    with pytest.raises(ConfigError) as e:
        parse({"vidoe": {}, "video": {"fsp": 30}})
    msg = str(e.value)
    assert "unknown section [vidoe]" in msg and "unknown key video.fsp" in msg
    assert "fps" in msg  # says what is allowed


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as e:
        parse({"video": {"fps": 0, "width": 7}, "recording": {"pre_event_s": 121}})
    assert len(e.value.problems) == 3


@given(st.binary(max_size=200))
def test_any_file_content_gives_a_config_or_a_clear_error(tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(blob)
    try:
        load(path)
    except ConfigError as e:
        assert str(e).startswith(str(path))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "absent.toml")


WITNESS_VKEY = Verifier(
    "agency.example/witness",
    TIMESTAMPED_ED25519,
    Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key(),
).vkey()


@given(
    url=st.one_of(
        st.text(max_size=40),
        st.builds(
            lambda scheme, host, port: f"{scheme}://{host}{port}",
            st.sampled_from(["http", "https", "ftp"]),
            st.text(st.characters(codec="ascii"), max_size=12),
            st.sampled_from(["", ":", ":0", ":80", ":65535", ":65536", ":99999", ":-1", ":x"]),
        ),
    ),
    key=st.sampled_from(["endpoint", "witness_url"]),
)
@example(url="http://[::1", key="endpoint")
@example(url="http://[::1", key="witness_url")
@example(url="http://h:99999", key="endpoint")
def test_an_offload_url_is_one_a_client_can_use_or_a_clear_error(url: str, key: str) -> None:
    """A URL the config accepts has a host and a port a client can use (urlsplit agrees), so
    offload never meets it first as a traceback."""
    extra = {"witness_vkey": WITNESS_VKEY} if key == "witness_url" and url else {}
    try:
        config = parse({"offload": {key: url, **extra}})
    except ConfigError as e:
        assert f"offload.{key} = " in str(e)
        return
    value = config["offload"][key]
    if value:
        parts = urllib.parse.urlsplit(value)
        assert parts.hostname and parts.scheme in ("http", "https")
        parts.port  # noqa: B018 (raises for a port that is not one)


@given(st.text(st.sampled_from("ab-9Z_\n."), max_size=34))
@example("us-east-1\n")
@example("-")
@example("9")
def test_a_region_the_config_accepts_is_one_botocore_accepts(region: str) -> None:
    try:
        parse({"offload": {"region": region}})
    except ConfigError as e:
        assert "offload.region = " in str(e)
        return
    validate_region_name(region)  # raises for a name botocore would refuse
