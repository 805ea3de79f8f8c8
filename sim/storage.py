"""SimStorage: an evidence volume of a set capacity, with space bookkeeping and injected faults.

Used space = the evidence directory's size when the storage was made (one scan) + every byte
that passed :meth:`guard` since + any :meth:`fill_to` filler. Not simulated: filesystem block
rounding and metadata, writes that bypass ``guard()``, faults raised by the writes themselves,
slow or lost fsync.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from hal.storage import Storage
from sim.clock import SimClock

__all__ = ["DEFAULT_CAPACITY", "SimStorage"]

DEFAULT_CAPACITY = 32 * 1024**3  # a 32 GiB card when the settings give no capacity

_FAULTS = {"ENOSPC": errno.ENOSPC, "EIO": errno.EIO}


class SimStorage(Storage):
    """A volume holding ``path`` with ``capacity_bytes`` of room; ``history`` lists the verbs."""

    def __init__(self, path: Path, capacity_bytes: int, *, clock: SimClock) -> None:
        if capacity_bytes <= 0:
            raise ValueError(f"capacity must be positive, got {capacity_bytes}")
        self._path = Path(path)
        self._capacity = capacity_bytes
        self._clock = clock
        self._scanned = _tree_size(self._path)
        self._guarded = 0
        self._filler = 0
        self._fault_errno: int | None = None
        self._fault_at = 0.0
        self.history: list[tuple[float, str, object]] = []

    @property
    def path(self) -> Path:
        return self._path

    @property
    def used_bytes(self) -> int:
        return self._scanned + self._guarded + self._filler

    # -- test verbs ---------------------------------------------------------------------------

    def fill_to(self, fraction: float) -> None:
        """Fill the volume (with other data) until ``fraction`` of it is used."""
        if not 0 <= fraction <= 1:
            raise ValueError(f"fill fraction must be within 0..1, got {fraction}")
        self._filler = 0
        self._filler = max(0, int(fraction * self._capacity) - self.used_bytes)
        self._log("fill_to", fraction)

    def inject(self, errno_name: str, at: float | None = None) -> None:
        """Make :meth:`guard` raise ``OSError(errno_name)`` from virtual time ``at`` (now) on."""
        if errno_name not in _FAULTS:
            raise ValueError(f"unknown fault {errno_name!r}; known: {', '.join(_FAULTS)}")
        self._fault_errno = _FAULTS[errno_name]
        self._fault_at = self._clock.monotonic() if at is None else at
        self._log("inject", (errno_name, self._fault_at))

    def clear_faults(self) -> None:
        """Remove any injected fault."""
        self._fault_errno = None
        self._log("clear_faults", None)

    def rescan(self) -> None:
        """Re-measure the evidence directory, forgetting guarded bytes (after files were moved)."""
        self._scanned, self._guarded = _tree_size(self._path), 0
        self._log("rescan", self._scanned)

    # -- Storage hooks ------------------------------------------------------------------------

    def _free_bytes(self) -> int:
        return self._capacity - self.used_bytes

    def _total_bytes(self) -> int:
        return self._capacity

    def _fault(self, nbytes: int) -> OSError | None:
        code = self._fault_errno
        if code is None or self._clock.monotonic() < self._fault_at:
            return None
        return OSError(code, f"{os.strerror(code)} (injected by the simulator)", str(self._path))

    def _account(self, nbytes: int) -> None:
        self._guarded += nbytes

    def _log(self, what: str, value: object) -> None:
        self.history.append((self._clock.monotonic(), what, value))


def _tree_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # removed while we walked
                total += os.lstat(os.path.join(root, name)).st_size
    return total
