"""The exceptions every part of ``hal`` raises (the tree is drawn in ``hal/__init__.py``)."""

from __future__ import annotations

__all__ = ["BackendError", "DeviceError", "HalError"]


class HalError(Exception):
    """Base of every error raised by the hardware-abstraction layer."""


class BackendError(HalError):
    """A backend is unknown, cannot be imported, or cannot do what was asked of it."""


class DeviceError(HalError):
    """A device cannot be opened or used (missing, misconfigured, insecure, closed)."""
