"""The bucket, through boto3: Object Lock checked, HEAD, PUT and multipart with Content-MD5, and
COMPLIANCE retention.

Every PUT and every part carries Content-MD5, which the server checks before it stores a byte
(Ceph 16 ignores ``x-amz-checksum-sha256``); the SHA-256 of the whole object is recorded as its
metadata (``x-amz-meta-sha256``), which HEAD returns. Payload signing is off: SigV4 signs the
Content-MD5 header, so the body is still bound to the signature, without a second hash of it.

Retention is set on every PUT and on every multipart upload's creation, and once more with
PutObjectRetention after a multipart upload completes: Ceph 16 drops the lock headers of
CreateMultipartUpload, and a run cut between completion and retention is repaired by the next
run the same way. Times are the server's (the ``Date`` of its answers), not the camera's, whose
clock may be wrong.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from recorder.offload.credentials import Credentials
from recorder.offload.errors import BucketError, ObjectError, OffloadError, StoreUnavailable

__all__ = ["COMPLIANCE", "Remote", "ServerClock", "Store", "make_client"]

COMPLIANCE = "COMPLIANCE"
SHA256 = "sha256"
"""The metadata key of the object's SHA-256, in hex (``x-amz-meta-sha256``)."""


def make_client(endpoint: str, region: str, credentials: Credentials) -> Any:
    """An S3 client for ``endpoint`` ("" for AWS) that uses exactly these credentials."""
    config = BotoConfig(
        region_name=region,
        # A custom endpoint (Ceph, MinIO) is addressed by path: its host name is not a
        # wildcard DNS name. AWS chooses for itself.
        s3={"addressing_style": "path" if endpoint else "auto", "payload_signing_enabled": False},
        retries={"mode": "standard", "max_attempts": 5},
        # Content-MD5 is the integrity check every S3 verifies; no CRC trailers (Ceph 16).
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=10,
        read_timeout=120,
    )
    session = boto3.session.Session(
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.session_token,
    )
    return session.client("s3", endpoint_url=endpoint or None, config=config)


@dataclass(frozen=True)
class Remote:
    """What HEAD says of an object."""

    size: int
    sha256: str | None
    etag: str
    """The store's ETag, without its quotes: computed by the store from the bytes it holds."""
    mode: str | None
    retain_until: dt.datetime | None
    last_modified: dt.datetime
    version_id: str | None

    def retained(self, now: dt.datetime, days: int) -> bool:
        """Under COMPLIANCE retention now, for about ``days`` after it was stored (a day's
        slack covers the time a slow upload takes between its start and its end)."""
        if self.mode != COMPLIANCE or self.retain_until is None:
            return False
        wanted = self.last_modified + dt.timedelta(days=days - 1)
        return self.retain_until > now and self.retain_until >= wanted


class ServerClock:
    """The server's time: the ``Date`` of its last answer, moved on by the monotonic clock."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._at: tuple[dt.datetime, float] | None = None

    def saw(self, headers: Mapping[str, str]) -> None:
        date = headers.get("date")
        if date:
            try:
                when = email.utils.parsedate_to_datetime(date)
            except (TypeError, ValueError):
                return
            if when.tzinfo is not None:
                self._at = (when, self._monotonic())

    def now(self) -> dt.datetime:
        if self._at is None:
            return dt.datetime.now(dt.UTC)
        when, mono = self._at
        return when + dt.timedelta(seconds=self._monotonic() - mono)


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def _status(e: ClientError) -> int:
    return int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


class Store:
    """One bucket of one S3 store."""

    def __init__(self, client: Any, bucket: str, endpoint: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.where = f"bucket {bucket!r}" + (f" at {endpoint}" if endpoint else "")
        self.clock = ServerClock()

    def _mapped(self, e: Exception, what: str) -> OffloadError:
        """boto3's failure as ours: the store not answering or failing on its side (after the
        retries) is StoreUnavailable, a refusal of one object is ObjectError."""
        if isinstance(e, ClientError):
            status = _status(e)
            if status >= 500 or _code(e) in ("SlowDown", "ServiceUnavailable"):
                return StoreUnavailable(f"{self.where}: {what}: the store failed ({status})")
            return ObjectError(f"{what}: refused by the store: {_code(e) or status}")
        return StoreUnavailable(f"{self.where}: {what}: no answer: {e}")

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        try:
            yield
        except (ClientError, BotoCoreError) as e:
            raise self._mapped(e, what) from None

    def _saw(self, response: Mapping[str, Any]) -> None:
        self.clock.saw(response.get("ResponseMetadata", {}).get("HTTPHeaders", {}))

    def check_bucket(self) -> None:
        """Refuse a bucket that is missing, that refuses us, or that has no Object Lock."""
        try:
            r = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as e:
            code, status = _code(e), _status(e)
            if code == "ObjectLockConfigurationNotFoundError":
                raise BucketError(
                    f"{self.where} has no Object Lock: evidence is sent only to a bucket made "
                    "with Object Lock enabled (it cannot be turned on later on every store); "
                    "make one with --object-lock-enabled-for-bucket"
                ) from None
            if code == "NoSuchBucket" or status == 404:
                raise BucketError(f"{self.where} does not exist") from None
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise BucketError(f"{self.where} refuses these credentials ({code})") from None
            if status >= 500:
                raise StoreUnavailable(f"{self.where}: the store failed ({status})") from None
            raise BucketError(f"{self.where}: {code or status}") from None
        except BotoCoreError as e:
            raise StoreUnavailable(f"{self.where}: no answer: {e}") from None
        self._saw(r)
        if r.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise BucketError(f"{self.where} has no Object Lock enabled")

    def head(self, key: str) -> Remote | None:
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if _status(e) == 404 or _code(e) in ("404", "NoSuchKey"):
                return None
            raise self._mapped(e, f"HEAD {key}") from None
        except BotoCoreError as e:
            raise self._mapped(e, f"HEAD {key}") from None
        self._saw(r)
        return Remote(
            size=int(r["ContentLength"]),
            sha256=r.get("Metadata", {}).get(SHA256),
            etag=str(r.get("ETag", "")).strip('"'),
            mode=r.get("ObjectLockMode"),
            retain_until=r.get("ObjectLockRetainUntilDate"),
            last_modified=r["LastModified"],
            version_id=r.get("VersionId"),
        )

    def _lock(self, until: dt.datetime) -> dict[str, Any]:
        return {"ObjectLockMode": COMPLIANCE, "ObjectLockRetainUntilDate": until}

    def put(
        self, key: str, body: io.RawIOBase, md5_b64: str, sha256: str, until: dt.datetime
    ) -> None:
        with self._calling(f"PUT {key}"):
            r = self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentMD5=md5_b64,
                Metadata={SHA256: sha256},
                **self._lock(until),
            )
        self._saw(r)

    def create_upload(self, key: str, sha256: str, until: dt.datetime) -> str:
        with self._calling(f"create multipart upload of {key}"):
            r = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, Metadata={SHA256: sha256}, **self._lock(until)
            )
        return str(r["UploadId"])

    def parts(self, key: str, upload_id: str) -> dict[int, tuple[str, int]] | None:
        """The parts an unfinished upload holds (number: ETag, size), or None if the upload
        is no longer there (completed or aborted)."""
        out: dict[int, tuple[str, int]] = {}
        marker = 0
        while True:
            try:
                r = self.client.list_parts(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                )
            except ClientError as e:
                if _code(e) == "NoSuchUpload" or _status(e) == 404:
                    return None
                raise self._mapped(e, f"list the parts of {key}") from None
            except BotoCoreError as e:
                raise self._mapped(e, f"list the parts of {key}") from None
            for p in r.get("Parts", []):
                out[int(p["PartNumber"])] = (str(p["ETag"]).strip('"'), int(p["Size"]))
            if not r.get("IsTruncated"):
                return out
            marker = int(r["NextPartNumberMarker"])

    def unfinished(self, key: str) -> list[str]:
        """The upload ids of unfinished multipart uploads of exactly ``key``."""
        with self._calling(f"list the unfinished uploads of {key}"):
            r = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        return [str(u["UploadId"]) for u in r.get("Uploads", []) if u.get("Key") == key]

    def abort(self, key: str, upload_id: str) -> None:
        """Discard an unfinished upload's parts (never an object: there is none yet)."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as e:
            if _code(e) != "NoSuchUpload":
                raise self._mapped(e, f"abort an unfinished upload of {key}") from None
        except BotoCoreError as e:
            raise self._mapped(e, f"abort an unfinished upload of {key}") from None

    def upload_part(
        self, key: str, upload_id: str, number: int, body: io.RawIOBase, md5_b64: str
    ) -> None:
        with self._calling(f"part {number} of {key}"):
            self.client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
                ContentMD5=md5_b64,
            )

    def complete(self, key: str, upload_id: str, etags: list[str]) -> bool:
        """Complete an upload from its parts' ETags (their MD5s in hex, which the camera
        computed itself: Ceph may answer a multipart ETag empty). False if the upload is gone
        (a run cut after completing it)."""
        parts = [{"PartNumber": n, "ETag": f'"{e}"'} for n, e in enumerate(etags, start=1)]
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except ClientError as e:
            if _code(e) == "NoSuchUpload":
                return False
            raise self._mapped(e, f"complete the upload of {key}") from None
        except BotoCoreError as e:
            raise self._mapped(e, f"complete the upload of {key}") from None
        return True

    def retain(self, key: str, version_id: str | None, until: dt.datetime) -> None:
        """Put the version under COMPLIANCE retention until ``until`` (only ever lengthened)."""
        extra = {"VersionId": version_id} if version_id else {}
        with self._calling(f"set the retention of {key}"):
            self.client.put_object_retention(
                Bucket=self.bucket,
                Key=key,
                Retention={"Mode": COMPLIANCE, "RetainUntilDate": until},
                **extra,
            )
