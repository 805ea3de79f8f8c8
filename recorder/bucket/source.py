"""A camera's evidence in an S3 bucket, as an evidence ``Source``: what ``bodycam offload`` wrote
under ``PREFIX/<key id>/`` (docs/offload.md), read straight from the store.

- **Every version of every object** under ``<key id>/`` whose key ends in ``.bcam`` is an entry,
  whatever its name, as every ``*.bcam`` entry of a directory is. Object Lock keeps each locked
  version, but it does not stop a new version being put over it, nor a delete marker hiding it
  from a plain listing: so versions are listed (ListObjectVersions), and each is read by its
  version id. A key with one version is named by its key; with several, each is
  ``KEY?versionId=ID``.
- ``<key id>/media/<seq:08d>.bcam`` and ``<key id>/audit/<seq:08d>.bcam`` name their stream and
  number, as ``segment-<seq>.bcam`` does in a directory.
- **Streaming**: an object is read as the GET's body, through a buffer of
  :data:`~recorder.evidence.source.READ_BUFFER` bytes, in reads of at most :data:`CHUNK`; never
  whole. Each :meth:`BucketEntry.open` is a new GET of the same version, so export's second
  read is a read of the bucket again.
- ``<key id>/log/leaves`` is the camera's listing (every version, longest first: each offload
  run adds a longer one, and anyone who may put objects may add another; verify uses the longest
  that its checkpoints' roots agree with) and ``<key id>/log/checkpoint-*.note`` its cosigned
  checkpoints (every version).
- **The store of record**: a ``freed`` event does not account for a segment the bucket does not
  hold (``freed_excuses`` is False): the camera freed it, but it is not kept.

Listing failures are SourceError (exit 4) naming the bucket and what the store said; one
object that cannot be read is an OSError, so an UNREADABLE line, as for a file.
"""

from __future__ import annotations

import errno
import functools
import io
import os
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

import botocore.exceptions
import botocore.utils
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError

from recorder.bucket.url import BucketURL
from recorder.config import REGION
from recorder.evidence.errors import EvidenceError
from recorder.evidence.header import Kind
from recorder.evidence.source import READ_BUFFER, Entry, NotAFile, Source, SourceError
from recorder.offload.credentials import load_credentials
from recorder.offload.errors import CredentialsError
from recorder.offload.store import make_client

__all__ = ["CHUNK", "BadArgument", "BucketEntry", "BucketSource", "Store", "open_bucket"]

CHUNK = 1 << 20
"""The most read from an object's body at once."""
MAX_LOG_OBJECT = 64 << 20
"""A listing or checkpoint larger than this is not read (a listing of a million files is 61 MB)."""
LEAVES = "log/leaves"
_CHECKPOINT = re.compile(r"log/checkpoint-[0-9]+\.note")
_SEQ = re.compile(r"(media|audit)/([0-9]{8,20})\.bcam")
_STREAM = {"media": Kind.MEDIA, "audit": Kind.AUDIT}
_DIR = {Kind.MEDIA: "media/", Kind.AUDIT: "audit/"}
_REFUSED = ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken")
_KEY_ID = re.compile(r"[0-9a-f]{16}")


class BadArgument(EvidenceError):
    """A bad command line: the URL names one device's key id and --device-pub is another's, or
    the endpoint is not an http(s) URL, or the region not a region."""

    exit_code = 2


@dataclass(frozen=True)
class Store:
    """Where the bucket is, and the credentials to read it with: from the command line, else
    the environment (docs/verify-and-export.md)."""

    endpoint: str = ""
    """"" for AWS S3."""
    region: str = "us-east-1"
    credentials_file: Path | None = None

    @classmethod
    def of(
        cls,
        endpoint: str | None,
        region: str | None,
        credentials_file: Path | None,
        environ: Mapping[str, str],
    ) -> Store:
        """The store the options (else the environment) name; raises BadArgument naming the
        option or variable whose value is not allowed, and what is."""
        if endpoint is not None:
            _check_endpoint("--endpoint", endpoint)
        else:
            endpoint = environ.get("BODYCAM_S3_ENDPOINT", "")
            _check_endpoint("$BODYCAM_S3_ENDPOINT", endpoint)
        named: list[tuple[str, str | None]] = [("--region", region)]
        named += [(f"${v}", environ.get(v)) for v in ("BODYCAM_S3_REGION", "AWS_REGION")]
        where, value = next(((w, v) for w, v in named if v), ("", "us-east-1"))
        _check_region(where, value)
        return cls(endpoint, value, credentials_file)

    def client(self, environ: Mapping[str, str]) -> Any:
        try:
            if self.credentials_file is None and not (
                environ.get("AWS_ACCESS_KEY_ID") or environ.get("AWS_SECRET_ACCESS_KEY")
            ):
                raise CredentialsError(
                    "no S3 credentials: give --credentials-file, or set AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY in the environment"
                )
            credentials = load_credentials(self.credentials_file, environ)
        except CredentialsError as e:
            raise SourceError(str(e)) from None
        return make_client(self.endpoint, self.region, credentials)


def _check_endpoint(where: str, endpoint: str) -> None:
    """An endpoint is ``http(s)://HOST[:PORT]``, or "" (AWS)."""
    if not endpoint:
        return
    shown = repr(endpoint[:200])
    try:
        parts = urllib.parse.urlsplit(endpoint)
        port = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError as e:
        raise BadArgument(f"{where} {shown}: {e} (expected http(s)://HOST[:PORT])") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or port == 0
        # what the client itself accepts (a host name of DNS labels, or an IPv6 address)
        or not (botocore.utils.is_valid_endpoint_url(endpoint) or _ipv6(endpoint))
    ):
        raise BadArgument(f"{where} {shown}: expected http(s)://HOST[:PORT]")


def _ipv6(endpoint: str) -> bool:
    return bool(botocore.utils.is_valid_ipv6_endpoint_url(endpoint))


def _check_region(where: str, region: str) -> None:
    """The rule of ``offload.region`` (recorder.config), and what the client accepts."""
    try:
        botocore.utils.validate_region_name(region)
        valid = REGION.fullmatch(region) is not None
    except botocore.exceptions.InvalidRegionError:
        valid = False
    if not valid:
        raise BadArgument(
            f"{where} {region[:60]!r}: not a region (1 to 32 of a-z, 0-9 and '-', beginning and "
            "ending with a letter or digit, not only digits)"
        )


def open_bucket(
    url: BucketURL,
    device_key_id: str,
    store: Store,
    environ: Mapping[str, str] = os.environ,
    client: Any = None,
) -> BucketSource:
    """The evidence of the device whose key id is ``device_key_id`` at ``url``; raises
    BadArgument when the URL names another device's key id."""
    if url.key_id is not None and url.key_id != device_key_id:
        raise BadArgument(
            f"{url} is the evidence of device key id {url.key_id}, but --device-pub is the key "
            f"of {device_key_id}: give that device's public key, or its key id in the URL"
        )
    client = client if client is not None else store.client(environ)
    return BucketSource(client, url, device_key_id, store.endpoint)


@dataclass(frozen=True, order=True)
class _Version:
    key: str
    version_id: str
    size: int


class BucketSource(Source):
    """The objects under ``PREFIX/<key id>/`` of one bucket."""

    freed_excuses = False

    def __init__(self, client: Any, url: BucketURL, key_id: str, endpoint: str = "") -> None:
        self.client = client
        self.bucket = url.bucket
        self.url = url
        self.base = url.at(key_id)
        at = f" at {endpoint}" if endpoint else ""
        self.where = f"s3://{self.bucket}/{self.base}{at}"
        self._at = f"bucket {self.bucket!r}{at}"

    def _failed(self, e: Exception, what: str) -> SourceError:
        at = self._at
        if isinstance(e, ClientError):
            code, status = _code(e), _status(e)
            if code == "NoSuchBucket":
                return SourceError(f"{at} does not exist")
            if code in _REFUSED or status == 403:
                return SourceError(f"{at} refuses these credentials to {what} ({code or status})")
            if status >= 500:
                return SourceError(f"{at}: the store failed to {what} ({code or status})")
            return SourceError(f"{at}: cannot {what}: {code or status}")
        return SourceError(f"{at}: no answer to {what}: {e}")

    def _list(self, prefix: str, what: str) -> Iterator[dict[str, Any]]:
        try:
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                yield from page.get("Versions", [])
        except (ClientError, BotoCoreError) as e:
            raise self._failed(e, what) from None

    @cached_property
    def _versions(self) -> list[_Version]:
        """Every version of every object under the device's prefix (delete markers hide
        nothing: they are not versions)."""
        return sorted(
            _Version(str(v["Key"]), str(v.get("VersionId") or "null"), int(v.get("Size", 0)))
            for v in self._list(self.base, "list the object versions")
        )

    def entries(self, only: Kind | None = None) -> list[Entry]:
        wanted = self.base + (_DIR[only] if only else "")
        found = [
            v
            for v in self._versions
            if v.key.startswith(wanted) and v.key.endswith(".bcam") and not self._in_log(v.key)
        ]
        count: dict[str, int] = {}
        for v in found:
            count[v.key] = count.get(v.key, 0) + 1
        return [BucketEntry(self, v, count[v.key] > 1) for v in found]

    def _in_log(self, key: str) -> bool:
        return key.startswith(self.base + "log/")

    def named(self, key: str) -> tuple[Kind, int] | None:
        m = _SEQ.fullmatch(key.removeprefix(self.base))
        if m is None or not key.startswith(self.base):
            return None
        seq = int(m[2])
        return (_STREAM[m[1]], seq) if seq >= 1 and m[2] == f"{seq:08d}" else None

    def get(self, v: _Version) -> Any:
        """The GET's streaming body of one version; raises NotAFile or OSError."""
        extra = {"VersionId": v.version_id} if v.version_id != "null" else {}
        try:
            r = self.client.get_object(Bucket=self.bucket, Key=v.key, **extra)
        except ClientError as e:
            code, status = _code(e), _status(e)
            if code in ("NoSuchKey", "NoSuchVersion") or status == 404:
                raise NotAFile("no object under the key (removed meanwhile)") from None
            if code in _REFUSED or status == 403:
                raise OSError(errno.EACCES, f"refused by the store ({code or status})") from None
            raise OSError(errno.EIO, f"the store failed ({code or status})") from None
        except BotoCoreError as e:
            raise OSError(errno.EIO, f"no answer from the store: {e}") from None
        return r["Body"]

    def _small(self, v: _Version) -> bytes | None:
        if v.size > MAX_LOG_OBJECT:
            return None
        try:
            with _open_body(self.get(v)) as f:
                return f.read(MAX_LOG_OBJECT + 1)[:MAX_LOG_OBJECT]
        except OSError:
            return None

    def listings(self) -> list[tuple[str, Callable[[], bytes | None]]]:
        """Every version of ``log/leaves``, longest first."""
        versions = [v for v in self._versions if v.key == self.base + LEAVES]
        return [
            (_label(v, len(versions) > 1), functools.partial(self._small, v))
            for v in sorted(versions, key=lambda v: (-v.size, v.version_id))
        ]

    def checkpoints(self) -> list[tuple[str, bytes]]:
        out = []
        keys = [v.key for v in self._versions]
        for v in self._versions:
            if _CHECKPOINT.fullmatch(v.key.removeprefix(self.base)) and v.key.startswith(self.base):
                data = self._small(v)
                label = _label(v, keys.count(v.key) > 1)
                out.append((label, data if data is not None else b""))
        return out

    def nothing_here(self) -> str:
        """Which devices the bucket does hold evidence of, under the URL's prefix."""
        ids = self.device_ids()
        others = f"; it holds evidence of device key id(s) {', '.join(ids)}" if ids else ""
        return f"no evidence objects (*.bcam) under {self.where}{others}"

    def device_ids(self) -> list[str]:
        """The key ids that have evidence under the URL's prefix, by the keys' first part."""
        found: set[str] = set()
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.url.prefix, Delimiter="/"
            )
            for page in pages:
                for p in page.get("CommonPrefixes", []):
                    name = str(p["Prefix"]).removeprefix(self.url.prefix).rstrip("/")
                    if _KEY_ID.fullmatch(name):
                        found.add(name)
        except (ClientError, BotoCoreError) as e:
            raise self._failed(e, "list the device key ids") from None
        return sorted(found)


class BucketEntry(Entry):
    """One version of one object."""

    def __init__(self, source: BucketSource, version: _Version, versioned: bool) -> None:
        self._source = source
        self._version = version
        self.name = _label(version, versioned)
        self.named = source.named(version.key)

    def open(self) -> BinaryIO:
        return _open_body(self._source.get(self._version))

    def size(self) -> int:
        return self._version.size


def _label(v: _Version, versioned: bool) -> str:
    return f"{v.key}?versionId={v.version_id}" if versioned else v.key


class _Body(io.RawIOBase):
    """A GET's body as a raw stream: reads of at most CHUNK, and the store's failures as
    OSError (so a file that cannot be read is UNREADABLE, not a crash)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        try:
            data = self._body.read(min(len(view), CHUNK))
        except (BotoCoreError, HTTPError) as e:
            raise OSError(errno.EIO, f"the store stopped sending it: {e}") from None
        n = len(data)
        view[:n] = data
        return n

    def close(self) -> None:
        if not self.closed:
            self._body.close()  # the rest is not read: the connection is dropped
        super().close()


def _open_body(body: Any) -> BinaryIO:
    return io.BufferedReader(_Body(body), buffer_size=READ_BUFFER)


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def _status(e: ClientError) -> int:
    return int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
