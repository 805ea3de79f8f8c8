"""The Storage contract (free space and a pre-write guard) and StatvfsStorage for real volumes."""

from __future__ import annotations

import errno
import os
from abc import ABC, abstractmethod
from pathlib import Path

__all__ = ["StatvfsStorage", "Storage"]


class Storage(ABC):
    """The evidence volume.

    The evidence writer calls :meth:`guard` before it appends ``nbytes``; guard raises
    ``OSError(errno.ENOSPC)`` when they do not fit, or the fault a backend injects (e.g.
    ``OSError(errno.EIO)``), so the writer handles one kind of failure. The write itself may
    still raise OSError: guard is a forecast, not a reservation.

    MUST override: :meth:`_free_bytes`, :meth:`_total_bytes`.
    MAY override: :meth:`_fault` (an error to raise instead of checking space),
    :meth:`_account` (note that ``nbytes`` passed the guard), :meth:`close`.
    """

    def free_bytes(self) -> int:
        return max(0, self._free_bytes())

    def total_bytes(self) -> int:
        return self._total_bytes()

    def guard(self, nbytes: int) -> None:
        """Raise OSError unless the volume can take ``nbytes`` more."""
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes}")
        fault = self._fault(nbytes)
        if fault is not None:
            raise fault
        free = self.free_bytes()
        if nbytes > free:
            raise OSError(
                errno.ENOSPC,
                f"{os.strerror(errno.ENOSPC)}: {nbytes} bytes do not fit in {free} free",
            )
        self._account(nbytes)

    def close(self) -> None:
        return None

    @abstractmethod
    def _free_bytes(self) -> int: ...

    @abstractmethod
    def _total_bytes(self) -> int: ...

    def _fault(self, nbytes: int) -> OSError | None:
        return None

    def _account(self, nbytes: int) -> None:
        return None


class StatvfsStorage(Storage):
    """A mounted volume measured with ``os.statvfs`` (space available to unprivileged users)."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)

    @property
    def path(self) -> Path:
        return self._path

    def _free_bytes(self) -> int:
        st = os.statvfs(self._path)
        return st.f_bavail * st.f_frsize

    def _total_bytes(self) -> int:
        st = os.statvfs(self._path)
        return st.f_blocks * st.f_frsize
