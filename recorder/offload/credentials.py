"""S3 credentials: from a file or the environment, never from the camera's config or a log line.

The file is AWS's shared credentials file (``[default]`` with ``aws_access_key_id``,
``aws_secret_access_key`` and optionally ``aws_session_token``), so the agency can hand out the
same file its other tools read. It must be readable by its owner alone (mode 0600 or stricter),
as the device key must. Without a file, ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` (and
``AWS_SESSION_TOKEN``) in the environment are used: the way a systemd credential or an
``EnvironmentFile=`` readable by root alone passes them. Nothing else is consulted (no
``~/.aws``, no instance metadata), so what the camera uses is what its config says.

No message here contains a secret: a malformed line is named by its number only.
"""

from __future__ import annotations

import configparser
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from recorder.offload.errors import CredentialsError

__all__ = ["Credentials", "load_credentials"]

MAX_FILE = 64 * 1024
PROFILE = "default"
_ACCESS = re.compile(r"[\x21-\x7e]{1,128}")
_SECRET = re.compile(r"[\x21-\x7e]{1,256}")
_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    source: str = ""
    """Where they came from (a file's path, or "the environment"), for messages."""


def load_credentials(path: Path | None, environ: Mapping[str, str]) -> Credentials:
    """The credentials in ``path`` if given, else in ``environ``; raise CredentialsError."""
    if path is not None:
        return _from_file(path)
    access, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if not access and not secret:
        raise CredentialsError(
            "no S3 credentials: set offload.credentials_file, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY in the environment"
        )
    return _checked(access, secret, environ.get("AWS_SESSION_TOKEN"), "the environment")


def _from_file(path: Path) -> Credentials:
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise CredentialsError(f"{path}: not a regular file (expected S3 credentials)")
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CredentialsError(
                f"{path}: S3 credentials are accessible by group or others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {path}"
            )
        if st.st_size > MAX_FILE:
            raise CredentialsError(f"{path}: {st.st_size} bytes is too large for credentials")
        data = path.read_bytes()
    except FileNotFoundError:
        raise CredentialsError(f"{path}: no such file (expected S3 credentials)") from None
    except OSError as e:
        raise CredentialsError(f"{path}: cannot read: {e.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CredentialsError(f"{path}: not UTF-8 at byte {e.start}") from None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as e:
        # configparser's own messages quote the offending line, which may hold the secret.
        where = f" at line {_line(e)}" if _line(e) else ""
        raise CredentialsError(
            f"{path}: not a shared credentials file{where} (expected [{PROFILE}] with "
            "aws_access_key_id and aws_secret_access_key)"
        ) from None
    if not parser.has_section(PROFILE):
        raise CredentialsError(f"{path}: has no [{PROFILE}] section")
    section = parser[PROFILE]
    return _checked(
        section.get("aws_access_key_id"),
        section.get("aws_secret_access_key"),
        section.get("aws_session_token"),
        str(path),
    )


def _line(e: configparser.Error) -> int | None:
    errors = getattr(e, "errors", None)  # a ParsingError's; its subclasses may lack them
    if errors:
        return int(errors[0][0])
    line = getattr(e, "lineno", None)
    return line if isinstance(line, int) else None


def _checked(access: str | None, secret: str | None, token: str | None, source: str) -> Credentials:
    if not access or not _ACCESS.fullmatch(access):
        raise CredentialsError(f"{source}: no usable access key id (1-128 printable characters)")
    if not secret or not _SECRET.fullmatch(secret):
        raise CredentialsError(f"{source}: no usable secret key (1-256 printable characters)")
    if token is not None and not _TOKEN.fullmatch(token):
        raise CredentialsError(f"{source}: the session token is not usable")
    return Credentials(access, secret, token or None, source)
