"""The exception tree of the evidence package (drawn in ``recorder.evidence``)."""


class EvidenceError(Exception):
    """Base of every error raised by the evidence package."""


class FormatError(EvidenceError):
    """The bytes do not follow docs/evidence-format.md."""


class KeyFileError(EvidenceError):
    """A key file is missing, unreadable, of the wrong kind, or readable by others."""


class DecryptError(EvidenceError):
    """A file key or a record could not be decrypted."""


class NoRecipientError(DecryptError):
    """No recipient stanza of the file matches the agency key that was given."""


class StateError(EvidenceError):
    """The device's stream state is unreadable or inconsistent with the evidence directory."""
