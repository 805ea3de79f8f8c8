"""Offload's parts that need no store: credentials, the bandwidth cap, the command line, the
plan read from the camera's log."""

from __future__ import annotations

import fcntl
import io
import os
import string
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from recorder.cli import main
from recorder.cli.progress import Bar
from recorder.evidence.cosigned import COSIGNED
from recorder.offload.credentials import Credentials, load_credentials
from recorder.offload.errors import CredentialsError
from recorder.offload.offload import LOCK
from recorder.offload.pace import BURST, Pace, PacedBody
from recorder.offload.plan import make_plan
from tests.simdevice import SimDevice
from tests.test_pinning import camera_checkpoint, cosigned
from tests.test_streams_link import two_shifts

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def credentials_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_credentials_come_from_a_shared_credentials_file_readable_by_its_owner_alone(
    tmp_path: Path,
) -> None:
    text = f"[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = {SECRET}\n"
    path = credentials_file(tmp_path / "s3", text)
    got = load_credentials(path, {"AWS_ACCESS_KEY_ID": "other", "AWS_SECRET_ACCESS_KEY": "x"})
    assert (got.access_key, got.secret_key, got.session_token) == ("AKIDEXAMPLE", SECRET, None)
    assert SECRET not in repr(got)
    path.chmod(0o640)
    with pytest.raises(CredentialsError) as e:
        load_credentials(path, {})
    assert "accessible by group or others (mode 0640); run: chmod 600" in str(e.value)


def test_credentials_come_from_the_environment_when_no_file_is_set() -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET}
    assert load_credentials(None, env) == Credentials(
        "AKIDEXAMPLE", SECRET, None, "the environment"
    )
    with pytest.raises(CredentialsError) as e:
        load_credentials(None, {})
    assert "set offload.credentials_file, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in str(
        e.value
    )


@given(st.text(alphabet=string.printable + "[]=é\x00", max_size=200))
@example(f"[default]\naws_secret_access_key {SECRET}\n")  # a line without "=": quoted by Python
@example(f"aws_secret_access_key = {SECRET}\n")  # no section header: quoted by Python
@example(f"[default]\naws_secret_access_key = {SECRET}\naws_secret_access_key = {SECRET}\n")
def test_any_credentials_file_gives_credentials_or_an_error_that_shows_no_secret(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = credentials_file(tmp_path_factory.mktemp("c") / "s3", text)
    try:
        load_credentials(path, {})
    except CredentialsError as e:
        assert SECRET not in str(e)
        assert str(path) in str(e)


def test_no_secret_reaches_the_output_or_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    cam = SimDevice.provision(tmp_path)
    text = f"[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = {SECRET}\n"
    creds = credentials_file(tmp_path / "s3", text)
    cam.config = cam.config.replace(
        {
            # Nothing listens there: the run fails after the credentials are loaded.
            "offload.endpoint": "http://127.0.0.1:9",
            "offload.bucket": "evidence",
            "offload.retention_days": 1,
            "offload.credentials_file": str(creds),
        }
    )
    assert main(["offload", "--config", str(cam.toml())]) == 69
    out = capsys.readouterr()
    assert "no answer" in out.err and "run it again to resume" in out.err
    assert SECRET not in out.out + out.err + caplog.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "offload.bucket is not set"),
        ({"offload.bucket": "evidence"}, "offload.retention_days is not set"),
        (
            {"offload.bucket": "evidence", "offload.retention_days": 7},
            "no S3 credentials: set offload.credentials_file",
        ),
        (
            {
                "offload.bucket": "evidence",
                "offload.retention_days": 7,
                "offload.credentials_file": "/nonexistent/s3",
            },
            "/nonexistent/s3: no such file (expected S3 credentials)",
        ),
    ],
)
def test_an_offload_that_is_not_set_up_says_what_is_missing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, object],
    message: str,
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    cam = SimDevice.provision(tmp_path)
    cam.config = cam.config.replace(changes)
    assert main(["offload", "--config", str(cam.toml())]) == 78
    assert message in capsys.readouterr().err


@given(st.text(max_size=20))
@example("0.05")
@example("nan")
@example("-1")
def test_any_limit_mbps_is_taken_or_refused_by_name(
    capsys: pytest.CaptureFixture[str], text: str
) -> None:
    try:
        value = float(text)
    except ValueError:
        value = None
    ok = value is not None and (value == 0 or 0.1 <= value <= 100_000)
    if ok:
        return  # taken: the runs above show what a run does
    with pytest.raises(SystemExit) as e:
        main(["offload", f"--limit-mbps={text}", "--config", "/nonexistent"])
    assert e.value.code == 2
    assert "must be 0 (no cap) or a number of Mbit/s from 0.1 to 100000" in capsys.readouterr().err


def test_a_second_offload_of_the_same_camera_waits_for_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cam = SimDevice.provision(tmp_path)
    cam.config = cam.config.replace(
        {"offload.bucket": "evidence", "offload.retention_days": 1, "offload.endpoint": "http://x"}
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    fd = os.open(cam.config.state_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert main(["offload", "--config", str(cam.toml())]) == 75
    finally:
        os.close(fd)
    assert "another offload of this camera is running" in capsys.readouterr().err


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        assert s > 0
        self.now += s


@given(
    st.floats(1e3, 1e9),
    st.lists(st.tuples(st.integers(1, 4 * BURST), st.floats(0, 2)), max_size=50),
)
def test_the_cap_is_never_exceeded_beyond_one_burst(
    rate: float, reads: list[tuple[int, float]]
) -> None:
    t = VirtualTime()
    pace = Pace(rate, clock=t.clock, sleep=t.sleep)
    for n, idle in reads:
        t.now += idle
        pace.take(n)
        # Once take returns, n bytes may go: what went by now is within the cap and one burst.
        assert pace.sent <= rate * t.now + BURST + n
    assert pace.sent == sum(n for n, _ in reads)


def test_without_a_cap_nothing_waits() -> None:
    t = VirtualTime()
    pace = Pace(None, clock=t.clock, sleep=t.sleep)
    pace.take(10**9)
    assert t.now == 0


def test_a_retry_that_reads_the_body_again_does_not_count_it_twice() -> None:
    seen: list[int] = []
    pace = Pace(None, on_progress=seen.append)
    body = PacedBody(b"x" * 1000, pace)
    assert len(body.read(600)) == 600
    body.seek(0)  # botocore rewinds to retry
    assert body.read() == b"x" * 1000
    assert body.read() == b""
    assert pace.sent == 1000 and seen[-1] == 1000 and min(seen) == 0


def test_the_progress_bar_is_drawn_on_a_terminal_only() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    t = VirtualTime()
    for stream in (tty, pipe):
        bar = Bar("offload", rate=True, stream=stream, clock=t.clock)
        t.now += 2.0
        bar(4 << 20, 8 << 20)
        bar(8 << 20, 8 << 20)
    assert pipe.getvalue() == ""
    assert "offload [####################" in tty.getvalue() and "4/8 MiB" in tty.getvalue()
    assert "MiB/s" in tty.getvalue() and tty.getvalue().endswith("\n")


def test_a_checkpoint_in_the_cosigned_directory_that_is_not_cosigned_is_reported(
    tmp_path: Path,
) -> None:
    cam = two_shifts(tmp_path)
    d = cam.config.state_dir / COSIGNED
    d.mkdir()
    (d / "checkpoint-plain.note").write_bytes(camera_checkpoint(cam).encode())
    (d / "checkpoint-good.note").write_bytes(cosigned(camera_checkpoint(cam)).encode())
    (d / "garbage.note").write_bytes(b"\x00not a note")
    plan = make_plan(cam.config.state_dir, cam.evidence)
    size = camera_checkpoint(cam).text.splitlines()[1]
    assert [i.key for i in plan.items if "checkpoint" in i.key] == [
        f"{plan.prefix}/log/checkpoint-{size}.note"
    ]
    assert len(plan.problems) == 2
    assert any("device's signature alone (not cosigned)" in p for p in plan.problems)
    assert any("garbage.note: not sent" in p for p in plan.problems)
