"""bodycam-offload.service's promise about the camera's files, kept by the real offload.

The unit lets offload write the state directory alone and makes the evidence read-only
(``ReadWritePaths=``, ``ReadOnlyPaths=`` under ``ProtectSystem=strict``). Here the real
``bodycam offload`` runs against the tests' Ceph gateway in a mount namespace that gives the
camera's files exactly those mounts, read from the unit file: everything read-only, then the
unit's writable paths, then its read-only ones. It must send everything, and the evidence must
be as it was.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from recorder.config import load
from tests.s3 import S3
from tests.test_offload import BODYCAM, assert_locked, configure, expected_files, keep_cosigned
from tests.test_streams_link import two_shifts
from tests.test_systemd import OFFLOAD, SHIPPED_CONFIG, settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("unshare") is None or os.geteuid() != 0,
        reason="needs unshare(1) as root, to give offload the unit's mounts",
    ),
]


def snapshot(directory: Path) -> dict[str, tuple[int, int, str]]:
    """Each file's mode, mtime and SHA-256: what a write of any kind would change."""
    out = {}
    for path in sorted(directory.rglob("*")):
        st = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        out[str(path.relative_to(directory))] = (st.st_mode, st.st_mtime_ns, digest)
    return out


def test_offload_sends_everything_with_the_evidence_read_only_and_writes_only_the_state(
    tmp_path: Path, s3: S3
) -> None:
    cam = two_shifts(tmp_path)
    note = keep_cosigned(cam)
    credentials = tmp_path / "s3-credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = {s3.credentials.access_key}\n"
        f"aws_secret_access_key = {s3.credentials.secret_key}\n"
    )
    credentials.chmod(0o600)
    bucket = s3.bucket()
    config = configure(cam, s3, bucket, credentials_file=str(credentials))
    # The unit's paths are the shipped config's; here they are this camera's.
    shipped = load(SHIPPED_CONFIG)
    here = {str(shipped.state_dir): cam.config.state_dir, str(shipped.evidence_dir): cam.evidence}
    unit = settings(OFFLOAD)
    writable = [here[p] for p in unit["ReadWritePaths"]]
    read_only = [here[p] for p in unit["ReadOnlyPaths"]]
    assert writable == [cam.config.state_dir] and read_only == [cam.evidence]

    def bind(path: Path, mode: str) -> str:
        p = shlex.quote(str(path))
        return f"mount --bind {p} {p} && mount -o remount,bind,{mode} {p}"

    probe = shlex.quote(str(cam.evidence / ".probe"))
    script = " && ".join(
        [
            bind(tmp_path, "ro"),  # ProtectSystem=strict, for the camera's files
            *(bind(p, "rw") for p in writable),
            *(bind(p, "ro") for p in read_only),
            # The sandbox holds, or this test proves nothing:
            f"if touch {probe} 2>/dev/null; then echo 'the evidence is writable' >&2; exit 99; fi",
            f"exec {shlex.quote(BODYCAM)} offload --config {shlex.quote(str(config))}",
        ]
    )
    evidence_before = snapshot(cam.evidence)
    state_before = snapshot(cam.config.state_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "confirmed in bucket" in result.stdout, result.stdout
    for key, path in expected_files(cam).items():
        assert_locked(s3, bucket, key, path.read_bytes())
    assert snapshot(cam.evidence) == evidence_before
    state_after = snapshot(cam.config.state_dir)
    assert "offload.lock" in set(state_after) - set(state_before)  # it did write the state
    assert state_after[f"cosigned/{note.name}"] == state_before[f"cosigned/{note.name}"]
