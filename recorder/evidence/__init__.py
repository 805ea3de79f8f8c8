"""The bodycam evidence format, version 1: one module per section of docs/evidence-format.md.

- ``header``: section 4, the signed file header and its links.
- ``stream``: section 5, payload key and STREAM nonces.
- ``recipients``: section 6, HPKE-wrapped file keys.
- ``records``: section 7, record framing, chain and the bytes each signature covers.
- ``chain``: sections 8 and 11, completeness across the files of a stream.
- ``media``: section 9, frames inside a record.
- ``audit``: section 10, audit events.
- ``writer`` and ``state``: the device side (write a file; keep sequence numbers across crashes).
- ``reader``: section 11, checking and decrypting one file.
- ``keys``: key files and fingerprints; ``keycheck``: section 2.1, which public keys are refused.
- ``witness_client``: the camera's side of the agency's witness (docs/witness.md).

Exceptions::

    EvidenceError
     ├── FormatError        the bytes do not follow the format (MALFORMED)
     ├── KeyFileError       a key file is missing, unreadable, of the wrong kind or too open
     ├── DecryptError       a file key or record could not be decrypted
     │    └── NoRecipientError   no stanza matches the agency key given
     ├── StateError         the device's stream state is unreadable or inconsistent
     └── WitnessError       a witness did not cosign (``witness_client`` draws its subtree)
"""

from recorder.evidence.errors import (
    DecryptError,
    EvidenceError,
    FormatError,
    KeyFileError,
    NoRecipientError,
    StateError,
)

__all__ = [
    "DecryptError",
    "EvidenceError",
    "FormatError",
    "KeyFileError",
    "NoRecipientError",
    "StateError",
]
