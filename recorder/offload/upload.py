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
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recorder.evidence.state import write_json_atomic
from recorder.offload.digest import Digest, digest_of_bytes, digest_of_file
from recorder.offload.errors import Conflict, ObjectError
from recorder.offload.pace import Pace, PacedBody
from recorder.offload.plan import Item
from recorder.offload.store import Remote, Store

__all__ = ["STATE", "Sent", "UploadState", "Uploader"]

STATE = "offload.json"
WORKERS = 4
"""Parts of one file in flight at once (each holds one part in memory)."""
log = logging.getLogger("bodycam.offload")


class UploadState:
    """The multipart uploads in progress, by key: kept in ``offload.json``, atomically. An
    entry is made before the upload is created (its intent, with no id) and again once the
    store has given the id, before any part is sent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # several files are sent at once
        self.uploads: dict[str, dict[str, Any]] = {}
        try:
            data = json.loads(path.read_text())
            uploads = data["uploads"]
            for key, u in uploads.items():
                upload_id = u["upload_id"]
                self.uploads[str(key)] = {
                    "upload_id": None if upload_id is None else str(upload_id),
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

    def begin(
        self, key: str, upload_id: str | None, size: int, sha256: str, part_size: int
    ) -> None:
        with self._lock:
            self.uploads[key] = {
                "upload_id": upload_id,
                "size": size,
                "sha256": sha256,
                "part_size": part_size,
            }
            self._save()

    def forget(self, key: str) -> None:
        with self._lock:
            if self.uploads.pop(key, None) is not None:
                self._save()


@dataclass(frozen=True)
class Sent:
    item: Item
    outcome: str
    """``sent``, ``resumed`` (a cut upload finished), ``present`` (nothing sent) or
    ``locked`` (the bytes were there, their retention was set)."""
    remote: Remote


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

    def _length(self, item: Item, number: int) -> int:
        return min(self.part_size, item.size - (number - 1) * self.part_size)

    def _part(self, item: Item, number: int) -> bytes:
        """Part ``number`` (from 1) of the object's bytes (the whole of a one-part object)."""
        at, length = (number - 1) * self.part_size, self._length(item, number)
        if item.data is not None:
            return item.data[at : at + length]
        assert item.path is not None
        try:
            with item.path.open("rb") as f:
                f.seek(at)
                chunk = f.read(length)
        except OSError as e:
            raise ObjectError(f"{item.what}: {item.path}: cannot read: {e.strerror}") from None
        if len(chunk) != length:
            raise ObjectError(f"{item.what}: {item.path} is shorter than it was")
        return chunk

    def digest(self, item: Item) -> Digest:
        """The SHA-256 and the ETag of the object's bytes, in one read (an ObjectError if they
        cannot be read)."""
        if item.data is not None:
            return digest_of_bytes(item.data, self.part_size)
        assert item.path is not None
        try:
            return digest_of_file(item.path, item.size, self.part_size)
        except EOFError:
            raise ObjectError(f"{item.what}: {item.path} is shorter than it was") from None
        except OSError as e:
            raise ObjectError(f"{item.what}: {item.path}: cannot read: {e.strerror}") from None

    def send(self, item: Item, digest: Digest | None = None) -> Sent:
        """Send ``item`` unless the bucket holds it; ``digest`` if it was computed already."""
        digest = self.digest(item) if digest is None else digest
        sha256 = digest.sha256
        remote = self.store.head(item.key)
        if remote is not None:
            if (remote.size, remote.sha256, remote.etag) == (item.size, sha256, digest.etag):
                self.state.forget(item.key)  # a run cut after completing it
                self.pace.skip(item.size)
                if remote.retained(self.store.clock.now(), self.days):
                    return Sent(item, "present", remote)
                return Sent(item, "locked", self._confirm(item, digest))  # _confirm locks it
            if not (item.grows and remote.size < item.size):
                raise Conflict(
                    f"{item.what}: the bucket holds other bytes under {item.key} "
                    f"({remote.size} bytes, sha256 {remote.sha256 or 'not recorded'}, ETag "
                    f"{remote.etag or 'none'}; here {item.size} bytes, sha256 {sha256}, ETag "
                    f"{digest.etag}); nothing was sent"
                )
        if item.size <= self.part_size:
            whole = self._part(item, 1)
            md5 = hashlib.md5(whole, usedforsecurity=False).digest()
            body = PacedBody(whole, self.pace)
            self.store.put(item.key, body, _md5_b64(md5), sha256, self._until())
            outcome = "sent"
        else:
            outcome = self._multipart(item, sha256)
        return Sent(item, outcome, self._confirm(item, digest))

    def _multipart(self, item: Item, sha256: str) -> str:
        upload_id, held = self._resume(item, sha256)
        outcome = "resumed" if held else "sent"
        if upload_id is None:
            if item.key in self.state.uploads:  # a run cut between its intent and the id
                for stray in self.store.unfinished(item.key):
                    self.store.abort(item.key, stray)
            self.state.begin(item.key, None, item.size, sha256, self.part_size)
            upload_id = self.store.create_upload(item.key, sha256, self._until())
            self.state.begin(item.key, upload_id, item.size, sha256, self.part_size)

        def part(number: int) -> str:
            """Send part ``number`` unless the store holds it already; its MD5 in hex."""
            chunk = self._part(item, number)
            md5 = hashlib.md5(chunk, usedforsecurity=False).digest()
            if held.get(number) == (md5.hex(), len(chunk)):
                self.pace.skip(len(chunk))
            else:
                body = PacedBody(chunk, self.pace)
                self.store.upload_part(item.key, upload_id, number, body, _md5_b64(md5))
            return md5.hex()

        # Parts go several at a time: the store writes one while the next is on the wire, and
        # each part's MD5 is computed on its own thread.
        count = -(-item.size // self.part_size)
        with ThreadPoolExecutor(max_workers=min(WORKERS, count)) as pool:
            futures = [pool.submit(part, n) for n in range(1, count + 1)]
            try:
                etags = [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        if not self.store.complete(item.key, upload_id, etags):
            outcome = "resumed"  # the cut run completed it; HEAD confirms
        self.state.forget(item.key)
        return outcome

    def _resume(self, item: Item, sha256: str) -> tuple[str | None, dict[int, tuple[str, int]]]:
        """The upload a cut run left, and the parts the store holds of it. The intent of an
        upload whose id was never noted stays, so that the store's unfinished uploads of the
        key are discarded before a new one begins."""
        u = self.state.uploads.get(item.key)
        if u is None or u["upload_id"] is None:
            return None, {}
        same = (u["size"], u["sha256"], u["part_size"]) == (item.size, sha256, self.part_size)
        held = self.store.parts(item.key, u["upload_id"]) if same else None
        if held is None:
            if not same:
                with suppress(ObjectError):
                    self.store.abort(item.key, u["upload_id"])
            self.state.forget(item.key)
            return None, {}
        log.info("%s: resuming, the store holds %d of its parts", item.what, len(held))
        return u["upload_id"], held

    def _confirm(self, item: Item, digest: Digest) -> Remote:
        """HEAD: this size, this SHA-256, this ETag (the store's own, of the bytes it holds),
        COMPLIANCE retention in force; set the retention once if the store dropped it (Ceph 16
        does, for multipart uploads)."""
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

    def _check(self, item: Item, digest: Digest, remote: Remote | None) -> Remote:
        if remote is None:
            raise ObjectError(f"{item.what}: sent, but HEAD does not find {item.key}")
        if (remote.size, remote.sha256, remote.etag) != (item.size, *digest):
            raise ObjectError(
                f"{item.what}: sent, but HEAD says {remote.size} bytes, sha256 "
                f"{remote.sha256}, ETag {remote.etag} (expected {item.size}, {digest.sha256}, "
                f"{digest.etag}): the bytes changed on the way, or are not these"
            )
        return remote
