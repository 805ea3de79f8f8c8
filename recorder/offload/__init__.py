"""Offload (issue 9, section 4): the camera's finished evidence, the listing of its log and its
cosigned checkpoints, sent to S3-compatible storage under COMPLIANCE Object Lock
(docs/offload.md). Firmware: it runs on the camera, on the dock, and imports the evidence
library only, never the agency side.

- ``credentials``: the S3 keys, from a file (mode 0600) or the environment; never logged;
- ``plan``: what to send and under which keys, from the camera's log;
- ``store``: the bucket through boto3: Object Lock checked, HEAD, PUT and parts with
  Content-MD5, COMPLIANCE retention, the server's clock;
- ``pace``: the bandwidth cap, and the byte count the progress bar shows;
- ``upload``: one object: HEAD before PUT, multipart resumed after a cut, confirmed by HEAD;
- ``offload``: a whole run.

Exceptions::

    OffloadError
     ├── ConfigurationError   [offload] does not say enough, or the camera's state is unusable
     ├── CredentialsError     no usable credentials (file missing, too open, malformed; none set)
     ├── BucketError          the bucket is missing, refuses the credentials, or has no Object Lock
     ├── StoreUnavailable     the store did not answer, or failed on its side after retries
     ├── Busy                 another offload of this camera is running
     └── ObjectError          one object could not be sent or confirmed (the run goes on)
          └── Conflict        the bucket holds other bytes under a key of this camera's evidence
"""

from recorder.offload.errors import (
    BucketError,
    Busy,
    ConfigurationError,
    Conflict,
    CredentialsError,
    ObjectError,
    OffloadError,
    StoreUnavailable,
)

__all__ = [
    "BucketError",
    "Busy",
    "ConfigurationError",
    "Conflict",
    "CredentialsError",
    "ObjectError",
    "OffloadError",
    "StoreUnavailable",
]
