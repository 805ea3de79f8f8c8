"""One object: HEAD before PUT, multipart with resume after a cut, then HEAD again to confirm.

- **Idempotent.** HEAD first: an object of the same size and SHA-256 under COMPLIANCE retention
  is already done, and nothing is sent; the same bytes without retention in force are locked
  (PutObjectRetention), not sent again. So a rerun creates no second version of anything.
- **Resumable.** A file larger than the part size goes in parts. The upload id is made durable
  in ``offload.json`` in the state directory before the first part is sent; after a cut, the
  next run asks the store which parts it holds (ListParts), keeps each whose ETag is the MD5 of
  the camera's own bytes for that part, sends the rest and completes. An upload the store no
  longer knows (completed by the run that was cut, or aborted) is checked by HEAD.
- **Confirmed.** An object is done when HEAD says: this size, this SHA-256, COMPLIANCE retention
  in force. That is the only success there is.
- A key that holds other bytes is a :class:`Conflict`: nothing is written over evidence. The one
  key that grows is the listing: a longer listing is sent as a new version.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recorder.evidence.state import write_json_atomic
from recorder.offload.errors import Conflict, ObjectError
from recorder.offload.pace import Pace, PacedBody
from recorder.offload.plan import Item
from recorder.offload.store import Remote, Store

__all__ = ["STATE", "Sent", "UploadState", "Uploader"]

STATE = "offload.json"
log = logging.getLogger("bodycam.offload")


class UploadState:
    """The multipart uploads in progress, by key: kept in ``offload.json``, atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.uploads: dict[str, dict[str, Any]] = {}
        try:
            data = json.loads(path.read_text())
            uploads = data["uploads"]
            for key, u in uploads.items():
                self.uploads[str(key)] = {
                    "upload_id": str(u["upload_id"]),
                    "size": int(u["size"]),
                    "sha256": str(u["sha256"]),
                    "part_size": int(u["part_size"]),
                }
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            # Only a resume is lost: the store's unfinished uploads of a key are found again.
            log.warning("%s: unreadable, starting afresh: %r", path, e)
            self.uploads = {}

    def _save(self) -> None:
        write_json_atomic(self.path, {"uploads": self.uploads})

    def begin(self, key: str, upload_id: str, size: int, sha256: str, part_size: int) -> None:
        self.uploads[key] = {
            "upload_id": upload_id,
            "size": size,
            "sha256": sha256,
            "part_size": part_size,
        }
        self._save()

    def forget(self, key: str) -> None:
        if self.uploads.pop(key, None) is not None:
            self._save()


@dataclass(frozen=True)
class Sent:
    item: Item
    outcome: str
    """``sent``, ``resumed`` (a cut upload finished), ``present`` (nothing sent) or
    ``locked`` (the bytes were there, their retention was set)."""
    remote: Remote


@dataclass(frozen=True)
class _Digest:
    sha256: str
    md5s: list[bytes]
    """The MD5 of each part (one part when the object goes in one PUT)."""


def _md5_b64(md5: bytes) -> str:
    return base64.b64encode(md5).decode()


class Uploader:
    def __init__(
        self, store: Store, state: UploadState, pace: Pace, *, days: int, part_size: int
    ) -> None:
        self.store = store
        self.state = state
        self.pace = pace
        self.days = days
        self.part_size = part_size

    def _until(self) -> dt.datetime:
        return self.store.clock.now() + dt.timedelta(days=self.days)

    def _chunks(self, item: Item) -> Iterator[bytes]:
        """The object's bytes, one part at a time (``item.size`` of them, no more)."""
        if item.data is not None:
            for at in range(0, max(len(item.data), 1), self.part_size):
                yield item.data[at : at + self.part_size]
            return
        assert item.path is not None
        try:
            with item.path.open("rb") as f:
                left = item.size
                while True:
                    chunk = f.read(min(self.part_size, left))
                    if len(chunk) < min(self.part_size, left):
                        raise ObjectError(f"{item.what}: {item.path} is shorter than it was")
                    yield chunk
                    left -= len(chunk)
                    if left == 0:
                        return
        except OSError as e:
            raise ObjectError(f"{item.what}: {item.path}: cannot read: {e.strerror}") from None

    def _digest(self, item: Item) -> tuple[_Digest, bytes | None]:
        """SHA-256 of the whole and MD5 of each part; the bytes too when they are one part."""
        sha, md5s, whole = hashlib.sha256(), [], None
        for chunk in self._chunks(item):
            sha.update(chunk)
            md5s.append(hashlib.md5(chunk, usedforsecurity=False).digest())
            whole = chunk
        return _Digest(sha.hexdigest(), md5s), whole if len(md5s) == 1 else None

    def send(self, item: Item) -> Sent:
        digest, whole = self._digest(item)
        remote = self.store.head(item.key)
        if remote is not None:
            if remote.size == item.size and remote.sha256 == digest.sha256:
                self.state.forget(item.key)  # a run cut after completing it
                self.pace.skip(item.size)
                if remote.retained(self.store.clock.now(), self.days):
                    return Sent(item, "present", remote)
                return Sent(item, "locked", self._confirm(item, digest))  # _confirm locks it
            if not (item.grows and remote.size < item.size):
                raise Conflict(
                    f"{item.what}: the bucket holds other bytes under {item.key} "
                    f"({remote.size} bytes, sha256 {remote.sha256 or 'not recorded'}; here "
                    f"{item.size} bytes, sha256 {digest.sha256}); nothing was sent"
                )
        if whole is not None:
            self.store.put(
                item.key,
                PacedBody(whole, self.pace),
                _md5_b64(digest.md5s[0]),
                digest.sha256,
                self._until(),
            )
            outcome = "sent"
        else:
            outcome = self._multipart(item, digest)
        return Sent(item, outcome, self._confirm(item, digest))

    def _multipart(self, item: Item, digest: _Digest) -> str:
        upload_id, held = self._resume(item, digest)
        outcome = "resumed" if held else "sent"
        if upload_id is None:
            for stray in self.store.unfinished(item.key):
                self.store.abort(item.key, stray)  # begun by a run cut before it noted the id
            upload_id = self.store.create_upload(item.key, digest.sha256, self._until())
            self.state.begin(item.key, upload_id, item.size, digest.sha256, self.part_size)
        for number, chunk in enumerate(self._chunks(item), start=1):
            md5 = digest.md5s[number - 1]
            if held.get(number) == (md5.hex(), len(chunk)):
                self.pace.skip(len(chunk))
                continue
            body = PacedBody(chunk, self.pace)
            self.store.upload_part(item.key, upload_id, number, body, _md5_b64(md5))
        if not self.store.complete(item.key, upload_id, [m.hex() for m in digest.md5s]):
            outcome = "resumed"  # the cut run completed it; HEAD confirms
        self.state.forget(item.key)
        log.debug("%s: multipart upload %s complete", item.what, outcome)
        return outcome

    def _resume(self, item: Item, digest: _Digest) -> tuple[str | None, dict[int, tuple[str, int]]]:
        """The upload a cut run left, and the parts the store holds of it."""
        u = self.state.uploads.get(item.key)
        if u is None:
            return None, {}
        same = (u["size"], u["sha256"], u["part_size"]) == (
            item.size,
            digest.sha256,
            self.part_size,
        )
        held = self.store.parts(item.key, u["upload_id"]) if same else None
        if held is None:
            if not same:
                with suppress(ObjectError):
                    self.store.abort(item.key, u["upload_id"])
            self.state.forget(item.key)
            return None, {}
        log.info("%s: resuming, the store holds %d of its parts", item.what, len(held))
        return u["upload_id"], held

    def _confirm(self, item: Item, digest: _Digest) -> Remote:
        """HEAD: this size, this SHA-256, COMPLIANCE retention in force; set the retention
        once if the store dropped it (Ceph 16 does, for multipart uploads)."""
        remote = self._check(item, digest, self.store.head(item.key))
        if not remote.retained(self.store.clock.now(), self.days):
            self.store.retain(item.key, remote.version_id, self._until())
            remote = self._check(item, digest, self.store.head(item.key))
            if not remote.retained(self.store.clock.now(), self.days):
                raise ObjectError(
                    f"{item.what}: the store does not keep it under COMPLIANCE retention "
                    f"(mode {remote.mode}, until {remote.retain_until})"
                )
        return remote

    def _check(self, item: Item, digest: _Digest, remote: Remote | None) -> Remote:
        if remote is None:
            raise ObjectError(f"{item.what}: sent, but HEAD does not find {item.key}")
        if remote.size != item.size or remote.sha256 != digest.sha256:
            raise ObjectError(
                f"{item.what}: sent, but HEAD says {remote.size} bytes, sha256 "
                f"{remote.sha256} (expected {item.size}, {digest.sha256})"
            )
        return remote
