"""The exception tree of offload (drawn in ``recorder.offload``)."""

from __future__ import annotations


class OffloadError(Exception):
    """Base of every error offload raises; its message names what was wrong, never a secret."""


class ConfigurationError(OffloadError):
    """The [offload] section does not say enough to offload (no bucket, no retention)."""


class CredentialsError(OffloadError):
    """No usable S3 credentials: the file is missing, too open or malformed, or none is set."""


class BucketError(OffloadError):
    """The bucket is missing, refuses these credentials, or has no Object Lock."""


class StoreUnavailable(OffloadError):
    """The store did not answer, or failed on its side after the retries."""


class ObjectError(OffloadError):
    """One object could not be sent or confirmed; the run carries on with the others."""


class Conflict(ObjectError):
    """The bucket holds other bytes under a key that names this camera's evidence."""


class Busy(OffloadError):
    """Another offload of this camera is running."""
