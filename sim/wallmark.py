"""WallMark: the latest wall time a simulated device may have shown, kept in its state directory.

A camera's clock survives a reboot (an RTC, NTP). The simulator's starts afresh at every boot,
from the host's time or a scenario's pinned start, and runs faster than real time, so without a
mark a later boot could label its evidence earlier than an earlier boot did. The file::

    <state_dir>/sim-clock.json      {"wall": 1795900000.25}     (UTC epoch seconds, > 0)

is replaced atomically (a temporary file, fsync, rename, fsync of the directory), so a crash
leaves the old value or the new one, never a torn one. It is not evidence; deleting it only
lets the next boot start from the host's time again. A file that is not this shape is an error
(DeviceError naming the file, what it holds and what is allowed), never silently ignored.
"""

from __future__ import annotations

import json
import math
import os
import threading
from pathlib import Path

from hal.errors import DeviceError

__all__ = ["FILE_NAME", "WallMark"]

FILE_NAME = "sim-clock.json"


class WallMark:
    """Reads the mark once (:attr:`floor`, None if there is none yet) and saves new ones."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.floor = self._load()
        self.saved = self.floor

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> WallMark:
        return cls(Path(state_dir) / FILE_NAME)

    def _load(self) -> float | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise DeviceError(
                f"{self.path}: cannot read the simulated clock's mark: {exc}"
            ) from exc
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            data = None
        wall = data.get("wall") if isinstance(data, dict) and set(data) == {"wall"} else None
        if (
            isinstance(wall, bool)
            or not isinstance(wall, int | float)
            or not math.isfinite(wall)
            or wall <= 0
        ):
            shown = raw[:80].decode("utf-8", "replace")
            raise DeviceError(
                f"{self.path}: not a simulated clock mark: got {shown!r}; allowed: "
                '{"wall": <UTC epoch seconds > 0>} (delete the file to start from the host\'s time)'
            )
        return float(wall)

    def save(self, wall: float) -> None:
        """Make ``wall`` the mark, durably; DeviceError if it cannot be written."""
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        data = json.dumps({"wall": wall}).encode() + b"\n"
        with self._lock:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
                dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            except OSError as exc:
                raise DeviceError(
                    f"{self.path}: cannot save the simulated clock's mark: {exc}"
                ) from exc
            self.saved = wall
