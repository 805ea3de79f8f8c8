"""``bodycam witness keygen``, ``vkey`` and ``serve``: the real command, a real camera's
checkpoint over the network, and clear errors (never a traceback) for bad arguments."""

from __future__ import annotations

import os
import select
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recorder.cli import main
from recorder.evidence.errors import EvidenceError
from recorder.evidence.keys import load_witness_private, write_private_key, write_public_key
from recorder.evidence.note import TIMESTAMPED_ED25519, Verifier
from recorder.evidence.witness_client import SizeConflict, add_checkpoint, cosigned
from recorder.witness.server import parse_listen
from tests.profiles import examples
from tests.witness_kit import Camera

BODYCAM = str(Path(sys.executable).parent / "bodycam")
NAME = "agency.example/witness"


def keygen(out: Path, capsys: pytest.CaptureFixture[str]) -> Verifier:
    assert main(["witness", "keygen", "--out", str(out), "--name", NAME]) == 0
    printed = capsys.readouterr().out
    vkey = (out / "witness.vkey").read_text().strip()
    assert f"witness verifier key: {vkey}\n" in printed
    return Verifier.parse(vkey)


def test_keygen_makes_a_private_key_only_its_owner_reads_and_prints_the_vkey(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = keygen(tmp_path / "w", capsys)
    key_file = tmp_path / "w" / "witness.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = load_witness_private(key_file)
    assert (v.name, v.sig_type, v.public) == (NAME, TIMESTAMPED_ED25519, key.public_key())
    pem = key_file.read_text()
    assert pem.splitlines()[1] not in capsys.readouterr().out  # nothing of the key is shown
    assert main(["witness", "vkey", "--key", str(key_file), "--name", NAME]) == 0
    assert capsys.readouterr().out == v.vkey() + "\n"
    before = key_file.read_bytes()
    assert main(["witness", "keygen", "--out", str(tmp_path / "w"), "--name", NAME]) == 4
    assert "refusing to overwrite" in capsys.readouterr().err
    assert key_file.read_bytes() == before


@pytest.mark.parametrize("name", ["", "two words", "a+b", "tab\there"])
def test_a_name_that_cannot_be_a_key_name_is_refused_before_any_key_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert main(["witness", "keygen", "--out", str(tmp_path / "w"), "--name", name]) == 2
    assert "--name" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


@pytest.fixture
def setup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Verifier, Camera]:
    """A witness key and a devices directory with one camera's public key."""
    v = keygen(tmp_path / "w", capsys)
    cam = Camera(tmp_path / "cam", "cam-cli")
    (tmp_path / "devices").mkdir()
    write_public_key(tmp_path / "devices" / "cam.pub", cam.pub)
    return tmp_path, v, cam


def serve_args(root: Path, listen: str = "127.0.0.1:0", **change: str) -> list[str]:
    args = {
        "--state": str(root / "state"),
        "--devices": str(root / "devices"),
        "--key": str(root / "w" / "witness.key"),
        "--name": NAME,
        "--listen": listen,
    }
    args.update({f"--{k}": v for k, v in change.items()})
    return ["witness", "serve", *(x for kv in args.items() for x in kv)]


class Lines:
    """The lines a process prints, each waited for at most ``timeout`` seconds."""

    def __init__(self, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
        assert proc.stdout is not None
        self.fd, self.timeout, self.buf = proc.stdout.fileno(), timeout, b""

    def next(self) -> str:
        while b"\n" not in self.buf:
            ready, _, _ = select.select([self.fd], [], [], self.timeout)
            assert ready, "bodycam witness serve printed nothing more"
            chunk = os.read(self.fd, 4096)
            assert chunk, "bodycam witness serve ended"
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode() + "\n"


def test_serve_cosigns_a_camera_s_checkpoints_and_stops_on_sigterm(
    setup: tuple[Path, Verifier, Camera],
) -> None:
    root, v, cam = setup
    with (root / "serve.err").open("w") as err:
        proc = subprocess.Popen([BODYCAM, *serve_args(root)], stdout=subprocess.PIPE, stderr=err)
    try:
        lines = Lines(proc)
        assert lines.next() == f"witness {v.vkey()}\n"
        assert lines.next() == "cosigning for 1 device(s)\n"
        listening = lines.next()
        assert listening.startswith("listening on http://127.0.0.1:")
        url = listening.split()[-1].removesuffix("/add-checkpoint")
        note = cam.finish(3)
        c = cosigned(note, add_checkpoint(url, note, 0, []), v)
        assert c.timestamp > 0
        note = cam.finish(2)
        with pytest.raises(SizeConflict) as e:
            add_checkpoint(url, note, 0, [])
        assert e.value.size == 3
        cosigned(note, add_checkpoint(url, note, 3, cam.log.consistency(3)), v)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert b"PRIVATE" not in lines.buf + (proc.stdout.read() if proc.stdout else b"")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
    log = (root / "serve.err").read_text()
    assert "cosigned size 5" in log and "stopped" in log and "PRIVATE" not in log


def test_serve_refuses_what_it_cannot_use_with_a_message_and_a_code(
    setup: tuple[Path, Verifier, Camera], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _, _ = setup
    (root / "empty").mkdir()
    (root / "open.key").write_bytes((root / "w" / "witness.key").read_bytes())
    os.chmod(root / "open.key", 0o644)
    (root / "pub.key").write_bytes((root / "devices" / "cam.pub").read_bytes())
    os.chmod(root / "pub.key", 0o600)
    (root / "small").mkdir()
    (root / "small" / "bad.pub").write_text(
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        "-----END PUBLIC KEY-----\n"
    )  # the identity point: a key of small order
    write_private_key(root / "agency.key", X25519PrivateKey.generate())
    (root / "notdb").mkdir()
    (root / "notdb" / "witness.sqlite3").write_bytes(b"no database" * 100)
    cases = [
        ({"devices": str(root / "nowhere")}, 78, "no such directory"),
        ({"devices": str(root / "empty")}, 78, "holds no device keys"),
        ({"devices": str(root / "small")}, 78, "small order"),
        ({"key": str(root / "open.key")}, 78, "chmod 600"),
        ({"key": str(root / "nothing.key")}, 78, "no such file"),
        ({"key": str(root / "pub.key")}, 78, "not a PEM private key"),
        ({"key": str(root / "agency.key")}, 78, "expected a witness Ed25519 private key"),
        ({"state": str(root / "notdb")}, 78, "not a witness database"),
        ({"name": "a b"}, 2, "--name"),
    ]
    for change, code, words in cases:
        assert main(serve_args(root, **change)) == code, change
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (change, err)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(serve_args(root, listen=f"127.0.0.1:{port}")) == 69
        assert "cannot listen" in capsys.readouterr().err


@settings(max_examples=examples(50))
@given(listen=st.text(max_size=30))
@example(listen="127.0.0.1")
@example(listen="127.0.0.1:65536")
@example(listen="a\x00b:7380")
@example(listen=":7380")
@example(listen="[]:7380")
def test_a_bad_listen_address_is_a_clear_error(
    setup: tuple[Path, Verifier, Camera], capsys: pytest.CaptureFixture[str], listen: str
) -> None:
    root, _, _ = setup
    try:
        parse_listen(listen)
    except ValueError:
        assert main(serve_args(root, listen=listen)) == 2
        err = capsys.readouterr().err
        assert "--listen" in err and "HOST:PORT" in err and "Traceback" not in err
    else:  # it would serve: only a printable host name and a port get here
        host, port = parse_listen(listen)
        assert host.isprintable() and " " not in host and 0 <= port <= 65535


def test_a_key_systemd_hands_over_as_a_credential_is_loaded_whatever_its_group_bits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """systemd 254 and later give a LoadCredential= file mode 0440 (root's, with an ACL for the
    service's user) in a $CREDENTIALS_DIRECTORY nobody else can enter: that key is accepted;
    the same mode anywhere else, or in a directory others can enter, is still refused."""
    keygen(tmp_path / "w", capsys)
    creds = tmp_path / "credentials"
    creds.mkdir(mode=0o500)
    key = creds / "witness.key"
    key.write_bytes((tmp_path / "w" / "witness.key").read_bytes())
    key.chmod(0o440)
    elsewhere = tmp_path / "w" / "witness.key"
    elsewhere.chmod(0o440)
    with pytest.raises(EvidenceError, match="accessible by group or others"):
        load_witness_private(key)  # no $CREDENTIALS_DIRECTORY: a file like any other
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    load_witness_private(key)
    with pytest.raises(EvidenceError, match="accessible by group or others"):
        load_witness_private(elsewhere)
    creds.chmod(0o755)
    with pytest.raises(EvidenceError, match="accessible by group or others"):
        load_witness_private(key)
    key.chmod(0o444)
    creds.chmod(0o500)
    with pytest.raises(EvidenceError, match="accessible by group or others"):
        load_witness_private(key)
